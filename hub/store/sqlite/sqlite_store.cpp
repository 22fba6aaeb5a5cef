#include "hub/store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

#include "hub/store/store_internal.h"

namespace vigil::hub {
namespace {

using store_internal::BatchTally;
using store_internal::kRetentionChunk;

// Each entry moves the schema from version i to i + 1 (PRAGMA user_version).
constexpr const char* kMigrations[] = {
    // 1: events, devices, system_info, desired.
    R"sql(
CREATE TABLE events (
  device   TEXT    NOT NULL,
  seq      INTEGER NOT NULL CHECK (seq >= 0),
  ts       INTEGER NOT NULL,
  type     TEXT    NOT NULL,
  action   TEXT    NOT NULL,
  priority TEXT    NOT NULL,
  count    INTEGER NOT NULL,
  received INTEGER NOT NULL,
  body     TEXT    NOT NULL,
  PRIMARY KEY (device, seq)
);
CREATE INDEX events_device_ts ON events (device, ts, seq);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_type_ts ON events (type, ts);
CREATE TABLE devices (
  id            TEXT    PRIMARY KEY,
  state         TEXT    NOT NULL DEFAULT 'never',
  group_name    TEXT    NOT NULL DEFAULT '',
  agent_version TEXT    NOT NULL DEFAULT '',
  created       INTEGER NOT NULL DEFAULT 0,
  first_seen    INTEGER NOT NULL DEFAULT 0,
  last_seen     INTEGER NOT NULL DEFAULT 0,
  last_event    INTEGER NOT NULL DEFAULT 0,
  events        INTEGER NOT NULL DEFAULT 0,
  bytes         INTEGER NOT NULL DEFAULT 0,
  min_seq       INTEGER NOT NULL DEFAULT 0,
  max_seq       INTEGER NOT NULL DEFAULT 0,
  revoked       INTEGER NOT NULL DEFAULT 0,
  reported      TEXT,
  reported_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_group ON devices (group_name);
CREATE TABLE system_info (
  device TEXT    PRIMARY KEY,
  ts     INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  data   TEXT    NOT NULL
);
CREATE TABLE desired (
  scope   TEXT    NOT NULL,
  name    TEXT    NOT NULL,
  version TEXT    NOT NULL,
  config  TEXT    NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (scope, name)
);
)sql",
    // 2: alerts (from devices and from the hub's analyzer), with their status.
    R"sql(
CREATE TABLE alerts (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  device    TEXT    NOT NULL,
  seq       INTEGER,
  origin    TEXT    NOT NULL,
  ts        INTEGER NOT NULL,
  rule_id   TEXT    NOT NULL,
  title     TEXT    NOT NULL,
  level     TEXT    NOT NULL,
  status    TEXT    NOT NULL DEFAULT 'new',
  status_at INTEGER NOT NULL DEFAULT 0,
  status_by TEXT    NOT NULL DEFAULT '',
  note      TEXT    NOT NULL DEFAULT '',
  body      TEXT    NOT NULL
);
CREATE UNIQUE INDEX alerts_device_seq ON alerts (device, seq);
CREATE INDEX alerts_ts ON alerts (ts, id);
CREATE INDEX alerts_status_ts ON alerts (status, ts);
)sql",
    // 3: vulnerabilities: advisories, the (ecosystem, source package) keys they name, each
    // device's packages, and the findings matched for them.
    R"sql(
CREATE TABLE vuln_advisories (
  id       TEXT PRIMARY KEY,
  source   TEXT NOT NULL,
  modified TEXT NOT NULL,
  body     TEXT NOT NULL
);
CREATE TABLE vuln_affected (
  ecosystem TEXT NOT NULL,
  package   TEXT NOT NULL,
  advisory  TEXT NOT NULL,
  PRIMARY KEY (ecosystem, package, advisory)
);
CREATE INDEX vuln_affected_advisory ON vuln_affected (advisory);
CREATE TABLE vuln_packages (
  device         TEXT NOT NULL,
  name           TEXT NOT NULL,
  version        TEXT NOT NULL,
  source         TEXT NOT NULL,
  source_version TEXT NOT NULL,
  ecosystem      TEXT NOT NULL,
  PRIMARY KEY (device, name, version)
);
CREATE INDEX vuln_packages_key ON vuln_packages (ecosystem, source);
CREATE TABLE vuln_findings (
  device         TEXT    NOT NULL,
  package        TEXT    NOT NULL,
  version        TEXT    NOT NULL,
  advisory       TEXT    NOT NULL,
  source         TEXT    NOT NULL,
  source_version TEXT    NOT NULL,
  ecosystem      TEXT    NOT NULL,
  status         TEXT    NOT NULL,
  fixed_version  TEXT    NOT NULL,
  severity       TEXT    NOT NULL,
  score          REAL    NOT NULL,
  matched        INTEGER NOT NULL,
  PRIMARY KEY (device, package, version, advisory)
);
CREATE INDEX vuln_findings_advisory ON vuln_findings (advisory);
)sql",
    // 4: posture: each device's newest posture scan (the data of its newest event of type
    // posture), kept like system_info.
    R"sql(
CREATE TABLE posture (
  device TEXT    PRIMARY KEY,
  ts     INTEGER NOT NULL,
  seq    INTEGER NOT NULL,
  data   TEXT    NOT NULL
);
)sql",
};

constexpr const char* kInsertAlert =
    "INSERT INTO alerts (device, seq, origin, ts, rule_id, title, level, status, status_at, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'new', ?8, ?9) ON CONFLICT (device, seq) DO NOTHING";
constexpr const char* kAlertColumns =
    "SELECT id, device, seq, origin, ts, rule_id, title, level, status, status_at, status_by, note, body FROM alerts";
constexpr const char* kOneAlert =
    "SELECT id, device, seq, origin, ts, rule_id, title, level, status, status_at, status_by, note, body FROM alerts "
    "WHERE id = ?1";
constexpr const char* kSetAlertStatus =
    "UPDATE alerts SET status = ?2, status_at = ?3, status_by = ?4, note = ?5 WHERE id = ?1";

constexpr const char* kInsertEvent =
    "INSERT INTO events (device, seq, ts, type, action, priority, count, received, body) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (device, seq) DO NOTHING";
constexpr const char* kTouchDevice =
    "INSERT INTO devices (id, state, created, first_seen, last_seen) VALUES (?1, 'online', ?2, ?2, ?2) "
    "ON CONFLICT (id) DO UPDATE SET "
    "state = CASE WHEN devices.state IN ('never', 'silent') THEN 'online' ELSE devices.state END, "
    "first_seen = CASE WHEN devices.first_seen = 0 THEN excluded.first_seen ELSE devices.first_seen END, "
    "last_seen = max(devices.last_seen, excluded.last_seen)";
