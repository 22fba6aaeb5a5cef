// The PostgreSQL backend of the Store (store.h), over libpq, for fleets that outgrow one
// machine: several hub processes may share one database.
//
// Connection and threads: one PGconn per PostgresStore, guarded by one std::mutex that every
// public method holds for its whole call, so a PostgresStore may be called from any number of
// threads; calls run one at a time (a hub that needs more parallelism opens more stores).
// When a call fails and the connection is broken (PQstatus CONNECTION_BAD: the server
// restarted, the backend was terminated), the store resets the connection once, prepares its
// statements again and repeats the call; a call that fails again returns the error. Repeating
// is safe: every call is one transaction, and Ingest is idempotent.
//
// Schema: versioned in the table vigil_schema (one row, the version); Open applies the missing
// migrations in one transaction under a transaction-scoped advisory lock, so hubs started
// together migrate once. Text columns are COLLATE "C", so comparisons and ORDER BY are bytewise
// like SQLite's BINARY collation; body is JSONB (Search returns its JSONB rendering: the same
// JSON value as was sent, with keys reordered and spaces after ':' and ','). The events' size
// that retention counts is octet_length(body::text) here.
//
// Ingest: one transaction per call; each batch is one prepared multi-row
// `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (device, seq) DO NOTHING RETURNING seq`,
// the returned rows telling inserted from duplicate; the device row is updated once per batch.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "hub/store/store.h"

struct pg_conn;

namespace vigil::hub {

class PostgresStore final : public Store {
 public:
  // Connects to a libpq URI (postgresql://... or postgres://...) and migrates the schema.
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }
  std::string Describe() const override;

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

  // The backend process id of the current connection (for tests that break the connection).
  int BackendPid();

 private:
  class Conn;

  PostgresStore(std::string url, std::unique_ptr<Conn> conn);

  // Runs `call` (one whole transaction or statement); when it fails on a broken connection,
  // resets the connection once and runs it again.
  template <typename F>
  auto WithReconnect(F&& call) -> decltype(call());

  Result<std::vector<DeviceRow>> LoadDevices(std::string_view only_id);
  Result<IngestResult> IngestOnce(std::span<const BatchRows> batches, int64_t now_ms);
  // Inserts one alert (skipped when its (device, seq) is stored) in the open transaction;
  // returns its id (0 when skipped).
  Result<int64_t> InsertAlert(const AlertRow& alert, int64_t now_ms);
  Result<uint64_t> RetentionPass(int64_t cutoff_ms, uint64_t max_bytes, bool by_age);

  const std::string url_;
  std::mutex mu_;
  std::unique_ptr<Conn> conn_;
};

}  // namespace vigil::hub
