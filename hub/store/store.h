// The hub's store: one interface, two backends (SQLite, the default, one file in WAL mode;
// PostgreSQL, by URL, for fleets that outgrow one machine). Both pass the same test suite
// (store_test.cpp) and give identical answers to the same queries.
//
// What it keeps:
//   - raw events, exactly as devices sent them, once per (device, seq);
//   - devices: state (online, offline, silent), first and last seen, agent version, group,
//     counters, the received sequence-number span, revoked;
//   - typed views kept current at ingest: the latest system_info and the latest posture scan
//     per device, and the alerts (an event of type alert is also an alert row);
//   - alerts raised by the hub itself (hub/analyze), with their status (new, acknowledged,
//     resolved), who set it, when, and a note;
//   - vulnerability advisories, each device's packages and the findings matched for them
//     (hub/vuln);
//   - desired configuration per device and per group, and each device's reported state.
//
// Thread safety: a Store may be used from several threads at once (each backend serialises
// what it must). Errors are values: a failed call returns a non-OK Status saying what failed
// (and, for a database error, the backend's own message); a failed Ingest stores nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/query/sql.h"

namespace vigil::hub {

using Json = nlohmann::json;

// One stored event: the envelope as columns, and the event's whole JSON text.
struct EventRow {
  std::string device;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  std::string type;
  std::string action;    // "" when the event has none
  std::string priority;  // "high", "medium", "low"
  uint32_t count = 1;
  int64_t received_ms = 0;  // set by the store on Ingest (the `now_ms` given)
  std::string json;         // the event object, serialised (compact)

  bool operator==(const EventRow&) const = default;
};

// The events of one validated batch from one device.
struct BatchRows {
  std::string device;
  std::vector<EventRow> events;  // each with device == this device
};

struct IngestResult {
  size_t inserted = 0;    // new (device, seq) rows
  size_t duplicates = 0;  // rows whose (device, seq) was already stored: skipped
};

enum class DeviceState { kNever, kOnline, kOffline, kSilent };
std::string_view DeviceStateName(DeviceState s);  // "never", "online", "offline", "silent"

struct DeviceRow {
  std::string id;
  DeviceState state = DeviceState::kNever;
  std::string group;          // "" when in no group
  std::string agent_version;  // from the last online status message
  int64_t first_seen_ms = 0;  // first event or status
  int64_t last_seen_ms = 0;   // last event or status
  int64_t last_event_ms = 0;  // receive time of the newest stored event
  uint64_t events = 0;        // events stored now (after retention)
  uint64_t min_seq = 0;       // lowest and highest seq stored (0, 0 when none)
  uint64_t max_seq = 0;
  uint64_t missing = 0;       // seqs between min_seq and max_seq not stored: the gaps' size
  bool revoked = false;
  Json system_info;           // the newest system_info event's data; null when none
  Json reported;              // the last reported-configuration document; null when none
};

// A run of sequence numbers a device never delivered, [first, last], both inclusive.
struct SeqGap {
  uint64_t first = 0;
  uint64_t last = 0;
  bool operator==(const SeqGap&) const = default;
};

struct EventQuery {
  SqlFilter filter;                    // compiled for this store's dialect(), first_param 1
  std::optional<int64_t> since_ms;     // ts >= since_ms
  std::optional<int64_t> until_ms;     // ts < until_ms
  size_t limit = 100;                  // at most this many rows (0: no limit, for counts)
  bool newest_first = true;            // order by ts, then device, then seq
};

// Desired configuration for one device or one group. A device's effective desired document is
// its own when it has one, else its group's.
struct DesiredConfig {
  std::string scope;    // "device" or "group"
  std::string name;     // device id or group name
  std::string version;  // the document's version, as published
  Json config;          // the `config` object of the desired document
  int64_t updated_ms = 0;
};

struct RetentionResult {
  uint64_t deleted_by_age = 0;
  uint64_t deleted_by_size = 0;
};

// Alerts: raised by a device (events of type `alert`, stored in the alerts table as well, in
// Ingest's transaction, once per (device, seq)) or by the hub's analyzer (hub/analyze/).
inline constexpr std::string_view kAlertStatuses[] = {"new", "acknowledged", "resolved"};
inline constexpr std::string_view kAlertOrigins[] = {"device", "hub"};
bool IsAlertStatus(std::string_view status);

struct AlertRow {
  int64_t id = 0;               // set by the store
  std::string device;           // the device of the event that completed the match
  std::optional<uint64_t> seq;  // the alert event's seq when a device sent it; nullopt for hub alerts
  std::string origin;           // "device" or "hub"
  int64_t ts_ms = 0;
  std::string rule_id;
  std::string title;
  std::string level;           // informational, low, medium, high, critical
  std::string status = "new";  // new, acknowledged, resolved
  int64_t status_ms = 0;       // when the status was last set (the time stored, for new alerts)
  std::string status_by;       // the token name that set it ("" for new alerts)
  std::string note;            // "" when none
  std::string json;            // the alert event, serialised (compact)