constexpr const char* kAddCounts =
    "UPDATE devices SET "
    "min_seq = CASE WHEN events = 0 THEN ?2 ELSE min(min_seq, ?2) END, "
    "max_seq = CASE WHEN events = 0 THEN ?3 ELSE max(max_seq, ?3) END, "
    "events = events + ?4, bytes = bytes + ?5, last_event = max(last_event, ?6) WHERE id = ?1";
constexpr const char* kUpsertSystemInfo =
    "INSERT INTO system_info (device, ts, seq, data) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (device) DO UPDATE SET ts = excluded.ts, seq = excluded.seq, data = excluded.data "
    "WHERE excluded.ts > system_info.ts";
constexpr const char* kUpsertPosture =
    "INSERT INTO posture (device, ts, seq, data) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (device) DO UPDATE SET ts = excluded.ts, seq = excluded.seq, data = excluded.data "
    "WHERE excluded.ts > posture.ts OR (excluded.ts = posture.ts AND excluded.seq > posture.seq)";
constexpr const char* kAllPostures = "SELECT device, ts, seq, data FROM posture ORDER BY device";
constexpr const char* kOnePosture = "SELECT device, ts, seq, data FROM posture WHERE device = ?1";
constexpr const char* kAddDevice =
    "INSERT INTO devices (id, group_name, created) VALUES (?1, ?2, ?3) "
    "ON CONFLICT (id) DO UPDATE SET group_name = CASE WHEN excluded.group_name <> '' "
    "THEN excluded.group_name ELSE devices.group_name END";
constexpr const char* kSetState =
    "INSERT INTO devices (id, state, agent_version, created, first_seen, last_seen) "
    "VALUES (?1, ?2, ?3, ?4, ?4, ?4) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
    "agent_version = CASE WHEN excluded.agent_version <> '' THEN excluded.agent_version "
    "ELSE devices.agent_version END, "
    "first_seen = CASE WHEN devices.first_seen = 0 THEN excluded.first_seen ELSE devices.first_seen END, "
    "last_seen = max(devices.last_seen, excluded.last_seen)";
constexpr const char* kSetGroup = "UPDATE devices SET group_name = ?2 WHERE id = ?1";
constexpr const char* kSetRevoked = "UPDATE devices SET revoked = ?2 WHERE id = ?1";
constexpr const char* kMarkSilent =
    "UPDATE devices SET state = 'silent' WHERE state IN ('online', 'offline') AND last_seen < ?1 RETURNING id";
constexpr const char* kAllDevices =
    "SELECT d.id, d.state, d.group_name, d.agent_version, d.first_seen, d.last_seen, d.last_event, d.events, "
    "d.min_seq, d.max_seq, d.revoked, s.data, d.reported FROM devices d LEFT JOIN system_info s ON s.device = d.id "
    "ORDER BY d.id";
constexpr const char* kOneDevice =
    "SELECT d.id, d.state, d.group_name, d.agent_version, d.first_seen, d.last_seen, d.last_event, d.events, "
    "d.min_seq, d.max_seq, d.revoked, s.data, d.reported FROM devices d LEFT JOIN system_info s ON s.device = d.id "
    "WHERE d.id = ?1";
constexpr const char* kGaps =
    "SELECT prev + 1, seq - 1 FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev FROM events "
    "WHERE device = ?1) AS w WHERE seq > prev + 1 ORDER BY seq LIMIT ?2";
constexpr const char* kSetDesired =
    "INSERT INTO desired (scope, name, version, config, updated) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (scope, name) DO UPDATE SET version = excluded.version, config = excluded.config, "
    "updated = excluded.updated";
constexpr const char* kEffectiveDesired =
    "SELECT scope, name, version, config, updated FROM desired WHERE (scope = 'device' AND name = ?1) "
    "OR (scope = 'group' AND name = (SELECT group_name FROM devices WHERE id = ?1 AND group_name <> '')) "
    "ORDER BY CASE scope WHEN 'device' THEN 0 ELSE 1 END LIMIT 1";
constexpr const char* kAllDesired = "SELECT scope, name, version, config, updated FROM desired ORDER BY scope, name";
constexpr const char* kSetReported =
    "INSERT INTO devices (id, reported, reported_at, created) VALUES (?1, ?2, ?3, ?3) "
    "ON CONFLICT (id) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at";
constexpr const char* kOldestByAge =
    "SELECT rowid, device, length(CAST(body AS BLOB)) FROM events WHERE ts < ?1 ORDER BY ts, device, seq LIMIT ?2";
constexpr const char* kOldest =
    "SELECT rowid, device, length(CAST(body AS BLOB)) FROM events ORDER BY ts, device, seq LIMIT ?1";
constexpr const char* kTotalBytes = "SELECT coalesce(sum(bytes), 0) FROM devices";
constexpr const char* kDeleteRow = "DELETE FROM events WHERE rowid = ?1";
constexpr const char* kSubtractCounts =
    "UPDATE devices SET events = events - ?2, bytes = bytes - ?3, "
    "min_seq = coalesce((SELECT min(seq) FROM events WHERE device = ?1), 0), "
    "max_seq = coalesce((SELECT max(seq) FROM events WHERE device = ?1), 0) WHERE id = ?1";
constexpr const char* kStats = "SELECT coalesce(sum(events), 0), coalesce(sum(bytes), 0), count(*) FROM devices";

