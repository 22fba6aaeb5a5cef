#include "hub/store/postgres/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "hub/store/store_internal.h"

namespace vigil::hub {
namespace {

using store_internal::BatchTally;
using store_internal::kRetentionChunk;

constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
constexpr Oid kFloat8Oid = 701;

// Each entry moves the schema from version i to i + 1 (the row of vigil_schema).
constexpr const char* kMigrations[] = {
    // 1: events, devices, system_info, desired.
    R"sql(
CREATE TABLE events (
  device   TEXT COLLATE "C" NOT NULL,
  seq      BIGINT NOT NULL CHECK (seq >= 0),
  ts       BIGINT NOT NULL,
  type     TEXT COLLATE "C" NOT NULL,
  action   TEXT COLLATE "C" NOT NULL,
  priority TEXT COLLATE "C" NOT NULL,
  count    BIGINT NOT NULL,
  received BIGINT NOT NULL,
  body     JSONB NOT NULL,
  PRIMARY KEY (device, seq)
);
CREATE INDEX events_device_ts ON events (device, ts, seq);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_type_ts ON events (type, ts);
CREATE TABLE devices (
  id            TEXT COLLATE "C" PRIMARY KEY,
  state         TEXT COLLATE "C" NOT NULL DEFAULT 'never',
  group_name    TEXT COLLATE "C" NOT NULL DEFAULT '',
  agent_version TEXT COLLATE "C" NOT NULL DEFAULT '',
  created       BIGINT NOT NULL DEFAULT 0,
  first_seen    BIGINT NOT NULL DEFAULT 0,
  last_seen     BIGINT NOT NULL DEFAULT 0,
  last_event    BIGINT NOT NULL DEFAULT 0,
  events        BIGINT NOT NULL DEFAULT 0,
  bytes         BIGINT NOT NULL DEFAULT 0,
  min_seq       BIGINT NOT NULL DEFAULT 0,
  max_seq       BIGINT NOT NULL DEFAULT 0,
  revoked       BOOLEAN NOT NULL DEFAULT false,
  reported      JSONB,
  reported_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_group ON devices (group_name);
CREATE TABLE system_info (
  device TEXT COLLATE "C" PRIMARY KEY,
  ts     BIGINT NOT NULL,
  seq    BIGINT NOT NULL,
  data   JSONB NOT NULL
);
CREATE TABLE desired (
  scope   TEXT COLLATE "C" NOT NULL,
  name    TEXT COLLATE "C" NOT NULL,
  version TEXT COLLATE "C" NOT NULL,
  config  JSONB NOT NULL,
  updated BIGINT NOT NULL,
  PRIMARY KEY (scope, name)
);
)sql",
    // 2: alerts (from devices and from the hub's analyzer), with their status.
    R"sql(
CREATE TABLE alerts (
  id        BIGSERIAL PRIMARY KEY,
  device    TEXT COLLATE "C" NOT NULL,
  seq       BIGINT,
  origin    TEXT COLLATE "C" NOT NULL,
  ts        BIGINT NOT NULL,
  rule_id   TEXT COLLATE "C" NOT NULL,
  title     TEXT NOT NULL,
  level     TEXT COLLATE "C" NOT NULL,
  status    TEXT COLLATE "C" NOT NULL DEFAULT 'new',
  status_at BIGINT NOT NULL DEFAULT 0,
  status_by TEXT NOT NULL DEFAULT '',
  note      TEXT NOT NULL DEFAULT '',
  body      JSONB NOT NULL
);
CREATE UNIQUE INDEX alerts_device_seq ON alerts (device, seq);
CREATE INDEX alerts_ts ON alerts (ts, id);
CREATE INDEX alerts_status_ts ON alerts (status, ts);
)sql",
    // 3: vulnerabilities: advisories, the (ecosystem, source package) keys they name, each
    // device's packages, and the findings matched for them. Bodies are TEXT, not JSONB: a
    // re-import compares them as text.
    R"sql(
CREATE TABLE vuln_advisories (
  id       TEXT COLLATE "C" PRIMARY KEY,
  source   TEXT COLLATE "C" NOT NULL,
  modified TEXT COLLATE "C" NOT NULL,
  body     TEXT NOT NULL
);
CREATE TABLE vuln_affected (
  ecosystem TEXT COLLATE "C" NOT NULL,
  package   TEXT COLLATE "C" NOT NULL,
  advisory  TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (ecosystem, package, advisory)
);
CREATE INDEX vuln_affected_advisory ON vuln_affected (advisory);
CREATE TABLE vuln_packages (
  device         TEXT COLLATE "C" NOT NULL,
  name           TEXT COLLATE "C" NOT NULL,
  version        TEXT COLLATE "C" NOT NULL,
  source         TEXT COLLATE "C" NOT NULL,
  source_version TEXT COLLATE "C" NOT NULL,
  ecosystem      TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (device, name, version)
);
CREATE INDEX vuln_packages_key ON vuln_packages (ecosystem, source);
CREATE TABLE vuln_findings (
  device         TEXT COLLATE "C" NOT NULL,
  package        TEXT COLLATE "C" NOT NULL,
  version        TEXT COLLATE "C" NOT NULL,
  advisory       TEXT COLLATE "C" NOT NULL,
  source         TEXT COLLATE "C" NOT NULL,
  source_version TEXT COLLATE "C" NOT NULL,
  ecosystem      TEXT COLLATE "C" NOT NULL,
  status         TEXT COLLATE "C" NOT NULL,
  fixed_version  TEXT COLLATE "C" NOT NULL,
  severity       TEXT COLLATE "C" NOT NULL,
  score          DOUBLE PRECISION NOT NULL,
  matched        BIGINT NOT NULL,
  PRIMARY KEY (device, package, version, advisory)
);
CREATE INDEX vuln_findings_advisory ON vuln_findings (advisory);
)sql",
    // 4: posture: each device's newest posture scan (the data of its newest event of type
    // posture), kept like system_info.
    R"sql(
CREATE TABLE posture (
  device TEXT COLLATE "C" PRIMARY KEY,
  ts     BIGINT NOT NULL,
  seq    BIGINT NOT NULL,
  data   JSONB NOT NULL
);
)sql",
};

constexpr int64_t kSchemaLockKey = 0x76696769'6c687562;  // "viglhub"

struct Statement {
  const char* name;
  const char* sql;
};

// Prepared on every connection (and again after a reset).
constexpr Statement kInsertEvents{"vigil_insert_events",
                                  "INSERT INTO events (device, seq, ts, type, action, priority, count, received, body) "
                                  "SELECT $1::text, u.seq, u.ts, u.type, u.action, u.priority, u.count, $2::bigint, "
                                  "u.body::jsonb FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], "
                                  "$7::text[], $8::bigint[], $9::text[]) AS u(seq, ts, type, action, priority, count, "
                                  "body) ON CONFLICT (device, seq) DO NOTHING RETURNING seq, octet_length(body::text)"};
constexpr Statement kTouchDevice{
    "vigil_touch_device",
    "INSERT INTO devices (id, state, created, first_seen, last_seen) VALUES ($1::text, 'online', $2::bigint, "
    "$2::bigint, $2::bigint) ON CONFLICT (id) DO UPDATE SET "
    "state = CASE WHEN devices.state IN ('never', 'silent') THEN 'online' ELSE devices.state END, "
    "first_seen = CASE WHEN devices.first_seen = 0 THEN excluded.first_seen ELSE devices.first_seen END, "
    "last_seen = GREATEST(devices.last_seen, excluded.last_seen)"};
