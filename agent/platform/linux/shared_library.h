// An optional shared library loaded at run time (dlopen) by the part of the agent that needs it:
// libmosquitto for the uplink, libsystemd for the journal, libnftables for the firewall,
// libsqlite3 for rpm databases. A device without one loses only that part, with an error that
// names the package to install, and a device that never uses the part never maps the library.
#pragma once

#include <dlfcn.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "agent/core/status.h"

namespace vigil {

class SharedLibrary {
 public:
  // Opens the first of `sonames` that loads (RTLD_NOW | RTLD_LOCAL). `install_hint` ends the
  // error when none does, e.g. "install the package libsqlite3-0".
  SharedLibrary(std::initializer_list<const char*> sonames, std::string_view install_hint);
  ~SharedLibrary();
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // Resolves `name` into `fn`, a pointer to a function of the library's header (declared with
  // decltype(&name)). A missing symbol leaves `fn` null and makes status() an error naming it.
  template <typename Fn>
  void Bind(Fn*& fn, const char* name) {
    void* sym = handle_ ? dlsym(handle_, name) : nullptr;
    fn = reinterpret_cast<Fn*>(sym);
    if (handle_ && !sym && error_.empty()) error_ = soname_ + " lacks " + name;
  }

  // Ok, or Unavailable: "<soname> cannot be loaded (<install_hint>): <dlerror>", or "<soname>
  // lacks <symbol>".
  Status status() const { return error_.empty() ? Status::Ok() : Status::Unavailable(error_); }

 private:
  void* handle_ = nullptr;
  std::string soname_;
  std::string error_;
};

// The functions of a library as a struct of pointers (`Api`), loaded and bound by `bind` on the
// first call and kept for the life of the process (never unloaded: a thread may still be in it
// while the process exits); later calls return the same. Thread-safe.
template <typename Api>
Result<const Api*> LoadForProcess(std::initializer_list<const char*> sonames, std::string_view install_hint,
                                  void (*bind)(SharedLibrary&, Api&)) {
  static SharedLibrary& lib = *new SharedLibrary(sonames, install_hint);
  static const Api api = [&] {
    Api a;
    bind(lib, a);
    return a;
  }();
  if (Status st = lib.status(); !st.ok()) return st;
  return &api;
}

}  // namespace vigil