std::string DumpJson(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json ParseStoredJson(const unsigned char* text, int size) {
  if (text == nullptr) return Json();
  Json j = Json::parse(reinterpret_cast<const char*>(text), reinterpret_cast<const char*>(text) + size, nullptr,
                       /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

}  // namespace

// A prepared statement. Bound text is SQLITE_STATIC: it must outlive the statement's next
// reset, which every user does before its arguments go out of scope.
class SqliteStore::Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }

  void Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Bind(int i, double v) { sqlite3_bind_double(s_, i, v); }
  void BindNull(int i) { sqlite3_bind_null(s_, i); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  void Bind(int i, std::string_view v) {
    // A null data() would bind NULL: an empty string_view is bound as ''.
    sqlite3_bind_text(s_, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_STATIC);
  }
  int Step() { return sqlite3_step(s_); }
  void Rewind() { sqlite3_reset(s_); }  // keeps the bindings: the next use rebinds them all
  void Reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Real(int col) const { return sqlite3_column_double(s_, col); }
  uint64_t Uint(int col) const { return static_cast<uint64_t>(sqlite3_column_int64(s_, col)); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, col)) : std::string();
  }
  Json JsonAt(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return ParseStoredJson(t, sqlite3_column_bytes(s_, col));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

namespace {
// Resets a statement when the scope using it ends.
class Using {
 public:
  explicit Using(auto* s) : reset_([s] { s->Reset(); }) {}
  ~Using() { reset_(); }
  Using(const Using&) = delete;
  Using& operator=(const Using&) = delete;

 private:
  std::function<void()> reset_;
};
}  // namespace

struct SqliteStore::Statements {
  std::unordered_map<const char*, Stmt> cache;  // keyed by the SQL constant's address
};

struct SqliteStore::Doomed {
  int64_t rowid;
  std::string device;
  uint64_t bytes;
};

// Checkpoints the WAL on its own thread and connection, so that ingest never waits for the
// copy of the log into the database file. The writer's WAL hook wakes it once the log holds
// checkpoint_pages (SQLite's own auto-checkpoint threshold by default); it then runs a PASSIVE
// checkpoint, which takes no lock a writer needs. A writer that never pauses can keep a PASSIVE
// checkpoint from finishing, and the log would then grow without bound: past restart_pages the
// checkpoint is RESTART, which makes the writer wait until the log is copied and starts the log
// over. Should this thread fall behind all the same (a starved CPU), the writer's own commit
// runs a RESTART once the log passes limit_pages, so the log never outgrows that limit by more
// than one transaction.
class SqliteStore::Checkpointer {
 public:
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path, const Options& options) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      return Status::IoError("cannot open " + path + " for checkpoints: " + msg);
    }
    sqlite3_busy_timeout(db, 5000);
    // A connection learns the journal mode when it first reads the file; until then a
    // checkpoint on it does nothing.
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db);
      sqlite3_close_v2(db);
      return Status::IoError("cannot open " + path + " for checkpoints: " + msg);
    }
    return std::unique_ptr<Checkpointer>(new Checkpointer(db, options));
  }

  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close_v2(db_);
  }

  // From the writer's commit (sqlite3_wal_hook): `pages` is the log's length in pages.
  static int Hook(void* self, sqlite3* writer, const char* schema, int pages) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    if (pages >= checkpointer->options_.limit_pages) {
      // SQLite's own auto-checkpoint runs in this hook too; a failure (SQLITE_BUSY after the
      // busy timeout) leaves the log to the next commit.
      if (sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr) == SQLITE_OK) {
        checkpointer->forced_.fetch_add(1, std::memory_order_relaxed);
        return SQLITE_OK;
      }
    }
    if (pages >= checkpointer->options_.checkpoint_pages) checkpointer->Wake(pages);
    return SQLITE_OK;
  }

  SqliteStore::CheckpointStats stats() const {
    return {passes_.load(std::memory_order_relaxed), restarts_.load(std::memory_order_relaxed),
            forced_.load(std::memory_order_relaxed)};
  }

 private:
  Checkpointer(sqlite3* db, const Options& options) : db_(db), options_(options), thread_([this] { Run(); }) {}

  void Wake(int pages) {
    {
      std::lock_guard lock(mu_);
      pending_pages_ = pages;
    }
    cv_.notify_one();
  }

  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || pending_pages_ > 0; });
      if (stop_) return;
      int pages = std::exchange(pending_pages_, 0);
      lock.unlock();
      bool restart = pages >= options_.restart_pages;
      // SQLITE_BUSY (a RESTART that waited out the busy timeout) leaves the log as it was; the
      // next commit wakes this thread again.
      int rc = sqlite3_wal_checkpoint_v2(db_, "main", restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE,
                                         nullptr, nullptr);
      if (rc == SQLITE_OK) (restart ? restarts_ : passes_).fetch_add(1, std::memory_order_relaxed);
      lock.lock();
    }
  }

  sqlite3* const db_;
  const Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_pages_ = 0;
  bool stop_ = false;
  std::atomic<uint64_t> passes_{0};
  std::atomic<uint64_t> restarts_{0};
  std::atomic<uint64_t> forced_{0};
  std::thread thread_;  // last: started once the members above exist
};

SqliteStore::SqliteStore(std::string path, sqlite3* db)
    : path_(std::move(path)), db_(db), stmts_(std::make_unique<Statements>()) {}

SqliteStore::~SqliteStore() {
  checkpointer_.reset();  // before the writer's connection, whose close then checkpoints the rest
  stmts_.reset();         // statements before the connection
  sqlite3_close_v2(db_);
}

SqliteStore::CheckpointStats SqliteStore::checkpoint_stats() const {
  return checkpointer_ ? checkpointer_->stats() : CheckpointStats{};
}

Status SqliteStore::Error(std::string_view what) const {
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db_);
  int code = sqlite3_errcode(db_);
  if (code == SQLITE_CONSTRAINT || code == SQLITE_MISMATCH || code == SQLITE_TOOBIG || code == SQLITE_RANGE) {
    return Status::InvalidArgument(std::move(msg));
  }
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) return Status::Corruption(std::move(msg));
  return Status::IoError(std::move(msg));
}

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::IoError(std::string(sql).substr(0, 40) + ": " + msg);
  }
  return Status::Ok();
}

namespace {

// Rolls back an open transaction unless Commit() succeeded.
class Transaction {
 public:
  Transaction(sqlite3* db, std::function<Status(const char*)> exec) : db_(db), exec_(std::move(exec)) {}
  ~Transaction() {
    if (open_ && !sqlite3_get_autocommit(db_)) (void)exec_("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin() {
    Status s = exec_("BEGIN IMMEDIATE");
    open_ = s.ok();
    return s;
  }
  Status Commit() {
    Status s = exec_("COMMIT");
    if (s.ok()) open_ = false;
    return s;
  }

 private:
  sqlite3* db_;
  std::function<Status(const char*)> exec_;
  bool open_ = false;
};

}  // namespace

#define VIGIL_STMT(var, sql)                                                                       \
  auto var##_it = stmts_->cache.find(sql);                                                         \
  if (var##_it == stmts_->cache.end()) {                                                           \
    sqlite3_stmt* raw = nullptr;                                                                   \
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) { \
      sqlite3_finalize(raw);                                                                       \
      return Error("prepare");                                                                     \
    }                                                                                              \
    var##_it = stmts_->cache.emplace(sql, Stmt(raw)).first;                                        \
  }                                                                                                \
  Stmt& var = var##_it->second;                                                                    \
  Using var##_using(&var)

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, Options options) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IoError("cannot open " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, db));
  VIGIL_RETURN_IF_ERROR(store->Init(options));
  return store;
}