  bool operator==(const AlertRow&) const = default;
};

// An alert as the API and `vigil-hub alerts --format json` show it: the row's columns
// (status_changed null while never set) and the alert event itself under "alert".
Json AlertRowJson(const AlertRow& a);

struct AlertQuery {
  std::optional<std::string> status;  // each filter: equal to, when given
  std::optional<std::string> device;
  std::optional<std::string> level;
  std::optional<std::string> rule;  // rule id
  std::optional<std::string> origin;
  std::optional<int64_t> since_ms;  // ts >= since_ms
  std::optional<int64_t> until_ms;  // ts < until_ms
  size_t limit = 100;               // 0: no limit
  // Always newest first: by ts descending, then id descending.
};

// Builds an AlertRow (origin device) from a stored event of type alert: rule_id, title and
// level from its data. InvalidArgument naming device and seq when the JSON lacks them.
Result<AlertRow> AlertFromEventRow(const EventRow& event);

// Vulnerability data (hub/vuln keeps the meaning; the store keeps the rows). An advisory is
// stored whole as JSON (`body`, hub/vuln's encoding) and indexed by the (ecosystem, source
// package) keys it names; a device's packages are those of its last SBoM; findings are what
// matching found for them (only affected ones: status fixed or unfixed).
struct VulnKey {
  std::string ecosystem;  // "Debian:12"
  std::string package;    // source package
  auto operator<=>(const VulnKey&) const = default;
};

struct AdvisoryRow {
  std::string id;
  std::string source;    // "osv", "debian-tracker"
  std::string modified;  // RFC 3339 ("" when the source has none)
  std::string body;      // the advisory, JSON (compact)
  std::vector<VulnKey> keys;
  bool operator==(const AdvisoryRow&) const = default;
};

struct AdvisoryPutResult {
  size_t inserted = 0;   // ids not stored before
  size_t updated = 0;    // stored with an older (or equal) `modified` and a different body: replaced
  size_t unchanged = 0;  // stored with the same body
  size_t older = 0;      // stored with a newer `modified`: kept
  std::vector<VulnKey> changed_keys;  // keys of inserted and updated advisories (old and new), sorted, unique
};

struct VulnPackageRow {
  std::string device;
  std::string name;     // binary package
  std::string version;
  std::string source;   // source package (the name when the SBoM gives none)
  std::string source_version;
  std::string ecosystem;
  bool operator==(const VulnPackageRow&) const = default;
};

struct VulnFindingRow {
  std::string device;
  std::string package;  // binary package
  std::string version;
  std::string source;
  std::string source_version;
  std::string ecosystem;
  std::string advisory;  // id
  std::string status;    // "fixed" (a fix exists) or "unfixed"
  std::string fixed_version;
  std::string severity;
  double score = -1;
  int64_t matched_ms = 0;
  bool operator==(const VulnFindingRow&) const = default;
};

// One device's change: its packages (when replace_packages: the whole new list), and for every
// package name in `rematched`, its findings replaced by those in `findings`.
struct VulnUpdate {
  std::string device;
  bool replace_packages = false;
  std::vector<VulnPackageRow> packages;
  std::vector<std::string> rematched;
  std::vector<VulnFindingRow> findings;
};

struct VulnFindingQuery {
  std::optional<std::string> device;  // each filter: equal to, when given
  std::optional<std::string> status;
  std::optional<std::string> advisory;
  size_t limit = 0;  // 0: no limit
  // Ordered by device, package, version, advisory.
};

// A device's newest posture scan (an event of type posture): its envelope's ts and seq, and its
// `data` object (policy, summary, checks: schema/events.yml). The row is a copy: retention
// deleting the event leaves it in place.
struct PostureRow {
  std::string device;
  int64_t ts_ms = 0;
  uint64_t seq = 0;
  Json data;  // the event's data; null when the event had none
  bool operator==(const PostureRow&) const = default;
};

struct StoreStats {
  uint64_t events = 0;      // rows in the events table
  uint64_t bytes = 0;       // the store's size on disk (SQLite: the file; PostgreSQL: the tables)
  uint64_t event_bytes = 0; // the events' JSON text, as ApplyRetention's max_bytes counts it
  uint64_t devices = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual SqlDialect dialect() const = 0;
  // "sqlite:/var/lib/vigil-hub/hub.db" or "postgresql://host/db" (password left out).
  virtual std::string Describe() const = 0;

  // Stores every batch in one transaction: all or nothing. A row whose (device, seq) is stored
  // already is skipped and counted as a duplicate. Creates device rows on first sight, updates
  // last_seen, last_event, counters and the seq span, and the typed views (an event of type
  // system_info replaces the device's system_info when its ts is newer; a new event of type
  // alert adds an alert row, origin device, once per (device, seq); an alert event without
  // rule_id, title or level fails the call; an event of type posture replaces the device's
  // posture row when its (ts, seq) is newer, and one that is not a JSON object fails the call).
  virtual Result<IngestResult> Ingest(std::span<const BatchRows> batches, int64_t now_ms) = 0;

