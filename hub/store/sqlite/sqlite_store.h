// The SQLite backend of the Store (store.h): one database file in WAL mode, the hub's default.
//
// Connection and threads: one sqlite3 connection, opened with SQLITE_OPEN_FULLMUTEX off
// (SQLITE_OPEN_NOMUTEX) and guarded by one std::mutex that every public method holds for its
// whole call, so a SqliteStore may be called from any number of threads; calls run one at a
// time. Other processes may open the same file (a CLI, a backup): the busy timeout (5 s) waits
// for their locks.
//
// Settings: journal_mode=WAL, synchronous=NORMAL (a power cut may lose the last transactions
// but never corrupts the file; devices resend what the hub did not acknowledge), busy_timeout
// 5000 ms, a 64 MiB page cache. No foreign keys: every table's rows are keyed by device id and
// written in the same transactions, so referential checks would only cost ingest time.
//
// Schema: versioned with PRAGMA user_version; Open applies the migrations the file lacks, each
// in its own transaction. Tables and indexes are written out in README.md.
//
// Ingest: one IMMEDIATE transaction per call; rows go through one prepared
// `INSERT ... ON CONFLICT(device, seq) DO NOTHING`, sqlite3_changes() telling inserted from
// duplicate; the device row is updated once per batch. A seq above 2^63-1 does not fit the
// column: the schema's CHECK rejects it and the whole call fails.
//
// Checkpoints: a thread of the store's own, with a second connection, copies the WAL into the
// database file (PASSIVE, or RESTART when the log passes 64 MiB so that it cannot grow without
// bound). The writer checkpoints only if that thread falls behind: a log past limit_pages
// (256 MiB) is restarted by the commit that found it. Closing the store checkpoints what is left.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "hub/store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace vigil::hub {

class SqliteStore final : public Store {
 public:
  struct Options {
    int checkpoint_pages = 1000;  // the WAL length that wakes the checkpoint thread
    int restart_pages = 16384;    // the WAL length past which the checkpoint is RESTART (64 MiB)
    int limit_pages = 65536;      // the WAL length past which the writer itself restarts it (256 MiB)
  };
  // Opens or creates the file at `path` (its directory must exist) and migrates its schema.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, Options options);
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path) { return Open(path, Options{}); }
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Checkpoints run by the checkpoint thread (PASSIVE ones and RESTART ones), and those the
  // writer had to run itself because the log passed limit_pages.
  struct CheckpointStats {
    uint64_t passive = 0;
    uint64_t restart = 0;
    uint64_t forced = 0;
  };
  CheckpointStats checkpoint_stats() const;

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }
  std::string Describe() const override { return "sqlite:" + path_; }

  Result<IngestResult> Ingest(std::span<const BatchRows> batches, int64_t now_ms) override;
  Status AddDevice(std::string_view id, std::string_view group, int64_t now_ms) override;
  Status SetDeviceState(std::string_view id, DeviceState state, std::string_view agent_version,
                        int64_t now_ms) override;
  Status SetDeviceGroup(std::string_view id, std::string_view group) override;
  Status SetRevoked(std::string_view id, bool revoked) override;
  Result<std::vector<std::string>> MarkSilent(int64_t now_ms, int64_t silent_after_ms) override;
  Result<std::vector<DeviceRow>> Devices() override;
  Result<std::optional<DeviceRow>> Device(std::string_view id) override;
  Result<std::vector<SeqGap>> Gaps(std::string_view device, size_t limit) override;
  Result<std::vector<EventRow>> Search(const EventQuery& query) override;
  Result<uint64_t> Count(const EventQuery& query) override;
  Status SetDesired(const DesiredConfig& desired) override;
  Result<std::optional<DesiredConfig>> EffectiveDesired(std::string_view device) override;
  Result<std::vector<DesiredConfig>> DesiredConfigs() override;
  Status SetReported(std::string_view device, const Json& reported, int64_t now_ms) override;
  Result<RetentionResult> ApplyRetention(int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes) override;
  Result<StoreStats> Stats() override;
  Result<std::vector<int64_t>> AddAlerts(std::span<const AlertRow> alerts, int64_t now_ms) override;
  Result<std::vector<AlertRow>> Alerts(const AlertQuery& query) override;
  Result<std::optional<AlertRow>> Alert(int64_t id) override;
  Status SetAlertStatus(int64_t id, std::string_view status, std::string_view by, std::string_view note,
                        int64_t now_ms) override;
  Result<AdvisoryPutResult> PutAdvisories(std::span<const AdvisoryRow> advisories) override;
  Result<std::vector<AdvisoryRow>> AdvisoriesFor(std::span<const VulnKey> keys) override;
  Result<std::vector<VulnPackageRow>> VulnPackages(std::string_view device, std::span<const VulnKey> keys) override;
  Status UpdateVulns(const VulnUpdate& update) override;
  Result<std::vector<VulnFindingRow>> VulnFindings(const VulnFindingQuery& query) override;
  Result<std::vector<PostureRow>> Postures(std::optional<std::string_view> device) override;

 private:
  class Stmt;
  struct Statements;
  class Checkpointer;

  SqliteStore(std::string path, sqlite3* db);
  Status Init(const Options& options);
  Status Exec(const char* sql);
  Status Error(std::string_view what) const;
  // Inserts one alert (skipped when its (device, seq) is stored); in the caller's transaction.
  Status InsertAlert(const AlertRow& alert, int64_t now_ms);
  Result<std::vector<DeviceRow>> LoadDevices(std::string_view only_id);
  // Deletes `rows` (rowid, device, bytes) and fixes the touched devices' counters; in the open
  // transaction.
  struct Doomed;
  Status DeleteRows(const std::vector<Doomed>& rows);
  Result<uint64_t> RetentionPass(int64_t cutoff_ms, uint64_t max_bytes, bool by_age);

  const std::string path_;
  std::mutex mu_;
  sqlite3* db_;
  std::unique_ptr<Statements> stmts_;
  std::unique_ptr<Checkpointer> checkpointer_;
};

}  // namespace vigil::hub