Status SqliteStore::Init(const Options& options) {
  sqlite3_extended_result_codes(db_, 0);
  sqlite3_busy_timeout(db_, 5000);
  {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode=WAL", -1, &raw, nullptr) != SQLITE_OK) return Error("WAL");
    Stmt s(raw);
    if (s.Step() != SQLITE_ROW) return Error("WAL");
    if (s.Text(0) != "wal") return Status::IoError("cannot switch " + path_ + " to WAL mode (got " + s.Text(0) + ")");
  }
  VIGIL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY"));
  int64_t version = 0;
  {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK) return Error("user_version");
    Stmt s(raw);
    if (s.Step() != SQLITE_ROW) return Error("user_version");
    version = s.Int(0);
  }
  constexpr int64_t kLatest = std::size(kMigrations);
  if (version > kLatest) {
    return Status::InvalidArgument(path_ + ": schema version " + std::to_string(version) +
                                   " is newer than this hub's (" + std::to_string(kLatest) + ")");
  }
  for (int64_t v = version; v < kLatest; ++v) {
    Transaction txn(db_, [this](const char* sql) { return Exec(sql); });
    VIGIL_RETURN_IF_ERROR(txn.Begin());
    Status s = Exec(kMigrations[v]);
    if (!s.ok()) return s.WithContext("migrating " + path_ + " to schema version " + std::to_string(v + 1));
    VIGIL_RETURN_IF_ERROR(Exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str()));
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  // The hook replaces SQLite's auto-checkpoint on this connection (sqlite3_wal_autocheckpoint
  // is a WAL hook too).
  auto checkpointer = Checkpointer::Start(path_, options);
  if (!checkpointer.ok()) return checkpointer.status();
  checkpointer_ = std::move(*checkpointer);
  sqlite3_wal_hook(db_, &Checkpointer::Hook, checkpointer_.get());
  return Status::Ok();
}

Result<IngestResult> SqliteStore::Ingest(std::span<const BatchRows> batches, int64_t now_ms) {
  VIGIL_RETURN_IF_ERROR(store_internal::ValidateBatches(batches));
  std::lock_guard lock(mu_);
  Transaction txn(db_, [this](const char* sql) { return Exec(sql); });
  VIGIL_RETURN_IF_ERROR(txn.Begin());
  IngestResult result;
  VIGIL_STMT(insert, kInsertEvent);
  VIGIL_STMT(touch, kTouchDevice);
  VIGIL_STMT(counts, kAddCounts);
  VIGIL_STMT(sysinfo, kUpsertSystemInfo);
  VIGIL_STMT(posture, kUpsertPosture);
  for (const BatchRows& batch : batches) {
    BatchTally tally;
    for (const EventRow& e : batch.events) {
      insert.Bind(1, std::string_view(batch.device));
      insert.Bind(2, static_cast<int64_t>(e.seq));
      insert.Bind(3, e.ts_ms);
      insert.Bind(4, std::string_view(e.type));
      insert.Bind(5, std::string_view(e.action));
      insert.Bind(6, std::string_view(e.priority));
      insert.Bind(7, static_cast<int64_t>(e.count));
      insert.Bind(8, now_ms);
      insert.Bind(9, std::string_view(e.json));
      int rc = insert.Step();
      insert.Rewind();
      if (rc != SQLITE_DONE) {
        return Error("ingest: device " + batch.device + " seq " + std::to_string(e.seq));
      }
      if (sqlite3_changes(db_) > 0) {
        tally.Add(e, e.json.size());
      } else {
        ++result.duplicates;
      }
    }
    touch.Bind(1, std::string_view(batch.device));
    touch.Bind(2, now_ms);
    if (touch.Step() != SQLITE_DONE) return Error("ingest: device " + batch.device);
    touch.Reset();
    if (tally.inserted > 0) {
      counts.Bind(1, std::string_view(batch.device));
      counts.Bind(2, static_cast<int64_t>(tally.min_seq));
      counts.Bind(3, static_cast<int64_t>(tally.max_seq));
      counts.Bind(4, static_cast<int64_t>(tally.inserted));
      counts.Bind(5, static_cast<int64_t>(tally.bytes));
      counts.Bind(6, now_ms);
      if (counts.Step() != SQLITE_DONE) return Error("ingest: counters of device " + batch.device);
      counts.Reset();
      result.inserted += tally.inserted;
    }
    if (tally.newest_system_info != nullptr) {
      const EventRow& e = *tally.newest_system_info;
      auto data = store_internal::EventData(e);
      if (!data.ok()) return data.status();
      std::string text = DumpJson(*data);
      sysinfo.Bind(1, std::string_view(batch.device));
      sysinfo.Bind(2, e.ts_ms);
      sysinfo.Bind(3, static_cast<int64_t>(e.seq));
      sysinfo.Bind(4, std::string_view(text));
      if (sysinfo.Step() != SQLITE_DONE) return Error("ingest: system_info of device " + batch.device);
      sysinfo.Reset();
    }
    if (tally.newest_posture != nullptr) {
      const EventRow& e = *tally.newest_posture;
      auto data = store_internal::EventData(e);
      if (!data.ok()) return data.status();
      std::string text = DumpJson(*data);
      posture.Bind(1, std::string_view(batch.device));
      posture.Bind(2, e.ts_ms);
      posture.Bind(3, static_cast<int64_t>(e.seq));
      posture.Bind(4, std::string_view(text));
      if (posture.Step() != SQLITE_DONE) return Error("ingest: posture of device " + batch.device);
      posture.Reset();
    }
    for (const EventRow* e : tally.alerts) {
      auto alert = AlertFromEventRow(*e);
      if (!alert.ok()) return alert.status();
      VIGIL_RETURN_IF_ERROR(InsertAlert(*alert, now_ms));
    }
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return result;
}

Status SqliteStore::InsertAlert(const AlertRow& a, int64_t now_ms) {
  VIGIL_STMT(s, kInsertAlert);
  s.Bind(1, std::string_view(a.device));
  if (a.seq) {
    s.Bind(2, static_cast<int64_t>(*a.seq));
  } else {
    s.BindNull(2);
  }
  s.Bind(3, std::string_view(a.origin));
  s.Bind(4, a.ts_ms);
  s.Bind(5, std::string_view(a.rule_id));
  s.Bind(6, std::string_view(a.title));
  s.Bind(7, std::string_view(a.level));
  s.Bind(8, now_ms);
  s.Bind(9, std::string_view(a.json));
  if (s.Step() != SQLITE_DONE) return Error("alert of device " + a.device + " rule " + a.rule_id);
  return Status::Ok();
}

Result<std::vector<int64_t>> SqliteStore::AddAlerts(std::span<const AlertRow> alerts, int64_t now_ms) {
  for (const AlertRow& a : alerts) VIGIL_RETURN_IF_ERROR(store_internal::ValidateAlert(a));
  std::lock_guard lock(mu_);
  Transaction txn(db_, [this](const char* sql) { return Exec(sql); });
  VIGIL_RETURN_IF_ERROR(txn.Begin());
  std::vector<int64_t> ids;
  for (const AlertRow& a : alerts) {
    VIGIL_RETURN_IF_ERROR(InsertAlert(a, now_ms));
    ids.push_back(sqlite3_changes(db_) > 0 ? sqlite3_last_insert_rowid(db_) : 0);
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return ids;
}

namespace {
template <typename S>
AlertRow ReadAlert(const S& s) {
  AlertRow a;
  a.id = s.Int(0);
  a.device = s.Text(1);
  if (!s.IsNull(2)) a.seq = s.Uint(2);
  a.origin = s.Text(3);
  a.ts_ms = s.Int(4);
  a.rule_id = s.Text(5);
  a.title = s.Text(6);
  a.level = s.Text(7);
  a.status = s.Text(8);
  a.status_ms = s.Int(9);
  a.status_by = s.Text(10);
  a.note = s.Text(11);
  a.json = s.Text(12);
  return a;
}
}  // namespace

Result<std::vector<AlertRow>> SqliteStore::Alerts(const AlertQuery& q) {
  std::string sql = kAlertColumns;
  std::vector<std::variant<std::string_view, int64_t>> params;
  auto add = [&](const char* cond, auto value) {
    sql += params.empty() ? " WHERE " : " AND ";
    params.emplace_back(value);
    sql += cond + std::to_string(params.size());
  };
  if (q.status) add("status = ?", std::string_view(*q.status));
  if (q.device) add("device = ?", std::string_view(*q.device));
  if (q.level) add("level = ?", std::string_view(*q.level));
  if (q.rule) add("rule_id = ?", std::string_view(*q.rule));
  if (q.origin) add("origin = ?", std::string_view(*q.origin));
  if (q.since_ms) add("ts >= ?", *q.since_ms);
  if (q.until_ms) add("ts < ?", *q.until_ms);
  sql += " ORDER BY ts DESC, id DESC";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Error("alerts");
  }
  Stmt s(raw);
  for (size_t i = 0; i < params.size(); ++i) std::visit([&](auto v) { s.Bind(static_cast<int>(i + 1), v); }, params[i]);
  std::vector<AlertRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) rows.push_back(ReadAlert(s));
  if (rc != SQLITE_DONE) return Error("alerts");
  return rows;
}

