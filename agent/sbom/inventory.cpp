#include "agent/sbom/inventory.h"

#include <algorithm>

#include "agent/sbom/apk.h"
#include "agent/sbom/dpkg.h"
#include "agent/sbom/os_release.h"
#include "agent/sbom/rpm.h"

namespace vigil::sbom {
namespace {

bool FileExists(Env& env, const std::string& path) {
  if (path.empty()) return false;
  Result<FileInfo> info = env.Stat(path);
  return info.ok() && !info->is_dir;
}

Result<std::string> ReadDatabaseText(Env& env, const std::string& path) {
  Result<FileInfo> info = env.Stat(path);
  if (!info.ok()) return info.status();
  if (info->size > kMaxDatabaseBytes)
    return Status::InvalidArgument(path + ": " + std::to_string(info->size) + " bytes, more than the " +
                                   std::to_string(kMaxDatabaseBytes) + " read");
  // One byte more than allowed, so that a file that grew since Stat is seen as too large.
  Result<std::string> text = env.ReadFile(path, kMaxDatabaseBytes + 1);
  if (text.ok() && text->size() > kMaxDatabaseBytes)
    return Status::InvalidArgument(path + ": more than " + std::to_string(kMaxDatabaseBytes) + " bytes");
  return text;
}

void Take(ParsedPackages parsed, Inventory* inv) {
  for (Package& p : parsed.packages) inv->packages.push_back(std::move(p));
  for (ParseIssue& i : parsed.issues) inv->issues.push_back(std::move(i));
}

}  // namespace

InventoryPaths PathsUnderRoot(std::string_view root) {
  std::string r(root);
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  InventoryPaths p;
  if (r == "/" || r.empty()) return p;
  for (std::string* s : {&p.dpkg_status, &p.opkg_status, &p.apk_installed, &p.rpmdb, &p.os_release}) *s = r + *s;
  p.modules_dir = r + "/lib/modules";
  return p;
}

Result<Inventory> ReadInventory(Env& env, const InventoryPaths& paths, const RpmdbReader& rpmdb_reader) {
  Inventory inv;
  std::string looked;
  for (const std::string& db : paths.Databases()) {
    if (db.empty()) continue;
    looked += (looked.empty() ? "" : ", ") + db;
    // Absent: not this kind of system. There but not readable: the read fails.
    Result<FileInfo> info = env.Stat(db);
    if (!info.ok() && info.status().code() == Status::Code::kNotFound) continue;
    if (!info.ok()) return info.status();
    if (info->is_dir) continue;
    if (db == paths.rpmdb) {
      auto blobs = rpmdb_reader ? rpmdb_reader(db) : ReadRpmdbSqlite(db);
      if (!blobs.ok()) return blobs.status();
      Take(ParseRpmHeaders(*blobs, db), &inv);
    } else {
      Result<std::string> text = ReadDatabaseText(env, db);
      if (!text.ok()) return text.status();
      if (db == paths.dpkg_status) Take(ParseDpkgStatus(*text, db), &inv);
      else if (db == paths.opkg_status) Take(ParseOpkgStatus(*text, db), &inv);
      else Take(ParseApkInstalled(*text, db), &inv);
    }
    inv.databases.push_back(db);
  }
  if (inv.databases.empty()) return Status::NotFound("no package database found (looked for " + looked + ")");
  SortPackages(&inv.packages);

  // The OS release: the file given, else usr/lib/os-release under the same root.
  std::string os_path = paths.os_release;
  if (!FileExists(env, os_path) && os_path.ends_with("/etc/os-release"))
    os_path = os_path.substr(0, os_path.size() - std::string_view("/etc/os-release").size()) + "/usr/lib/os-release";
  if (FileExists(env, os_path)) {
    Result<std::string> text = env.ReadFile(os_path, 64 << 10);
    if (text.ok()) {
      ParsedOsRelease os = ParseOsRelease(*text, os_path);
      inv.os = std::move(os.os);
      for (ParseIssue& i : os.issues) inv.issues.push_back(std::move(i));
    }
  }

  if (paths.modules_dir.empty()) {
    std::vector<std::string> uname = env.Uname();
    if (uname.size() > 1 && !uname[1].empty()) inv.kernels.push_back(uname[1]);
  } else if (auto names = env.ListDir(paths.modules_dir); names.ok()) {
    for (const std::string& n : *names) {
      Result<FileInfo> info = env.Stat(paths.modules_dir + "/" + n);
      if (info.ok() && info->is_dir) inv.kernels.push_back(n);
    }
    std::sort(inv.kernels.begin(), inv.kernels.end());
  }
  return inv;
}

}  // namespace vigil::sbom