constexpr Statement kAddCounts{
    "vigil_add_counts",
    "UPDATE devices SET "
    "min_seq = CASE WHEN events = 0 THEN $2::bigint ELSE LEAST(min_seq, $2::bigint) END, "
    "max_seq = CASE WHEN events = 0 THEN $3::bigint ELSE GREATEST(max_seq, $3::bigint) END, "
    "events = events + $4::bigint, bytes = bytes + $5::bigint, last_event = GREATEST(last_event, $6::bigint) "
    "WHERE id = $1::text"};
constexpr Statement kUpsertSystemInfo{
    "vigil_upsert_system_info",
    "INSERT INTO system_info (device, ts, seq, data) VALUES ($1::text, $2::bigint, $3::bigint, $4::jsonb) "
    "ON CONFLICT (device) DO UPDATE SET ts = excluded.ts, seq = excluded.seq, data = excluded.data "
    "WHERE excluded.ts > system_info.ts"};
constexpr Statement kUpsertPosture{
    "vigil_upsert_posture",
    "INSERT INTO posture (device, ts, seq, data) VALUES ($1::text, $2::bigint, $3::bigint, $4::jsonb) "
    "ON CONFLICT (device) DO UPDATE SET ts = excluded.ts, seq = excluded.seq, data = excluded.data "
    "WHERE excluded.ts > posture.ts OR (excluded.ts = posture.ts AND excluded.seq > posture.seq)"};
constexpr Statement kAllPostures{"vigil_all_postures",
                                 "SELECT device, ts, seq, data::text FROM posture ORDER BY device"};
constexpr Statement kOnePosture{"vigil_one_posture",
                                "SELECT device, ts, seq, data::text FROM posture WHERE device = $1::text"};
constexpr Statement kAddDevice{"vigil_add_device",
                               "INSERT INTO devices (id, group_name, created) VALUES ($1::text, $2::text, $3::bigint) "
                               "ON CONFLICT (id) DO UPDATE SET group_name = CASE WHEN excluded.group_name <> '' "
                               "THEN excluded.group_name ELSE devices.group_name END"};
constexpr Statement kSetState{
    "vigil_set_state",
    "INSERT INTO devices (id, state, agent_version, created, first_seen, last_seen) "
    "VALUES ($1::text, $2::text, $3::text, $4::bigint, $4::bigint, $4::bigint) ON CONFLICT (id) DO UPDATE SET "
    "state = excluded.state, agent_version = CASE WHEN excluded.agent_version <> '' THEN excluded.agent_version "
    "ELSE devices.agent_version END, "
    "first_seen = CASE WHEN devices.first_seen = 0 THEN excluded.first_seen ELSE devices.first_seen END, "
    "last_seen = GREATEST(devices.last_seen, excluded.last_seen)"};
constexpr Statement kSetGroup{"vigil_set_group", "UPDATE devices SET group_name = $2::text WHERE id = $1::text"};
constexpr Statement kSetRevoked{"vigil_set_revoked", "UPDATE devices SET revoked = $2::boolean WHERE id = $1::text"};
constexpr Statement kMarkSilent{"vigil_mark_silent",
                                "UPDATE devices SET state = 'silent' WHERE state IN ('online', 'offline') "
                                "AND last_seen < $1::bigint RETURNING id"};
#define VIGIL_PG_DEVICE_COLUMNS                                                                                \
  "SELECT d.id, d.state, d.group_name, d.agent_version, d.first_seen, d.last_seen, d.last_event, d.events, "   \
  "d.min_seq, d.max_seq, d.revoked, s.data::text, d.reported::text FROM devices d LEFT JOIN system_info s ON " \
  "s.device = d.id "
constexpr Statement kAllDevices{"vigil_all_devices", VIGIL_PG_DEVICE_COLUMNS "ORDER BY d.id"};
constexpr Statement kOneDevice{"vigil_one_device", VIGIL_PG_DEVICE_COLUMNS "WHERE d.id = $1::text"};
#undef VIGIL_PG_DEVICE_COLUMNS
constexpr Statement kGaps{"vigil_gaps",
                          "SELECT prev + 1, seq - 1 FROM (SELECT seq, LAG(seq) OVER (ORDER BY seq) AS prev "
                          "FROM events WHERE device = $1::text) AS w WHERE seq > prev + 1 ORDER BY seq "
                          "LIMIT $2::bigint"};
constexpr Statement kSetDesired{
    "vigil_set_desired",
    "INSERT INTO desired (scope, name, version, config, updated) VALUES ($1::text, $2::text, $3::text, $4::jsonb, "
    "$5::bigint) ON CONFLICT (scope, name) DO UPDATE SET version = excluded.version, config = excluded.config, "
    "updated = excluded.updated"};
constexpr Statement kEffectiveDesired{
    "vigil_effective_desired",
    "SELECT scope, name, version, config::text, updated FROM desired WHERE (scope = 'device' AND name = $1::text) "
    "OR (scope = 'group' AND name = (SELECT group_name FROM devices WHERE id = $1::text AND group_name <> '')) "
    "ORDER BY CASE scope WHEN 'device' THEN 0 ELSE 1 END LIMIT 1"};
constexpr Statement kAllDesired{"vigil_all_desired",
                                "SELECT scope, name, version, config::text, updated FROM desired ORDER BY scope, name"};
constexpr Statement kSetReported{
    "vigil_set_reported",
    "INSERT INTO devices (id, reported, reported_at, created) VALUES ($1::text, $2::jsonb, $3::bigint, $3::bigint) "
    "ON CONFLICT (id) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at"};
constexpr Statement kOldestByAge{"vigil_oldest_by_age",
                                 "SELECT device, seq FROM events WHERE ts < $1::bigint ORDER BY ts, device, seq "
                                 "LIMIT $2::bigint"};
constexpr Statement kOldest{"vigil_oldest",
                            "SELECT device, seq, octet_length(body::text) FROM events ORDER BY ts, device, seq "
                            "LIMIT $1::bigint"};
constexpr Statement kTotalBytes{"vigil_total_bytes", "SELECT coalesce(sum(bytes), 0) FROM devices"};
constexpr Statement kDeleteRows{"vigil_delete_rows",
                                "DELETE FROM events e USING unnest($1::text[], $2::bigint[]) AS d(device, seq) "
                                "WHERE e.device = d.device AND e.seq = d.seq RETURNING e.device, "
                                "octet_length(e.body::text)"};
constexpr Statement kSubtractCounts{
    "vigil_subtract_counts",
    "UPDATE devices SET events = events - $2::bigint, bytes = bytes - $3::bigint, "
    "min_seq = coalesce((SELECT min(seq) FROM events WHERE device = $1::text), 0), "
    "max_seq = coalesce((SELECT max(seq) FROM events WHERE device = $1::text), 0) WHERE id = $1::text"};
