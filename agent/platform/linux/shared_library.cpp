#include "agent/platform/linux/shared_library.h"

namespace vigil {

SharedLibrary::SharedLibrary(std::initializer_list<const char*> sonames, std::string_view install_hint) {
  std::string why;
  for (const char* name : sonames) {
    soname_ = name;
    handle_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle_) return;
    const char* e = dlerror();
    if (why.empty()) why = e ? e : "unknown error";
  }
  if (sonames.size() > 0) soname_ = *sonames.begin();
  error_ = soname_ + " cannot be loaded (" + std::string(install_hint) + "): " + why;
}

SharedLibrary::~SharedLibrary() {
  if (handle_) dlclose(handle_);
}

}  // namespace vigil