Result<std::optional<AlertRow>> SqliteStore::Alert(int64_t id) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kOneAlert);
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<AlertRow>(ReadAlert(s));
  if (rc != SQLITE_DONE) return Error("alert " + std::to_string(id));
  return std::optional<AlertRow>();
}

Status SqliteStore::SetAlertStatus(int64_t id, std::string_view status, std::string_view by, std::string_view note,
                                   int64_t now_ms) {
  if (!IsAlertStatus(status)) return store_internal::BadAlertStatus(status);
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kSetAlertStatus);
  s.Bind(1, id);
  s.Bind(2, status);
  s.Bind(3, now_ms);
  s.Bind(4, by);
  s.Bind(5, note);
  if (s.Step() != SQLITE_DONE) return Error("set status of alert " + std::to_string(id));
  if (sqlite3_changes(db_) == 0) return Status::NotFound("alert " + std::to_string(id));
  return Status::Ok();
}

Status SqliteStore::AddDevice(std::string_view id, std::string_view group, int64_t now_ms) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kAddDevice);
  s.Bind(1, id);
  s.Bind(2, group);
  s.Bind(3, now_ms);
  if (s.Step() != SQLITE_DONE) return Error("add device " + std::string(id));
  return Status::Ok();
}

Status SqliteStore::SetDeviceState(std::string_view id, DeviceState state, std::string_view agent_version,
                                   int64_t now_ms) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kSetState);
  s.Bind(1, id);
  s.Bind(2, DeviceStateName(state));
  s.Bind(3, state == DeviceState::kOnline ? agent_version : std::string_view());
  s.Bind(4, now_ms);
  if (s.Step() != SQLITE_DONE) return Error("set state of device " + std::string(id));
  return Status::Ok();
}

Status SqliteStore::SetDeviceGroup(std::string_view id, std::string_view group) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kSetGroup);
  s.Bind(1, id);
  s.Bind(2, group);
  if (s.Step() != SQLITE_DONE) return Error("set group of device " + std::string(id));
  if (sqlite3_changes(db_) == 0) return Status::NotFound("device " + std::string(id));
  return Status::Ok();
}

Status SqliteStore::SetRevoked(std::string_view id, bool revoked) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kSetRevoked);
  s.Bind(1, id);
  s.Bind(2, int64_t{revoked ? 1 : 0});
  if (s.Step() != SQLITE_DONE) return Error("revoke device " + std::string(id));
  if (sqlite3_changes(db_) == 0) return Status::NotFound("device " + std::string(id));
  return Status::Ok();
}

Result<std::vector<std::string>> SqliteStore::MarkSilent(int64_t now_ms, int64_t silent_after_ms) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kMarkSilent);
  s.Bind(1, now_ms - silent_after_ms);
  std::vector<std::string> ids;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) ids.push_back(s.Text(0));
  if (rc != SQLITE_DONE) return Error("mark silent devices");
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<DeviceRow>> SqliteStore::LoadDevices(std::string_view only_id) {
  const bool one = !only_id.empty();
  VIGIL_STMT(s, one ? kOneDevice : kAllDevices);
  if (one) s.Bind(1, only_id);
  std::vector<DeviceRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    DeviceRow d;
    d.id = s.Text(0);
    d.state = store_internal::ParseDeviceState(s.Text(1));
    d.group = s.Text(2);
    d.agent_version = s.Text(3);
    d.first_seen_ms = s.Int(4);
    d.last_seen_ms = s.Int(5);
    d.last_event_ms = s.Int(6);
    d.events = s.Uint(7);
    d.min_seq = s.Uint(8);
    d.max_seq = s.Uint(9);
    d.missing = store_internal::MissingSeqs(d.events, d.min_seq, d.max_seq);
    d.revoked = s.Int(10) != 0;
    d.system_info = s.JsonAt(11);
    d.reported = s.JsonAt(12);
    rows.push_back(std::move(d));
  }
  if (rc != SQLITE_DONE) return Error("read devices");
  return rows;
}

Result<std::vector<DeviceRow>> SqliteStore::Devices() {
  std::lock_guard lock(mu_);
  return LoadDevices("");
}

Result<std::optional<DeviceRow>> SqliteStore::Device(std::string_view id) {
  if (id.empty()) return std::optional<DeviceRow>();
  std::lock_guard lock(mu_);
  auto rows = LoadDevices(id);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<DeviceRow>();
  return std::optional<DeviceRow>(std::move(rows->front()));
}

Result<std::vector<SeqGap>> SqliteStore::Gaps(std::string_view device, size_t limit) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kGaps);
  s.Bind(1, device);
  s.Bind(2, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
  std::vector<SeqGap> gaps;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) gaps.push_back(SeqGap{s.Uint(0), s.Uint(1)});
  if (rc != SQLITE_DONE) return Error("gaps of device " + std::string(device));
  return gaps;
}

namespace {

// The WHERE clause of Search and Count (the filter, then the time range), with the numbers of
// the parameters it added after the filter's.
std::string QueryWhere(const EventQuery& q, int* next_param) {
  std::string sql = " WHERE (" + q.filter.where + ")";
  int n = static_cast<int>(q.filter.params.size());
  if (q.since_ms) sql += " AND ts >= ?" + std::to_string(++n);
  if (q.until_ms) sql += " AND ts < ?" + std::to_string(++n);
  *next_param = n + 1;
  return sql;
}

}  // namespace