constexpr Statement kStats{
    "vigil_stats",
    "SELECT coalesce(sum(events), 0), coalesce(sum(bytes), 0), count(*), pg_total_relation_size('events') + "
    "pg_total_relation_size('devices') + pg_total_relation_size('system_info') + pg_total_relation_size('desired') "
    "+ pg_total_relation_size('alerts') + pg_total_relation_size('posture') FROM devices"};

constexpr Statement kInsertAlert{
    "vigil_insert_alert",
    "INSERT INTO alerts (device, seq, origin, ts, rule_id, title, level, status, status_at, body) VALUES ($1::text, "
    "$2::bigint, $3::text, $4::bigint, $5::text, $6::text, $7::text, 'new', $8::bigint, $9::jsonb) "
    "ON CONFLICT (device, seq) DO NOTHING RETURNING id"};
#define VIGIL_PG_ALERT_COLUMNS                                                                                      \
  "SELECT id, device, seq, origin, ts, rule_id, title, level, status, status_at, status_by, note, body::text FROM " \
  "alerts"
constexpr const char* kAlertColumns = VIGIL_PG_ALERT_COLUMNS;
constexpr Statement kOneAlert{"vigil_one_alert", VIGIL_PG_ALERT_COLUMNS " WHERE id = $1::bigint"};
#undef VIGIL_PG_ALERT_COLUMNS
constexpr Statement kSetAlertStatus{
    "vigil_set_alert_status",
    "UPDATE alerts SET status = $2::text, status_at = $3::bigint, status_by = $4::text, "
    "note = $5::text WHERE id = $1::bigint"};

constexpr const Statement* kStatements[] = {
    &kInsertEvents, &kTouchDevice, &kAddCounts,   &kUpsertSystemInfo, &kAddDevice,  &kSetState,   &kSetGroup,
    &kSetRevoked,   &kMarkSilent,  &kAllDevices,  &kOneDevice,        &kGaps,       &kSetDesired, &kEffectiveDesired,
    &kAllDesired,   &kSetReported, &kOldestByAge, &kOldest,           &kTotalBytes, &kDeleteRows, &kSubtractCounts,
    &kStats,        &kInsertAlert, &kOneAlert,    &kSetAlertStatus,   &kUpsertPosture, &kAllPostures, &kOnePosture,
};

std::string DumpJson(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json ParseJson(const char* text) {
  if (text == nullptr || *text == '\0') return Json();
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Text-format parameters for one statement.
class Params {
 public:
  Params& Add(std::string v, Oid type = kTextOid) {
    values_.push_back(std::move(v));
    types_.push_back(type);
    return *this;
  }
  Params& Add(std::string_view v) { return Add(std::string(v)); }
  Params& Add(const char* v) { return Add(std::string(v)); }
  Params& Add(int64_t v) { return Add(std::to_string(v), kInt8Oid); }
  Params& Add(uint64_t v) { return Add(static_cast<int64_t>(v)); }
  Params& Add(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return Add(std::string(buf), kFloat8Oid);
  }
  Params& Add(bool v) { return Add(std::string(v ? "true" : "false")); }
  Params& AddNull(Oid type = kInt8Oid) {
    values_.emplace_back();
    types_.push_back(type);
    nulls_.push_back(values_.size() - 1);
    return *this;
  }
  int size() const { return static_cast<int>(values_.size()); }
  const Oid* types() const { return types_.data(); }
  std::vector<const char*> Pointers() const {
    std::vector<const char*> p;
    p.reserve(values_.size());
    for (const std::string& v : values_) p.push_back(v.c_str());
    for (size_t i : nulls_) p[i] = nullptr;
    return p;
  }

 private:
  std::vector<std::string> values_;
  std::vector<Oid> types_;
  std::vector<size_t> nulls_;  // indexes of NULL parameters
};

// Appends one element of a text-format array literal: "..." with '"' and '\' escaped.
void AppendArrayText(std::string& out, std::string_view s) {
  out += out.size() > 1 ? ",\"" : "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void AppendArrayInt(std::string& out, int64_t v) {
  if (out.size() > 1) out += ',';
  out += std::to_string(v);
}

int64_t Int(const PGresult* r, int row, int col) {
  const char* v = PQgetvalue(r, row, col);
  int64_t out = 0;
  std::from_chars(v, v + std::char_traits<char>::length(v), out);
  return out;
}
uint64_t Uint(const PGresult* r, int row, int col) { return static_cast<uint64_t>(Int(r, row, col)); }
std::string Text(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), PQgetlength(r, row, col));
}

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace

// One libpq connection and its prepared statements.
class PostgresStore::Conn {
 public:
  explicit Conn(PGconn* c) : c_(c) {}
  ~Conn() { PQfinish(c_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  PGconn* get() const { return c_; }
  bool broken() const { return PQstatus(c_) == CONNECTION_BAD; }

  Status Error(std::string_view what, const PGresult* r) const {
    std::string msg(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (msg.empty()) msg = PQerrorMessage(c_);
    msg = std::string(what) + ": " + msg;
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    // Class 22 (data exception) and 23 (integrity constraint violation): the input is wrong.
    if (state && (std::string_view(state).starts_with("22") || std::string_view(state).starts_with("23"))) {
      return Status::InvalidArgument(std::move(msg));
    }
    if (broken()) return Status::Unavailable(std::move(msg));
    return Status::IoError(std::move(msg));
  }

  static bool Succeeded(const PGresult* r) {
    ExecStatusType st = PQresultStatus(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  }

  Result<PgResult> Run(const Statement& s, const Params& p, std::string_view what) {
    auto ptrs = p.Pointers();
    PgResult r(PQexecPrepared(c_, s.name, p.size(), ptrs.data(), nullptr, nullptr, 0));
    if (!Succeeded(r.get())) return Error(what, r.get());
    return r;
  }

  Result<PgResult> RunSql(const std::string& sql, const Params& p, std::string_view what) {
    auto ptrs = p.Pointers();
    PgResult r(PQexecParams(c_, sql.c_str(), p.size(), p.types(), ptrs.data(), nullptr, nullptr, 0));
    if (!Succeeded(r.get())) return Error(what, r.get());
    return r;
  }

  Status Simple(const char* sql) {
    PgResult r(PQexec(c_, sql));
    if (!Succeeded(r.get())) return Error(sql, r.get());
    return Status::Ok();
  }

  Status PrepareAll() {
    for (const Statement* s : kStatements) {
      PgResult r(PQprepare(c_, s->name, s->sql, 0, nullptr));
      if (!Succeeded(r.get())) return Error(std::string("prepare ") + s->name, r.get());
    }
    return Status::Ok();
  }

 private:
  PGconn* c_;
};

namespace {

// Rolls back the open transaction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(PostgresStore* /*unused*/, PGconn* c) : c_(c) {}
  ~Transaction() {
    if (open_ && PQstatus(c_) == CONNECTION_OK) PQclear(PQexec(c_, "ROLLBACK"));
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Begin(const std::function<Status(const char*)>& exec) {
    Status s = exec("BEGIN");
    open_ = s.ok();
    return s;
  }
  Status Commit(const std::function<Status(const char*)>& exec) {
    Status s = exec("COMMIT");
    open_ = false;  // a failed COMMIT ends the transaction too
    return s;
  }

 private:
  PGconn* c_;
  bool open_ = false;
};

}  // namespace

PostgresStore::PostgresStore(std::string url, std::unique_ptr<Conn> conn)
    : url_(std::move(url)), conn_(std::move(conn)) {}

PostgresStore::~PostgresStore() = default;

std::string PostgresStore::Describe() const { return store_internal::RedactUrl(url_); }

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url) {
  PGconn* raw = PQconnectdb(url.c_str());
  if (raw == nullptr) return Status::Internal("libpq: out of memory");
  auto conn = std::make_unique<Conn>(raw);
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(raw);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status::Unavailable("cannot connect: " + msg);
  }
  PQsetNoticeProcessor(
      raw, [](void*, const char*) {}, nullptr);
  // Migrations, once, whoever else is starting.
  {
    auto exec = [&](const char* sql) { return conn->Simple(sql); };
    Transaction txn(nullptr, raw);
    VIGIL_RETURN_IF_ERROR(txn.Begin(exec));
    VIGIL_RETURN_IF_ERROR(
        conn->Simple(("SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLockKey) + ")").c_str()));
    VIGIL_RETURN_IF_ERROR(conn->Simple("CREATE TABLE IF NOT EXISTS vigil_schema (version INTEGER NOT NULL)"));
    auto v = conn->RunSql("SELECT coalesce(max(version), 0) FROM vigil_schema", Params(), "schema version");
    if (!v.ok()) return v.status();
    int64_t version = Int(v->get(), 0, 0);
    constexpr int64_t kLatest = std::size(kMigrations);
    if (version > kLatest) {
      return Status::InvalidArgument("schema version " + std::to_string(version) + " is newer than this hub's (" +
                                     std::to_string(kLatest) + ")");
    }
    for (int64_t i = version; i < kLatest; ++i) {
      Status s = conn->Simple(kMigrations[i]);
      if (!s.ok()) return s.WithContext("migrating to schema version " + std::to_string(i + 1));
    }
    if (version < kLatest) {
      VIGIL_RETURN_IF_ERROR(conn->Simple("DELETE FROM vigil_schema"));
      VIGIL_RETURN_IF_ERROR(
          conn->Simple(("INSERT INTO vigil_schema VALUES (" + std::to_string(kLatest) + ")").c_str()));
    }
    VIGIL_RETURN_IF_ERROR(txn.Commit(exec));
  }
  VIGIL_RETURN_IF_ERROR(conn->PrepareAll());
  return std::unique_ptr<PostgresStore>(new PostgresStore(url, std::move(conn)));
}

template <typename F>
auto PostgresStore::WithReconnect(F&& call) -> decltype(call()) {
  auto result = call();
  if (result.ok() || !conn_->broken()) return result;
  PQreset(conn_->get());
  if (PQstatus(conn_->get()) != CONNECTION_OK) {
    return Status::Unavailable(std::string(StatusOf(result).message()) +
                               " (reconnecting failed: " + PQerrorMessage(conn_->get()) + ")");
  }
  PQsetNoticeProcessor(
      conn_->get(), [](void*, const char*) {}, nullptr);
  Status prepared = conn_->PrepareAll();
  if (!prepared.ok()) return prepared;
  return call();
}

int PostgresStore::BackendPid() {
  std::lock_guard lock(mu_);
  return PQbackendPID(conn_->get());
}

Result<IngestResult> PostgresStore::IngestOnce(std::span<const BatchRows> batches, int64_t now_ms) {
  auto exec = [this](const char* sql) { return conn_->Simple(sql); };
  Transaction txn(this, conn_->get());
  VIGIL_RETURN_IF_ERROR(txn.Begin(exec));
  IngestResult result;
  std::string seqs, tss, types, actions, priorities, counts, bodies;
  std::unordered_map<uint64_t, const EventRow*> by_seq;
  for (const BatchRows& batch : batches) {
    BatchTally tally;
    if (!batch.events.empty()) {
      for (std::string* a : {&seqs, &tss, &types, &actions, &priorities, &counts, &bodies}) a->assign("{");
      by_seq.clear();
      for (const EventRow& e : batch.events) {
        AppendArrayInt(seqs, static_cast<int64_t>(e.seq));
        AppendArrayInt(tss, e.ts_ms);
        AppendArrayText(types, e.type);
        AppendArrayText(actions, e.action);
        AppendArrayText(priorities, e.priority);
        AppendArrayInt(counts, static_cast<int64_t>(e.count));
        AppendArrayText(bodies, e.json);
        by_seq.emplace(e.seq, &e);  // the first of equal seqs is the one inserted
      }
      for (std::string* a : {&seqs, &tss, &types, &actions, &priorities, &counts, &bodies}) *a += '}';
      Params p;
      p.Add(std::string_view(batch.device)).Add(now_ms);
      for (std::string* a : {&seqs, &tss, &types, &actions, &priorities, &counts, &bodies}) p.Add(std::move(*a));
      auto r = conn_->Run(kInsertEvents, p, "ingest: device " + batch.device);
      if (!r.ok()) return r.status();
      int rows = PQntuples(r->get());
      for (int i = 0; i < rows; ++i) {
        auto it = by_seq.find(Uint(r->get(), i, 0));
        if (it != by_seq.end()) tally.Add(*it->second, Uint(r->get(), i, 1));
      }
      result.duplicates += batch.events.size() - static_cast<size_t>(rows);
    }
    {
      Params p;
      p.Add(std::string_view(batch.device)).Add(now_ms);
      auto r = conn_->Run(kTouchDevice, p, "ingest: device " + batch.device);
      if (!r.ok()) return r.status();
    }
    if (tally.inserted > 0) {
      Params p;
      p.Add(std::string_view(batch.device)).Add(tally.min_seq).Add(tally.max_seq).Add(tally.inserted);
      p.Add(tally.bytes).Add(now_ms);
      auto r = conn_->Run(kAddCounts, p, "ingest: counters of device " + batch.device);
      if (!r.ok()) return r.status();
      result.inserted += tally.inserted;
    }
    if (tally.newest_system_info != nullptr) {
      const EventRow& e = *tally.newest_system_info;
      auto data = store_internal::EventData(e);
      if (!data.ok()) return data.status();
      Params p;
      p.Add(std::string_view(batch.device)).Add(e.ts_ms).Add(e.seq).Add(DumpJson(*data));
      auto r = conn_->Run(kUpsertSystemInfo, p, "ingest: system_info of device " + batch.device);
      if (!r.ok()) return r.status();
    }
    if (tally.newest_posture != nullptr) {
      const EventRow& e = *tally.newest_posture;
      auto data = store_internal::EventData(e);
      if (!data.ok()) return data.status();
      Params p;
      p.Add(std::string_view(batch.device)).Add(e.ts_ms).Add(e.seq).Add(DumpJson(*data));
      auto r = conn_->Run(kUpsertPosture, p, "ingest: posture of device " + batch.device);
      if (!r.ok()) return r.status();
    }
    for (const EventRow* e : tally.alerts) {
      auto alert = AlertFromEventRow(*e);
      if (!alert.ok()) return alert.status();
      auto id = InsertAlert(*alert, now_ms);
      if (!id.ok()) return id.status();
    }
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit(exec));
  return result;
}

Result<int64_t> PostgresStore::InsertAlert(const AlertRow& a, int64_t now_ms) {
  Params p;
  p.Add(std::string_view(a.device));
  if (a.seq) {
    p.Add(*a.seq);
  } else {
    p.AddNull();
  }
  p.Add(std::string_view(a.origin)).Add(a.ts_ms).Add(std::string_view(a.rule_id)).Add(std::string_view(a.title));
  p.Add(std::string_view(a.level)).Add(now_ms).Add(std::string_view(a.json));
  auto r = conn_->Run(kInsertAlert, p, "alert of device " + a.device + " rule " + a.rule_id);
  if (!r.ok()) return r.status();
  return PQntuples(r->get()) > 0 ? Int(r->get(), 0, 0) : int64_t{0};
}

Result<std::vector<int64_t>> PostgresStore::AddAlerts(std::span<const AlertRow> alerts, int64_t now_ms) {
  for (const AlertRow& a : alerts) VIGIL_RETURN_IF_ERROR(store_internal::ValidateAlert(a));
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<int64_t>> {
    auto exec = [this](const char* sql) { return conn_->Simple(sql); };
    Transaction txn(this, conn_->get());
    VIGIL_RETURN_IF_ERROR(txn.Begin(exec));
    std::vector<int64_t> ids;
    for (const AlertRow& a : alerts) {
      auto id = InsertAlert(a, now_ms);
      if (!id.ok()) return id.status();
      ids.push_back(*id);
    }
    VIGIL_RETURN_IF_ERROR(txn.Commit(exec));
    return ids;
  });
}

namespace {
AlertRow ReadAlert(const PGresult* r, int i) {
  AlertRow a;
  a.id = Int(r, i, 0);
  a.device = Text(r, i, 1);
  if (!PQgetisnull(r, i, 2)) a.seq = Uint(r, i, 2);
  a.origin = Text(r, i, 3);
  a.ts_ms = Int(r, i, 4);
  a.rule_id = Text(r, i, 5);
  a.title = Text(r, i, 6);
  a.level = Text(r, i, 7);
  a.status = Text(r, i, 8);
  a.status_ms = Int(r, i, 9);
  a.status_by = Text(r, i, 10);
  a.note = Text(r, i, 11);
  a.json = Text(r, i, 12);
  return a;
}
}  // namespace

Result<std::vector<AlertRow>> PostgresStore::Alerts(const AlertQuery& q) {
  std::string sql = kAlertColumns;
  Params p;
  auto add = [&](const char* cond, auto value) {
    sql += p.size() == 0 ? " WHERE " : " AND ";
    p.Add(value);
    sql += cond + std::to_string(p.size());
  };
  if (q.status) add("status = $", std::string_view(*q.status));
  if (q.device) add("device = $", std::string_view(*q.device));
  if (q.level) add("level = $", std::string_view(*q.level));
  if (q.rule) add("rule_id = $", std::string_view(*q.rule));
  if (q.origin) add("origin = $", std::string_view(*q.origin));
  if (q.since_ms) add("ts >= $", *q.since_ms);
  if (q.until_ms) add("ts < $", *q.until_ms);
  sql += " ORDER BY ts DESC, id DESC";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<AlertRow>> {
    auto r = conn_->RunSql(sql, p, "alerts");
    if (!r.ok()) return r.status();
    std::vector<AlertRow> rows;
    for (int i = 0; i < PQntuples(r->get()); ++i) rows.push_back(ReadAlert(r->get(), i));
    return rows;
  });
}

Result<std::optional<AlertRow>> PostgresStore::Alert(int64_t id) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::optional<AlertRow>> {
    auto r = conn_->Run(kOneAlert, Params().Add(id), "alert " + std::to_string(id));
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) == 0) return std::optional<AlertRow>();
    return std::optional<AlertRow>(ReadAlert(r->get(), 0));
  });
}

