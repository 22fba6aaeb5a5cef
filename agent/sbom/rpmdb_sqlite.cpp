// The SQLite rpmdb reader (rpm.h). Kept apart from the header parser so that the parser stays
// OS-free and the fuzz target need not link SQLite. libsqlite3 is loaded at run time, when an
// rpm database is read: a device without rpm (most of them) never maps it or needs it.
#include <sqlite3.h>

#include <memory>

#include "agent/platform/linux/shared_library.h"
#include "agent/sbom/rpm.h"

namespace vigil::sbom {
namespace {

// The SQLite functions the reader calls, from libsqlite3.so.0.
struct SqliteApi {
  decltype(&sqlite3_open_v2) open_v2 = nullptr;
  decltype(&sqlite3_close) close = nullptr;
  decltype(&sqlite3_errmsg) errmsg = nullptr;
  decltype(&sqlite3_errstr) errstr = nullptr;
  decltype(&sqlite3_busy_timeout) busy_timeout = nullptr;
  decltype(&sqlite3_prepare_v2) prepare_v2 = nullptr;
  decltype(&sqlite3_step) step = nullptr;
  decltype(&sqlite3_finalize) finalize = nullptr;
  decltype(&sqlite3_column_blob) column_blob = nullptr;
  decltype(&sqlite3_column_bytes) column_bytes = nullptr;
};

Result<const SqliteApi*> LoadSqlite() {
  return LoadForProcess<SqliteApi>({"libsqlite3.so.0"}, "install the package libsqlite3-0",
                                   [](SharedLibrary& lib, SqliteApi& a) {
                                     lib.Bind(a.open_v2, "sqlite3_open_v2");
                                     lib.Bind(a.close, "sqlite3_close");
                                     lib.Bind(a.errmsg, "sqlite3_errmsg");
                                     lib.Bind(a.errstr, "sqlite3_errstr");
                                     lib.Bind(a.busy_timeout, "sqlite3_busy_timeout");
                                     lib.Bind(a.prepare_v2, "sqlite3_prepare_v2");
                                     lib.Bind(a.step, "sqlite3_step");
                                     lib.Bind(a.finalize, "sqlite3_finalize");
                                     lib.Bind(a.column_blob, "sqlite3_column_blob");
                                     lib.Bind(a.column_bytes, "sqlite3_column_bytes");
                                   });
}

}  // namespace

Result<std::vector<std::vector<uint8_t>>> ReadRpmdbSqlite(const std::string& path) {
  auto loaded = LoadSqlite();
  if (!loaded.ok()) return loaded.status().WithContext(path);
  const SqliteApi& sql = **loaded;
  sqlite3* raw = nullptr;
  // Read-only, and no journal or WAL files created: the database belongs to rpm (and may be
  // on a read-only image). A database in WAL mode whose -shm cannot be created is opened again
  // as immutable.
  int rc = sql.open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sql.close);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_CANTOPEN) return Status::NotFound(path + ": cannot open the rpm database");
    return Status::IoError(path + ": " + (raw ? sql.errmsg(raw) : sql.errstr(rc)));
  }
  sql.busy_timeout(db.get(), 2000);
  auto run = [&](std::vector<std::vector<uint8_t>>* out) -> Status {
    sqlite3_stmt* stmt = nullptr;
    int prc = sql.prepare_v2(db.get(), "SELECT blob FROM Packages ORDER BY hnum", -1, &stmt, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sql.finalize);
    if (prc != SQLITE_OK) return Status::Corruption(path + ": " + sql.errmsg(db.get()));
    while ((prc = sql.step(stmt)) == SQLITE_ROW) {
      const auto* bytes = static_cast<const uint8_t*>(sql.column_blob(stmt, 0));
      const int n = sql.column_bytes(stmt, 0);
      out->emplace_back(bytes, bytes + (bytes ? n : 0));
    }
    if (prc != SQLITE_DONE) return Status::IoError(path + ": " + sql.errmsg(db.get()));
    return Status::Ok();
  };
  std::vector<std::vector<uint8_t>> blobs;
  Status st = run(&blobs);
  if (!st.ok() && st.code() == Status::Code::kIoError) {
    // e.g. SQLITE_CANTOPEN for the WAL index on a read-only file system
    sqlite3* raw2 = nullptr;
    const std::string uri = "file:" + path + "?immutable=1";
    if (sql.open_v2(uri.c_str(), &raw2, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK) {
      db.reset(raw2);
      blobs.clear();
      st = run(&blobs);
    } else {
      sql.close(raw2);
    }
  }
  if (!st.ok()) return st;
  return blobs;
}

}  // namespace vigil::sbom