Result<std::vector<EventRow>> SqliteStore::Search(const EventQuery& query) {
  int next = 0;
  std::string sql =
      "SELECT device, seq, ts, type, action, priority, count, received, body FROM events" + QueryWhere(query, &next);
  sql += query.newest_first ? " ORDER BY ts DESC, device, seq" : " ORDER BY ts, device, seq";
  if (query.limit > 0) sql += " LIMIT ?" + std::to_string(next);
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Error("search: " + query.filter.where);
  }
  Stmt s(raw);
  int i = 1;
  for (const SqlParam& p : query.filter.params) {
    std::visit([&](const auto& v) { s.Bind(i, v); }, p);
    ++i;
  }
  if (query.since_ms) s.Bind(i++, *query.since_ms);
  if (query.until_ms) s.Bind(i++, *query.until_ms);
  if (query.limit > 0) s.Bind(i++, static_cast<int64_t>(query.limit));
  std::vector<EventRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    EventRow e;
    e.device = s.Text(0);
    e.seq = s.Uint(1);
    e.ts_ms = s.Int(2);
    e.type = s.Text(3);
    e.action = s.Text(4);
    e.priority = s.Text(5);
    e.count = static_cast<uint32_t>(s.Int(6));
    e.received_ms = s.Int(7);
    e.json = s.Text(8);
    rows.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error("search: " + query.filter.where);
  return rows;
}

Result<uint64_t> SqliteStore::Count(const EventQuery& query) {
  int next = 0;
  std::string sql = "SELECT count(*) FROM events" + QueryWhere(query, &next);
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Error("count: " + query.filter.where);
  }
  Stmt s(raw);
  int i = 1;
  for (const SqlParam& p : query.filter.params) {
    std::visit([&](const auto& v) { s.Bind(i, v); }, p);
    ++i;
  }
  if (query.since_ms) s.Bind(i++, *query.since_ms);
  if (query.until_ms) s.Bind(i++, *query.until_ms);
  if (s.Step() != SQLITE_ROW) return Error("count: " + query.filter.where);
  return s.Uint(0);
}

Status SqliteStore::SetDesired(const DesiredConfig& desired) {
  if (desired.scope != "device" && desired.scope != "group") {
    return Status::InvalidArgument("desired configuration scope \"" + desired.scope + "\": expected device or group");
  }
  if (desired.name.empty()) return Status::InvalidArgument("desired configuration for " + desired.scope + ": no name");
  std::string config = DumpJson(desired.config);
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kSetDesired);
  s.Bind(1, std::string_view(desired.scope));
  s.Bind(2, std::string_view(desired.name));
  s.Bind(3, std::string_view(desired.version));
  s.Bind(4, std::string_view(config));
  s.Bind(5, desired.updated_ms);
  if (s.Step() != SQLITE_DONE) return Error("set desired configuration of " + desired.scope + " " + desired.name);
  return Status::Ok();
}

namespace {
template <typename S>
DesiredConfig ReadDesired(const S& s) {
  DesiredConfig d;
  d.scope = s.Text(0);
  d.name = s.Text(1);
  d.version = s.Text(2);
  d.config = s.JsonAt(3);
  d.updated_ms = s.Int(4);
  return d;
}
}  // namespace

Result<std::optional<DesiredConfig>> SqliteStore::EffectiveDesired(std::string_view device) {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kEffectiveDesired);
  s.Bind(1, device);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<DesiredConfig>(ReadDesired(s));
  if (rc != SQLITE_DONE) return Error("desired configuration of device " + std::string(device));
  return std::optional<DesiredConfig>();
}

Result<std::vector<DesiredConfig>> SqliteStore::DesiredConfigs() {
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kAllDesired);
  std::vector<DesiredConfig> all;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) all.push_back(ReadDesired(s));
  if (rc != SQLITE_DONE) return Error("desired configurations");
  return all;
}

Status SqliteStore::SetReported(std::string_view device, const Json& reported, int64_t now_ms) {
  std::string text = DumpJson(reported);
  std::lock_guard lock(mu_);
  VIGIL_STMT(s, kSetReported);
  s.Bind(1, device);
  s.Bind(2, std::string_view(text));
  s.Bind(3, now_ms);
  if (s.Step() != SQLITE_DONE) return Error("set reported configuration of device " + std::string(device));
  return Status::Ok();
}

Status SqliteStore::DeleteRows(const std::vector<Doomed>& rows) {
  VIGIL_STMT(del, kDeleteRow);
  std::map<std::string, std::pair<int64_t, int64_t>> per_device;  // events, bytes
  for (const Doomed& d : rows) {
    del.Bind(1, d.rowid);
    if (del.Step() != SQLITE_DONE) return Error("retention: delete");
    del.Rewind();
    auto& [n, b] = per_device[d.device];
    ++n;
    b += static_cast<int64_t>(d.bytes);
  }
  VIGIL_STMT(sub, kSubtractCounts);
  for (const auto& [device, nb] : per_device) {
    sub.Bind(1, std::string_view(device));
    sub.Bind(2, nb.first);
    sub.Bind(3, nb.second);
    if (sub.Step() != SQLITE_DONE) return Error("retention: counters of device " + device);
    sub.Reset();
  }
  return Status::Ok();
}

Result<uint64_t> SqliteStore::RetentionPass(int64_t cutoff_ms, uint64_t max_bytes, bool by_age) {
  Transaction txn(db_, [this](const char* sql) { return Exec(sql); });
  VIGIL_RETURN_IF_ERROR(txn.Begin());
  std::vector<Doomed> doomed;
  if (by_age) {
    VIGIL_STMT(s, kOldestByAge);
    s.Bind(1, cutoff_ms);
    s.Bind(2, static_cast<int64_t>(kRetentionChunk));
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) doomed.push_back(Doomed{s.Int(0), s.Text(1), s.Uint(2)});
    if (rc != SQLITE_DONE) return Error("retention by age");
  } else {
    VIGIL_STMT(t, kTotalBytes);
    if (t.Step() != SQLITE_ROW) return Error("retention by size");
    uint64_t total = t.Uint(0);
    if (total <= max_bytes) return uint64_t{0};
    VIGIL_STMT(s, kOldest);
    s.Bind(1, static_cast<int64_t>(kRetentionChunk));
    int rc;
    while (total > max_bytes && (rc = s.Step()) == SQLITE_ROW) {
      doomed.push_back(Doomed{s.Int(0), s.Text(1), s.Uint(2)});
      total -= std::min(total, doomed.back().bytes);
    }
    if (total > max_bytes && rc != SQLITE_DONE) return Error("retention by size");
  }
  VIGIL_RETURN_IF_ERROR(DeleteRows(doomed));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return static_cast<uint64_t>(doomed.size());
}