Status PostgresStore::SetAlertStatus(int64_t id, std::string_view status, std::string_view by, std::string_view note,
                                     int64_t now_ms) {
  if (!IsAlertStatus(status)) return store_internal::BadAlertStatus(status);
  std::lock_guard lock(mu_);
  Params p;
  p.Add(id).Add(status).Add(now_ms).Add(by).Add(note);
  return WithReconnect([&]() -> Status {
    auto r = conn_->Run(kSetAlertStatus, p, "set status of alert " + std::to_string(id));
    if (!r.ok()) return r.status();
    if (std::string_view(PQcmdTuples(r->get())) == "0") return Status::NotFound("alert " + std::to_string(id));
    return Status::Ok();
  });
}

Result<IngestResult> PostgresStore::Ingest(std::span<const BatchRows> batches, int64_t now_ms) {
  VIGIL_RETURN_IF_ERROR(store_internal::ValidateBatches(batches));
  std::lock_guard lock(mu_);
  return WithReconnect([&] { return IngestOnce(batches, now_ms); });
}

Status PostgresStore::AddDevice(std::string_view id, std::string_view group, int64_t now_ms) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Status {
    return conn_->Run(kAddDevice, Params().Add(id).Add(group).Add(now_ms), "add device " + std::string(id)).status();
  });
}

Status PostgresStore::SetDeviceState(std::string_view id, DeviceState state, std::string_view agent_version,
                                     int64_t now_ms) {
  std::lock_guard lock(mu_);
  Params p;
  p.Add(id).Add(DeviceStateName(state)).Add(state == DeviceState::kOnline ? agent_version : std::string_view());
  p.Add(now_ms);
  return WithReconnect(
      [&]() -> Status { return conn_->Run(kSetState, p, "set state of device " + std::string(id)).status(); });
}

Status PostgresStore::SetDeviceGroup(std::string_view id, std::string_view group) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Status {
    auto r = conn_->Run(kSetGroup, Params().Add(id).Add(group), "set group of device " + std::string(id));
    if (!r.ok()) return r.status();
    if (std::string_view(PQcmdTuples(r->get())) == "0") return Status::NotFound("device " + std::string(id));
    return Status::Ok();
  });
}

Status PostgresStore::SetRevoked(std::string_view id, bool revoked) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Status {
    auto r = conn_->Run(kSetRevoked, Params().Add(id).Add(revoked), "revoke device " + std::string(id));
    if (!r.ok()) return r.status();
    if (std::string_view(PQcmdTuples(r->get())) == "0") return Status::NotFound("device " + std::string(id));
    return Status::Ok();
  });
}

Result<std::vector<std::string>> PostgresStore::MarkSilent(int64_t now_ms, int64_t silent_after_ms) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<std::string>> {
    auto r = conn_->Run(kMarkSilent, Params().Add(now_ms - silent_after_ms), "mark silent devices");
    if (!r.ok()) return r.status();
    std::vector<std::string> ids;
    for (int i = 0; i < PQntuples(r->get()); ++i) ids.push_back(Text(r->get(), i, 0));
    std::sort(ids.begin(), ids.end());
    return ids;
  });
}

