// Reading a machine's inventory: the package databases, the OS release and the kernel, over
// Env (the rpm database through SQLite, which needs a real file).
//
// Every database whose file exists is read (a machine normally has one; an image may carry
// several). A database that exists but cannot be read, or is larger than kMaxDatabaseBytes,
// fails the whole read, so that a caller never mistakes a failed read for packages removed.
// Malformed stanzas are issues in the result, never failures. Not thread-safe per call
// argument; no state of its own.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "agent/platform/env.h"
#include "agent/sbom/package.h"

namespace vigil::sbom {

inline constexpr size_t kMaxDatabaseBytes = 64 << 20;

struct InventoryPaths {
  std::string dpkg_status = "/var/lib/dpkg/status";
  std::string opkg_status = "/usr/lib/opkg/status";
  std::string apk_installed = "/lib/apk/db/installed";
  std::string rpmdb = "/var/lib/rpm/rpmdb.sqlite";
  std::string os_release = "/etc/os-release";  // when absent: usr/lib/os-release beside it
  // Where kernel releases come from: empty means the running kernel (uname); else the names
  // of the directories in this one (a root file system's lib/modules).
  std::string modules_dir;

  // The database files, in the order they are read (empty entries are not read).
  std::vector<std::string> Databases() const { return {dpkg_status, opkg_status, apk_installed, rpmdb}; }
};

// The default paths under `root` ("/" or an unpacked image; trailing slashes ignored). Under
// another root than "/", the kernels are those of root/lib/modules.
InventoryPaths PathsUnderRoot(std::string_view root);

// Reads the rpm database's header blobs (default ReadRpmdbSqlite); tests pass their own.
using RpmdbReader = std::function<Result<std::vector<std::vector<uint8_t>>>(const std::string& path)>;

// Errors: NotFound when none of the databases exists (the message lists where it looked);
// the read error of a database that exists but cannot be read.
Result<Inventory> ReadInventory(Env& env, const InventoryPaths& paths, const RpmdbReader& rpmdb_reader = nullptr);

}  // namespace vigil::sbom