Result<RetentionResult> SqliteStore::ApplyRetention(int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes) {
  std::lock_guard lock(mu_);
  RetentionResult result;
  if (max_age_ms > 0) {
    for (;;) {
      auto n = RetentionPass(now_ms - max_age_ms, 0, /*by_age=*/true);
      if (!n.ok()) return n.status();
      result.deleted_by_age += *n;
      if (*n < kRetentionChunk) break;
    }
  }
  if (max_bytes > 0) {
    for (;;) {
      auto n = RetentionPass(0, max_bytes, /*by_age=*/false);
      if (!n.ok()) return n.status();
      result.deleted_by_size += *n;
      if (*n == 0) break;
    }
  }
  return result;
}

Result<StoreStats> SqliteStore::Stats() {
  std::lock_guard lock(mu_);
  StoreStats stats;
  {
    VIGIL_STMT(s, kStats);
    if (s.Step() != SQLITE_ROW) return Error("stats");
    stats.events = s.Uint(0);
    stats.event_bytes = s.Uint(1);
    stats.devices = s.Uint(2);
  }
  int64_t pages = 0, page_size = 0;
  for (auto [pragma, out] : {std::pair{"PRAGMA page_count", &pages}, std::pair{"PRAGMA page_size", &page_size}}) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, pragma, -1, &raw, nullptr) != SQLITE_OK) return Error(pragma);
    Stmt s(raw);
    if (s.Step() != SQLITE_ROW) return Error(pragma);
    *out = s.Int(0);
  }
  stats.bytes = static_cast<uint64_t>(pages * page_size);
  return stats;
}

namespace {
constexpr const char* kSqlAdvisoryGet = "SELECT modified, body FROM vuln_advisories WHERE id = ?1";
constexpr const char* kSqlAdvisoryKeys = "SELECT ecosystem, package FROM vuln_affected WHERE advisory = ?1";
constexpr const char* kSqlAdvisoryUnkey = "DELETE FROM vuln_affected WHERE advisory = ?1";
constexpr const char* kSqlAdvisoryPut =
    "INSERT INTO vuln_advisories (id, source, modified, body) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (id) DO UPDATE SET source = excluded.source, modified = excluded.modified, body = excluded.body";
constexpr const char* kSqlAdvisoryKey =
    "INSERT INTO vuln_affected (ecosystem, package, advisory) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";
constexpr const char* kSqlAdvisoriesForKey =
    "SELECT a.id, a.source, a.modified, a.body FROM vuln_affected f JOIN vuln_advisories a ON a.id = f.advisory "
    "WHERE f.ecosystem = ?1 AND f.package = ?2";
constexpr const char* kSqlPackageColumns =
    "SELECT device, name, version, source, source_version, ecosystem FROM vuln_packages";
constexpr const char* kSqlPackagesOfKey =
    "SELECT device, name, version, source, source_version, ecosystem FROM vuln_packages "
    "WHERE ecosystem = ?1 AND source = ?2 AND (?3 = '' OR device = ?3)";
constexpr const char* kSqlPackagesClear = "DELETE FROM vuln_packages WHERE device = ?1";
constexpr const char* kSqlPackageAdd =
    "INSERT INTO vuln_packages (device, name, version, source, source_version, ecosystem) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";
constexpr const char* kSqlFindingsClear = "DELETE FROM vuln_findings WHERE device = ?1 AND package = ?2";
constexpr const char* kSqlFindingAdd =
    "INSERT INTO vuln_findings (device, package, version, advisory, source, source_version, ecosystem, status, "
    "fixed_version, severity, score, matched) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
    "ON CONFLICT (device, package, version, advisory) DO UPDATE SET source = excluded.source, "
    "source_version = excluded.source_version, ecosystem = excluded.ecosystem, status = excluded.status, "
    "fixed_version = excluded.fixed_version, severity = excluded.severity, score = excluded.score, "
    "matched = excluded.matched";
constexpr const char* kSqlFindingColumns =
    "SELECT device, package, version, source, source_version, ecosystem, advisory, status, fixed_version, severity, "
    "score, matched FROM vuln_findings";

template <typename S>
VulnPackageRow SqliteReadPackage(const S& s) {
  return VulnPackageRow{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)};
}
}  // namespace

Result<AdvisoryPutResult> SqliteStore::PutAdvisories(std::span<const AdvisoryRow> advisories) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, [this](const char* sql) { return Exec(sql); });
  VIGIL_RETURN_IF_ERROR(txn.Begin());
  AdvisoryPutResult result;
  VIGIL_STMT(get, kSqlAdvisoryGet);
  VIGIL_STMT(old_keys, kSqlAdvisoryKeys);
  VIGIL_STMT(unkey, kSqlAdvisoryUnkey);
  VIGIL_STMT(put, kSqlAdvisoryPut);
  VIGIL_STMT(key, kSqlAdvisoryKey);
  for (const AdvisoryRow& a : advisories) {
    get.Bind(1, std::string_view(a.id));
    int rc = get.Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Error("advisory " + a.id);
    bool stored = rc == SQLITE_ROW;
    std::string stored_modified = stored ? get.Text(0) : "";
    bool same_body = stored && get.Text(1) == a.body;
    get.Reset();
    if (stored && stored_modified > a.modified) {
      ++result.older;
      continue;
    }
    if (same_body) {
      ++result.unchanged;
      continue;
    }
    if (stored) {
      old_keys.Bind(1, std::string_view(a.id));
      while ((rc = old_keys.Step()) == SQLITE_ROW) result.changed_keys.push_back(VulnKey{old_keys.Text(0), old_keys.Text(1)});
      if (rc != SQLITE_DONE) return Error("keys of advisory " + a.id);
      old_keys.Reset();
      unkey.Bind(1, std::string_view(a.id));
      if (unkey.Step() != SQLITE_DONE) return Error("keys of advisory " + a.id);
      unkey.Reset();
      ++result.updated;
    } else {
      ++result.inserted;
    }
    put.Bind(1, std::string_view(a.id));
    put.Bind(2, std::string_view(a.source));
    put.Bind(3, std::string_view(a.modified));
    put.Bind(4, std::string_view(a.body));
    if (put.Step() != SQLITE_DONE) return Error("advisory " + a.id);
    put.Reset();
    for (const VulnKey& k : a.keys) {
      key.Bind(1, std::string_view(k.ecosystem));
      key.Bind(2, std::string_view(k.package));
      key.Bind(3, std::string_view(a.id));
      if (key.Step() != SQLITE_DONE) return Error("keys of advisory " + a.id);
      key.Reset();
      result.changed_keys.push_back(k);
    }
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  std::sort(result.changed_keys.begin(), result.changed_keys.end());
  result.changed_keys.erase(std::unique(result.changed_keys.begin(), result.changed_keys.end()),
                            result.changed_keys.end());
  return result;
}