Result<std::vector<DeviceRow>> PostgresStore::LoadDevices(std::string_view only_id) {
  const bool one = !only_id.empty();
  Params p;
  if (one) p.Add(only_id);
  auto r = conn_->Run(one ? kOneDevice : kAllDevices, p, "read devices");
  if (!r.ok()) return r.status();
  const PGresult* res = r->get();
  std::vector<DeviceRow> rows;
  for (int i = 0; i < PQntuples(res); ++i) {
    DeviceRow d;
    d.id = Text(res, i, 0);
    d.state = store_internal::ParseDeviceState(Text(res, i, 1));
    d.group = Text(res, i, 2);
    d.agent_version = Text(res, i, 3);
    d.first_seen_ms = Int(res, i, 4);
    d.last_seen_ms = Int(res, i, 5);
    d.last_event_ms = Int(res, i, 6);
    d.events = Uint(res, i, 7);
    d.min_seq = Uint(res, i, 8);
    d.max_seq = Uint(res, i, 9);
    d.missing = store_internal::MissingSeqs(d.events, d.min_seq, d.max_seq);
    d.revoked = std::string_view(PQgetvalue(res, i, 10)) == "t";
    d.system_info = PQgetisnull(res, i, 11) ? Json() : ParseJson(PQgetvalue(res, i, 11));
    d.reported = PQgetisnull(res, i, 12) ? Json() : ParseJson(PQgetvalue(res, i, 12));
    rows.push_back(std::move(d));
  }
  return rows;
}

Result<std::vector<DeviceRow>> PostgresStore::Devices() {
  std::lock_guard lock(mu_);
  return WithReconnect([&] { return LoadDevices(""); });
}

Result<std::optional<DeviceRow>> PostgresStore::Device(std::string_view id) {
  if (id.empty()) return std::optional<DeviceRow>();
  std::lock_guard lock(mu_);
  auto rows = WithReconnect([&] { return LoadDevices(id); });
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<DeviceRow>();
  return std::optional<DeviceRow>(std::move(rows->front()));
}

Result<std::vector<SeqGap>> PostgresStore::Gaps(std::string_view device, size_t limit) {
  std::lock_guard lock(mu_);
  int64_t n = limit == 0 ? INT64_MAX : static_cast<int64_t>(limit);
  return WithReconnect([&]() -> Result<std::vector<SeqGap>> {
    auto r = conn_->Run(kGaps, Params().Add(device).Add(n), "gaps of device " + std::string(device));
    if (!r.ok()) return r.status();
    std::vector<SeqGap> gaps;
    for (int i = 0; i < PQntuples(r->get()); ++i) gaps.push_back(SeqGap{Uint(r->get(), i, 0), Uint(r->get(), i, 1)});
    return gaps;
  });
}

namespace {

// The WHERE clause of Search and Count (the filter, then the time range) and its parameters.
std::string QueryWhere(const EventQuery& q, Params* p) {
  for (const SqlParam& v : q.filter.params) std::visit([&](const auto& x) { p->Add(x); }, v);
  std::string sql = " WHERE (" + q.filter.where + ")";
  if (q.since_ms) {
    p->Add(*q.since_ms);
    sql += " AND ts >= $" + std::to_string(p->size());
  }
  if (q.until_ms) {
    p->Add(*q.until_ms);
    sql += " AND ts < $" + std::to_string(p->size());
  }
  return sql;
}

}  // namespace

Result<std::vector<EventRow>> PostgresStore::Search(const EventQuery& query) {
  Params p;
  std::string sql =
      "SELECT device, seq, ts, type, action, priority, count, received, body::text FROM events" + QueryWhere(query, &p);
  sql += query.newest_first ? " ORDER BY ts DESC, device, seq" : " ORDER BY ts, device, seq";
  if (query.limit > 0) {
    p.Add(static_cast<int64_t>(query.limit));
    sql += " LIMIT $" + std::to_string(p.size());
  }
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<EventRow>> {
    auto r = conn_->RunSql(sql, p, "search: " + query.filter.where);
    if (!r.ok()) return r.status();
    const PGresult* res = r->get();
    std::vector<EventRow> rows;
    rows.reserve(PQntuples(res));
    for (int i = 0; i < PQntuples(res); ++i) {
      EventRow e;
      e.device = Text(res, i, 0);
      e.seq = Uint(res, i, 1);
      e.ts_ms = Int(res, i, 2);
      e.type = Text(res, i, 3);
      e.action = Text(res, i, 4);
      e.priority = Text(res, i, 5);
      e.count = static_cast<uint32_t>(Int(res, i, 6));
      e.received_ms = Int(res, i, 7);
      e.json = Text(res, i, 8);
      rows.push_back(std::move(e));
    }
    return rows;
  });
}

Result<uint64_t> PostgresStore::Count(const EventQuery& query) {
  Params p;
  std::string sql = "SELECT count(*) FROM events" + QueryWhere(query, &p);
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<uint64_t> {
    auto r = conn_->RunSql(sql, p, "count: " + query.filter.where);
    if (!r.ok()) return r.status();
    return Uint(r->get(), 0, 0);
  });
}

Status PostgresStore::SetDesired(const DesiredConfig& desired) {
  if (desired.scope != "device" && desired.scope != "group") {
    return Status::InvalidArgument("desired configuration scope \"" + desired.scope + "\": expected device or group");
  }
  if (desired.name.empty()) return Status::InvalidArgument("desired configuration for " + desired.scope + ": no name");
  Params p;
  p.Add(std::string_view(desired.scope)).Add(std::string_view(desired.name)).Add(std::string_view(desired.version));
  p.Add(DumpJson(desired.config)).Add(desired.updated_ms);
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Status {
    return conn_->Run(kSetDesired, p, "set desired configuration of " + desired.scope + " " + desired.name).status();
  });
}

namespace {
DesiredConfig ReadDesired(const PGresult* r, int i) {
  DesiredConfig d;
  d.scope = Text(r, i, 0);
  d.name = Text(r, i, 1);
  d.version = Text(r, i, 2);
  d.config = ParseJson(PQgetvalue(r, i, 3));
  d.updated_ms = Int(r, i, 4);
  return d;
}
}  // namespace

Result<std::optional<DesiredConfig>> PostgresStore::EffectiveDesired(std::string_view device) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::optional<DesiredConfig>> {
    auto r =
        conn_->Run(kEffectiveDesired, Params().Add(device), "desired configuration of device " + std::string(device));
    if (!r.ok()) return r.status();
    if (PQntuples(r->get()) == 0) return std::optional<DesiredConfig>();
    return std::optional<DesiredConfig>(ReadDesired(r->get(), 0));
  });
}

Result<std::vector<DesiredConfig>> PostgresStore::DesiredConfigs() {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<DesiredConfig>> {
    auto r = conn_->Run(kAllDesired, Params(), "desired configurations");
    if (!r.ok()) return r.status();
    std::vector<DesiredConfig> all;
    for (int i = 0; i < PQntuples(r->get()); ++i) all.push_back(ReadDesired(r->get(), i));
    return all;
  });
}

Status PostgresStore::SetReported(std::string_view device, const Json& reported, int64_t now_ms) {
  Params p;
  p.Add(device).Add(DumpJson(reported)).Add(now_ms);
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Status {
    return conn_->Run(kSetReported, p, "set reported configuration of device " + std::string(device)).status();
  });
}

