// The SQLite rpmdb reader (rpm.h). Kept apart from the header parser so that the parser stays
// OS-free and the fuzz target need not link SQLite.
#include <sqlite3.h>

#include <memory>

#include "agent/sbom/rpm.h"

namespace vigil::sbom {

Result<std::vector<std::vector<uint8_t>>> ReadRpmdbSqlite(const std::string& path) {
  sqlite3* raw = nullptr;
  // Read-only, and no journal or WAL files created: the database belongs to rpm (and may be
  // on a read-only image). A database in WAL mode whose -shm cannot be created is opened again
  // as immutable.
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, &sqlite3_close);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_CANTOPEN) return Status::NotFound(path + ": cannot open the rpm database");
    return Status::IoError(path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db.get(), 2000);
  auto run = [&](std::vector<std::vector<uint8_t>>* out) -> Status {
    sqlite3_stmt* stmt = nullptr;
    int prc = sqlite3_prepare_v2(db.get(), "SELECT blob FROM Packages ORDER BY hnum", -1, &stmt, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, &sqlite3_finalize);
    if (prc != SQLITE_OK) return Status::Corruption(path + ": " + sqlite3_errmsg(db.get()));
    while ((prc = sqlite3_step(stmt)) == SQLITE_ROW) {
      const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 0));
      const int n = sqlite3_column_bytes(stmt, 0);
      out->emplace_back(bytes, bytes + (bytes ? n : 0));
    }
    if (prc != SQLITE_DONE) return Status::IoError(path + ": " + sqlite3_errmsg(db.get()));
    return Status::Ok();
  };
  std::vector<std::vector<uint8_t>> blobs;
  Status st = run(&blobs);
  if (!st.ok() && st.code() == Status::Code::kIoError) {
    // e.g. SQLITE_CANTOPEN for the WAL index on a read-only file system
    sqlite3* raw2 = nullptr;
    const std::string uri = "file:" + path + "?immutable=1";
    if (sqlite3_open_v2(uri.c_str(), &raw2, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
      db.reset(raw2);
      blobs.clear();
      st = run(&blobs);
    } else {
      sqlite3_close(raw2);
    }
  }
  if (!st.ok()) return st;
  return blobs;
}

}  // namespace vigil::sbom