  // Devices.
  // Creates the device (state never) if unknown; a known device keeps its state and gets the
  // group when `group` is not empty; a revoked device stays revoked.
  virtual Status AddDevice(std::string_view id, std::string_view group, int64_t now_ms) = 0;
  // From the device's status topic: online (with its agent version) or offline (the will).
  virtual Status SetDeviceState(std::string_view id, DeviceState state, std::string_view agent_version,
                                int64_t now_ms) = 0;
  virtual Status SetDeviceGroup(std::string_view id, std::string_view group) = 0;
  virtual Status SetRevoked(std::string_view id, bool revoked) = 0;
  // Online and offline devices with nothing heard since now_ms - silent_after_ms become silent;
  // returns their ids.
  virtual Result<std::vector<std::string>> MarkSilent(int64_t now_ms, int64_t silent_after_ms) = 0;
  virtual Result<std::vector<DeviceRow>> Devices() = 0;  // ordered by id
  virtual Result<std::optional<DeviceRow>> Device(std::string_view id) = 0;
  // The device's gaps between its lowest and highest stored seq, lowest first, at most `limit`.
  virtual Result<std::vector<SeqGap>> Gaps(std::string_view device, size_t limit) = 0;

  // Raw events.
  virtual Result<std::vector<EventRow>> Search(const EventQuery& query) = 0;
  virtual Result<uint64_t> Count(const EventQuery& query) = 0;  // limit ignored

  // Configuration of devices.
  virtual Status SetDesired(const DesiredConfig& desired) = 0;
  // The desired document in force for a device (its own, else its group's); nullopt when none.
  virtual Result<std::optional<DesiredConfig>> EffectiveDesired(std::string_view device) = 0;
  virtual Result<std::vector<DesiredConfig>> DesiredConfigs() = 0;  // every scope, by scope then name
  virtual Status SetReported(std::string_view device, const Json& reported, int64_t now_ms) = 0;

  // Deletes events older than now_ms - max_age_ms (max_age_ms 0: no age limit), then the oldest
  // events until the events take at most max_bytes (0: no size limit; the size counted is the
  // events' JSON text, which is what grows).
  virtual Result<RetentionResult> ApplyRetention(int64_t now_ms, int64_t max_age_ms, uint64_t max_bytes) = 0;

  virtual Result<StoreStats> Stats() = 0;

  // Alerts.
  // Stores hub alerts (origin, device, ts, rule_id, title, level and json must be set; status
  // starts as `new` at now_ms); returns their ids in order. All or nothing.
  virtual Result<std::vector<int64_t>> AddAlerts(std::span<const AlertRow> alerts, int64_t now_ms) = 0;
  virtual Result<std::vector<AlertRow>> Alerts(const AlertQuery& query) = 0;  // newest first
  virtual Result<std::optional<AlertRow>> Alert(int64_t id) = 0;
  // Any status may follow any other; an unknown status is InvalidArgument naming `status`, an
  // unknown id NotFound. `by` is the token name; `note` replaces the note ("" clears it).
  virtual Status SetAlertStatus(int64_t id, std::string_view status, std::string_view by, std::string_view note,
                                int64_t now_ms) = 0;

  // Vulnerabilities.
  // Stores advisories in one transaction: a new id is inserted; a stored one is replaced (with its
  // keys) unless its `modified` is newer or its body is the same. Re-importing the same data
  // changes nothing.
  virtual Result<AdvisoryPutResult> PutAdvisories(std::span<const AdvisoryRow> advisories) = 0;
  // The advisories that name any of `keys`, each once, ordered by id.
  virtual Result<std::vector<AdvisoryRow>> AdvisoriesFor(std::span<const VulnKey> keys) = 0;
  // Stored packages: of one device (`device` not empty) or every device, only those whose
  // (ecosystem, source) is in `keys` when `keys` is not empty; ordered by device, name, version.
  virtual Result<std::vector<VulnPackageRow>> VulnPackages(std::string_view device, std::span<const VulnKey> keys) = 0;
  // Applies one device's change in one transaction (see VulnUpdate).
  virtual Status UpdateVulns(const VulnUpdate& update) = 0;
  virtual Result<std::vector<VulnFindingRow>> VulnFindings(const VulnFindingQuery& query) = 0;

  // Posture.
  // The newest posture scan of one device (`device` given; empty when it sent none) or of every
  // device that sent one, ordered by device.
  virtual Result<std::vector<PostureRow>> Postures(std::optional<std::string_view> device) = 0;
};

// Opens (and creates or migrates the schema of) the store a URL names:
//   sqlite:PATH                 a SQLite file (created with its directory's permissions)
//   postgresql://USER@HOST:PORT/DB?...  or postgres://...  any libpq connection URI
// An unknown scheme, a file that cannot be opened, or a server that refuses is an error naming
// the URL (without its password).
Result<std::unique_ptr<Store>> OpenStore(std::string_view url);

}  // namespace vigil::hub