Result<uint64_t> PostgresStore::RetentionPass(int64_t cutoff_ms, uint64_t max_bytes, bool by_age) {
  auto exec = [this](const char* sql) { return conn_->Simple(sql); };
  Transaction txn(this, conn_->get());
  VIGIL_RETURN_IF_ERROR(txn.Begin(exec));
  std::string devices = "{", seqs = "{";
  size_t chosen = 0;
  if (by_age) {
    auto r = conn_->Run(kOldestByAge, Params().Add(cutoff_ms).Add(static_cast<int64_t>(kRetentionChunk)),
                        "retention by age");
    if (!r.ok()) return r.status();
    for (int i = 0; i < PQntuples(r->get()); ++i, ++chosen) {
      AppendArrayText(devices, Text(r->get(), i, 0));
      AppendArrayInt(seqs, Int(r->get(), i, 1));
    }
  } else {
    auto t = conn_->Run(kTotalBytes, Params(), "retention by size");
    if (!t.ok()) return t.status();
    uint64_t total = Uint(t->get(), 0, 0);
    if (total <= max_bytes) return uint64_t{0};
    auto r = conn_->Run(kOldest, Params().Add(static_cast<int64_t>(kRetentionChunk)), "retention by size");
    if (!r.ok()) return r.status();
    for (int i = 0; i < PQntuples(r->get()) && total > max_bytes; ++i, ++chosen) {
      AppendArrayText(devices, Text(r->get(), i, 0));
      AppendArrayInt(seqs, Int(r->get(), i, 1));
      total -= std::min(total, Uint(r->get(), i, 2));
    }
  }
  if (chosen == 0) return uint64_t{0};
  devices += '}';
  seqs += '}';
  auto d = conn_->Run(kDeleteRows, Params().Add(std::move(devices)).Add(std::move(seqs)), "retention: delete");
  if (!d.ok()) return d.status();
  std::map<std::string, std::pair<int64_t, int64_t>> per_device;  // events, bytes
  for (int i = 0; i < PQntuples(d->get()); ++i) {
    auto& [n, b] = per_device[Text(d->get(), i, 0)];
    ++n;
    b += Int(d->get(), i, 1);
  }
  for (const auto& [device, nb] : per_device) {
    auto r = conn_->Run(kSubtractCounts, Params().Add(std::string_view(device)).Add(nb.first).Add(nb.second),
                        "retention: counters of device " + device);
    if (!r.ok()) return r.status();
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit(exec));
  return static_cast<uint64_t>(PQntuples(d->get()));
}

Result<RetentionResult> PostgresStore::ApplyRetention(int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes) {
  std::lock_guard lock(mu_);
  RetentionResult result;
  if (max_age_ms > 0) {
    for (;;) {
      auto n = WithReconnect([&] { return RetentionPass(now_ms - max_age_ms, 0, /*by_age=*/true); });
      if (!n.ok()) return n.status();
      result.deleted_by_age += *n;
      if (*n < kRetentionChunk) break;
    }
  }
  if (max_bytes > 0) {
    for (;;) {
      auto n = WithReconnect([&] { return RetentionPass(0, max_bytes, /*by_age=*/false); });
      if (!n.ok()) return n.status();
      result.deleted_by_size += *n;
      if (*n == 0) break;
    }
  }
  return result;
}

Result<StoreStats> PostgresStore::Stats() {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<StoreStats> {
    auto r = conn_->Run(kStats, Params(), "stats");
    if (!r.ok()) return r.status();
    StoreStats s;
    s.events = Uint(r->get(), 0, 0);
    s.event_bytes = Uint(r->get(), 0, 1);
    s.devices = Uint(r->get(), 0, 2);
    s.bytes = Uint(r->get(), 0, 3);
    return s;
  });
}

namespace {
VulnPackageRow PgReadPackage(const PGresult* r, int i) {
  return VulnPackageRow{Text(r, i, 0), Text(r, i, 1), Text(r, i, 2), Text(r, i, 3), Text(r, i, 4), Text(r, i, 5)};
}
constexpr const char* kPgPackageColumns =
    "SELECT device, name, version, source, source_version, ecosystem FROM vuln_packages";
}  // namespace

Result<AdvisoryPutResult> PostgresStore::PutAdvisories(std::span<const AdvisoryRow> advisories) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<AdvisoryPutResult> {
    auto exec = [this](const char* sql) { return conn_->Simple(sql); };
    Transaction txn(this, conn_->get());
    VIGIL_RETURN_IF_ERROR(txn.Begin(exec));
    AdvisoryPutResult result;
    for (const AdvisoryRow& a : advisories) {
      // FOR UPDATE: two hubs importing at once decide on the same stored row.
      auto got = conn_->RunSql("SELECT modified, body FROM vuln_advisories WHERE id = $1 FOR UPDATE",
                               Params().Add(a.id), "advisory " + a.id);
      if (!got.ok()) return got.status();
      bool stored = PQntuples(got->get()) > 0;
      if (stored && Text(got->get(), 0, 0) > a.modified) {
        ++result.older;
        continue;
      }
      if (stored && Text(got->get(), 0, 1) == a.body) {
        ++result.unchanged;
        continue;
      }
      if (stored) {
        auto old = conn_->RunSql("DELETE FROM vuln_affected WHERE advisory = $1 RETURNING ecosystem, package",
                                 Params().Add(a.id), "keys of advisory " + a.id);
        if (!old.ok()) return old.status();
        for (int i = 0; i < PQntuples(old->get()); ++i) {
          result.changed_keys.push_back(VulnKey{Text(old->get(), i, 0), Text(old->get(), i, 1)});
        }
        ++result.updated;
      } else {
        ++result.inserted;
      }
      auto put = conn_->RunSql(
          "INSERT INTO vuln_advisories (id, source, modified, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE "
          "SET source = excluded.source, modified = excluded.modified, body = excluded.body",
          Params().Add(a.id).Add(a.source).Add(a.modified).Add(a.body), "advisory " + a.id);
      if (!put.ok()) return put.status();
      if (a.keys.empty()) continue;
      std::string ecosystems = "{", packages = "{";
      for (const VulnKey& k : a.keys) {
        AppendArrayText(ecosystems, k.ecosystem);
        AppendArrayText(packages, k.package);
        result.changed_keys.push_back(k);
      }
      ecosystems += '}';
      packages += '}';
      auto keys = conn_->RunSql(
          "INSERT INTO vuln_affected (ecosystem, package, advisory) SELECT u.e, u.p, $3 FROM unnest($1::text[], "
          "$2::text[]) AS u(e, p) ON CONFLICT DO NOTHING",
          Params().Add(ecosystems).Add(packages).Add(a.id), "keys of advisory " + a.id);
      if (!keys.ok()) return keys.status();
    }
    VIGIL_RETURN_IF_ERROR(txn.Commit(exec));
    std::sort(result.changed_keys.begin(), result.changed_keys.end());
    result.changed_keys.erase(std::unique(result.changed_keys.begin(), result.changed_keys.end()),
                              result.changed_keys.end());
    return result;
  });
}