Result<std::vector<AdvisoryRow>> SqliteStore::AdvisoriesFor(std::span<const VulnKey> keys) {
  std::lock_guard lock(mu_);
  std::map<std::string, AdvisoryRow> by_id;
  VIGIL_STMT(s, kSqlAdvisoriesForKey);
  for (const VulnKey& k : keys) {
    s.Bind(1, std::string_view(k.ecosystem));
    s.Bind(2, std::string_view(k.package));
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      std::string id = s.Text(0);
      if (by_id.contains(id)) continue;
      by_id.emplace(id, AdvisoryRow{id, s.Text(1), s.Text(2), s.Text(3), {}});
    }
    if (rc != SQLITE_DONE) return Error("advisories of " + k.ecosystem + " " + k.package);
    s.Reset();
  }
  std::vector<AdvisoryRow> out;
  out.reserve(by_id.size());
  for (auto& [id, row] : by_id) out.push_back(std::move(row));
  return out;
}

Result<std::vector<VulnPackageRow>> SqliteStore::VulnPackages(std::string_view device, std::span<const VulnKey> keys) {
  std::lock_guard lock(mu_);
  std::vector<VulnPackageRow> rows;
  if (keys.empty()) {
    std::string sql = std::string(kSqlPackageColumns) + (device.empty() ? "" : " WHERE device = ?1") +
                      " ORDER BY device, name, version";
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      sqlite3_finalize(raw);
      return Error("packages");
    }
    Stmt s(raw);
    if (!device.empty()) s.Bind(1, device);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) rows.push_back(SqliteReadPackage(s));
    if (rc != SQLITE_DONE) return Error("packages");
    return rows;
  }
  VIGIL_STMT(s, kSqlPackagesOfKey);
  for (const VulnKey& k : keys) {
    s.Bind(1, std::string_view(k.ecosystem));
    s.Bind(2, std::string_view(k.package));
    s.Bind(3, device);
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) rows.push_back(SqliteReadPackage(s));
    if (rc != SQLITE_DONE) return Error("packages of " + k.ecosystem + " " + k.package);
    s.Reset();
  }
  std::sort(rows.begin(), rows.end(), [](const VulnPackageRow& a, const VulnPackageRow& b) {
    return std::tie(a.device, a.name, a.version) < std::tie(b.device, b.name, b.version);
  });
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

Status SqliteStore::UpdateVulns(const VulnUpdate& u) {
  std::lock_guard lock(mu_);
  Transaction txn(db_, [this](const char* sql) { return Exec(sql); });
  VIGIL_RETURN_IF_ERROR(txn.Begin());
  if (u.replace_packages) {
    VIGIL_STMT(clear, kSqlPackagesClear);
    clear.Bind(1, std::string_view(u.device));
    if (clear.Step() != SQLITE_DONE) return Error("packages of device " + u.device);
    VIGIL_STMT(add, kSqlPackageAdd);
    for (const VulnPackageRow& p : u.packages) {
      add.Bind(1, std::string_view(u.device));
      add.Bind(2, std::string_view(p.name));
      add.Bind(3, std::string_view(p.version));
      add.Bind(4, std::string_view(p.source));
      add.Bind(5, std::string_view(p.source_version));
      add.Bind(6, std::string_view(p.ecosystem));
      if (add.Step() != SQLITE_DONE) return Error("package " + p.name + " of device " + u.device);
      add.Reset();
    }
  }
  VIGIL_STMT(clear_findings, kSqlFindingsClear);
  for (const std::string& name : u.rematched) {
    clear_findings.Bind(1, std::string_view(u.device));
    clear_findings.Bind(2, std::string_view(name));
    if (clear_findings.Step() != SQLITE_DONE) return Error("findings of device " + u.device);
    clear_findings.Reset();
  }
  VIGIL_STMT(add_finding, kSqlFindingAdd);
  for (const VulnFindingRow& f : u.findings) {
    add_finding.Bind(1, std::string_view(u.device));
    add_finding.Bind(2, std::string_view(f.package));
    add_finding.Bind(3, std::string_view(f.version));
    add_finding.Bind(4, std::string_view(f.advisory));
    add_finding.Bind(5, std::string_view(f.source));
    add_finding.Bind(6, std::string_view(f.source_version));
    add_finding.Bind(7, std::string_view(f.ecosystem));
    add_finding.Bind(8, std::string_view(f.status));
    add_finding.Bind(9, std::string_view(f.fixed_version));
    add_finding.Bind(10, std::string_view(f.severity));
    add_finding.Bind(11, f.score);
    add_finding.Bind(12, f.matched_ms);
    if (add_finding.Step() != SQLITE_DONE) return Error("finding " + f.advisory + " of device " + u.device);
    add_finding.Reset();
  }
  return txn.Commit();
}

Result<std::vector<VulnFindingRow>> SqliteStore::VulnFindings(const VulnFindingQuery& q) {
  std::string sql = kSqlFindingColumns;
  std::vector<std::string_view> params;
  auto add = [&](const char* cond, const std::optional<std::string>& value) {
    if (!value) return;
    sql += params.empty() ? " WHERE " : " AND ";
    params.emplace_back(*value);
    sql += cond + std::to_string(params.size());
  };
  add("device = ?", q.device);
  add("status = ?", q.status);
  add("advisory = ?", q.advisory);
  sql += " ORDER BY device, package, version, advisory";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return Error("findings");
  }
  Stmt s(raw);
  for (size_t i = 0; i < params.size(); ++i) s.Bind(static_cast<int>(i + 1), params[i]);
  std::vector<VulnFindingRow> rows;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    VulnFindingRow f;
    f.device = s.Text(0);
    f.package = s.Text(1);
    f.version = s.Text(2);
    f.source = s.Text(3);
    f.source_version = s.Text(4);
    f.ecosystem = s.Text(5);
    f.advisory = s.Text(6);
    f.status = s.Text(7);
    f.fixed_version = s.Text(8);
    f.severity = s.Text(9);
    f.score = s.Real(10);
    f.matched_ms = s.Int(11);
    rows.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return Error("findings");
  return rows;
}

Result<std::vector<PostureRow>> SqliteStore::Postures(std::optional<std::string_view> device) {
  std::lock_guard lock(mu_);
  auto read = [this](Stmt& s, std::string_view what) -> Result<std::vector<PostureRow>> {
    std::vector<PostureRow> rows;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) rows.push_back(PostureRow{s.Text(0), s.Int(1), s.Uint(2), s.JsonAt(3)});
    if (rc != SQLITE_DONE) return Error(what);
    return rows;
  };
  if (device) {
    VIGIL_STMT(s, kOnePosture);
    s.Bind(1, *device);
    return read(s, "posture of device " + std::string(*device));
  }
  VIGIL_STMT(s, kAllPostures);
  return read(s, "postures");
}

#undef VIGIL_STMT

}  // namespace vigil::hub