Result<std::vector<AdvisoryRow>> PostgresStore::AdvisoriesFor(std::span<const VulnKey> keys) {
  if (keys.empty()) return std::vector<AdvisoryRow>();
  std::string ecosystems = "{", packages = "{";
  for (const VulnKey& k : keys) {
    AppendArrayText(ecosystems, k.ecosystem);
    AppendArrayText(packages, k.package);
  }
  ecosystems += '}';
  packages += '}';
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<AdvisoryRow>> {
    auto r = conn_->RunSql(
        "SELECT a.id, a.source, a.modified, a.body FROM vuln_advisories a WHERE a.id IN (SELECT f.advisory FROM "
        "vuln_affected f JOIN unnest($1::text[], $2::text[]) AS u(e, p) ON f.ecosystem = u.e AND f.package = u.p) "
        "ORDER BY a.id",
        Params().Add(ecosystems).Add(packages), "advisories");
    if (!r.ok()) return r.status();
    std::vector<AdvisoryRow> rows;
    for (int i = 0; i < PQntuples(r->get()); ++i) {
      rows.push_back(AdvisoryRow{Text(r->get(), i, 0), Text(r->get(), i, 1), Text(r->get(), i, 2),
                                 Text(r->get(), i, 3), {}});
    }
    return rows;
  });
}

Result<std::vector<VulnPackageRow>> PostgresStore::VulnPackages(std::string_view device,
                                                                std::span<const VulnKey> keys) {
  std::string sql = kPgPackageColumns;
  Params p;
  p.Add(device);
  if (keys.empty()) {
    sql += " WHERE ($1 = '' OR device = $1)";
  } else {
    std::string ecosystems = "{", packages = "{";
    for (const VulnKey& k : keys) {
      AppendArrayText(ecosystems, k.ecosystem);
      AppendArrayText(packages, k.package);
    }
    ecosystems += '}';
    packages += '}';
    p.Add(ecosystems).Add(packages);
    sql += " WHERE ($1 = '' OR device = $1) AND (ecosystem, source) IN (SELECT u.e, u.p FROM unnest($2::text[], "
           "$3::text[]) AS u(e, p))";
  }
  sql += " ORDER BY device, name, version";
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<VulnPackageRow>> {
    auto r = conn_->RunSql(sql, p, "packages");
    if (!r.ok()) return r.status();
    std::vector<VulnPackageRow> rows;
    for (int i = 0; i < PQntuples(r->get()); ++i) rows.push_back(PgReadPackage(r->get(), i));
    return rows;
  });
}

Status PostgresStore::UpdateVulns(const VulnUpdate& u) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Status {
    auto exec = [this](const char* sql) { return conn_->Simple(sql); };
    Transaction txn(this, conn_->get());
    VIGIL_RETURN_IF_ERROR(txn.Begin(exec));
    if (u.replace_packages) {
      auto clear = conn_->RunSql("DELETE FROM vuln_packages WHERE device = $1", Params().Add(u.device),
                                 "packages of device " + u.device);
      if (!clear.ok()) return clear.status();
      if (!u.packages.empty()) {
        std::string cols[5];
        for (std::string& c : cols) c = "{";
        for (const VulnPackageRow& pkg : u.packages) {
          AppendArrayText(cols[0], pkg.name);
          AppendArrayText(cols[1], pkg.version);
          AppendArrayText(cols[2], pkg.source);
          AppendArrayText(cols[3], pkg.source_version);
          AppendArrayText(cols[4], pkg.ecosystem);
        }
        Params p;
        p.Add(u.device);
        for (std::string& c : cols) p.Add(c + "}");
        auto add = conn_->RunSql(
            "INSERT INTO vuln_packages (device, name, version, source, source_version, ecosystem) SELECT $1, u.* FROM "
            "unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u ON CONFLICT DO NOTHING",
            p, "packages of device " + u.device);
        if (!add.ok()) return add.status();
      }
    }
    if (!u.rematched.empty()) {
      std::string names = "{";
      for (const std::string& n : u.rematched) AppendArrayText(names, n);
      auto clear = conn_->RunSql("DELETE FROM vuln_findings WHERE device = $1 AND package = ANY($2::text[])",
                                 Params().Add(u.device).Add(names + "}"), "findings of device " + u.device);
      if (!clear.ok()) return clear.status();
    }
    for (const VulnFindingRow& f : u.findings) {
      Params p;
      p.Add(u.device).Add(f.package).Add(f.version).Add(f.advisory).Add(f.source).Add(f.source_version);
      p.Add(f.ecosystem).Add(f.status).Add(f.fixed_version).Add(f.severity).Add(f.score).Add(f.matched_ms);
      auto add = conn_->RunSql(
          "INSERT INTO vuln_findings (device, package, version, advisory, source, source_version, ecosystem, status, "
          "fixed_version, severity, score, matched) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
          "ON CONFLICT (device, package, version, advisory) DO UPDATE SET source = excluded.source, "
          "source_version = excluded.source_version, ecosystem = excluded.ecosystem, status = excluded.status, "
          "fixed_version = excluded.fixed_version, severity = excluded.severity, score = excluded.score, "
          "matched = excluded.matched",
          p, "finding " + f.advisory + " of device " + u.device);
      if (!add.ok()) return add.status();
    }
    return txn.Commit(exec);
  });
}

Result<std::vector<VulnFindingRow>> PostgresStore::VulnFindings(const VulnFindingQuery& q) {
  std::string sql =
      "SELECT device, package, version, source, source_version, ecosystem, advisory, status, fixed_version, "
      "severity, score, matched FROM vuln_findings";
  Params p;
  auto add = [&](const char* cond, const std::optional<std::string>& value) {
    if (!value) return;
    sql += p.size() == 0 ? " WHERE " : " AND ";
    p.Add(std::string_view(*value));
    sql += cond + std::to_string(p.size());
  };
  add("device = $", q.device);
  add("status = $", q.status);
  add("advisory = $", q.advisory);
  sql += " ORDER BY device, package, version, advisory";
  if (q.limit > 0) sql += " LIMIT " + std::to_string(q.limit);
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<VulnFindingRow>> {
    auto r = conn_->RunSql(sql, p, "findings");
    if (!r.ok()) return r.status();
    std::vector<VulnFindingRow> rows;
    const PGresult* res = r->get();
    for (int i = 0; i < PQntuples(res); ++i) {
      VulnFindingRow f;
      f.device = Text(res, i, 0);
      f.package = Text(res, i, 1);
      f.version = Text(res, i, 2);
      f.source = Text(res, i, 3);
      f.source_version = Text(res, i, 4);
      f.ecosystem = Text(res, i, 5);
      f.advisory = Text(res, i, 6);
      f.status = Text(res, i, 7);
      f.fixed_version = Text(res, i, 8);
      f.severity = Text(res, i, 9);
      f.score = std::strtod(PQgetvalue(res, i, 10), nullptr);
      f.matched_ms = Int(res, i, 11);
      rows.push_back(std::move(f));
    }
    return rows;
  });
}

Result<std::vector<PostureRow>> PostgresStore::Postures(std::optional<std::string_view> device) {
  std::lock_guard lock(mu_);
  return WithReconnect([&]() -> Result<std::vector<PostureRow>> {
    auto r = device ? conn_->Run(kOnePosture, Params().Add(*device), "posture of device " + std::string(*device))
                    : conn_->Run(kAllPostures, Params(), "postures");
    if (!r.ok()) return r.status();
    std::vector<PostureRow> rows;
    const PGresult* res = r->get();
    for (int i = 0; i < PQntuples(res); ++i) {
      rows.push_back(PostureRow{Text(res, i, 0), Int(res, i, 1), Uint(res, i, 2), ParseJson(PQgetvalue(res, i, 3))});
    }
    return rows;
  });
}

}  // namespace vigil::hub
