#include "hub/store/store.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "hub/store/postgres/postgres_store.h"
#include "hub/store/sqlite/sqlite_store.h"
#include "hub/store/store_internal.h"

namespace vigil::hub {

std::string_view DeviceStateName(DeviceState s) {
  switch (s) {
    case DeviceState::kNever:
      return "never";
    case DeviceState::kOnline:
      return "online";
    case DeviceState::kOffline:
      return "offline";
    case DeviceState::kSilent:
      return "silent";
  }
  return "never";
}

Json AlertRowJson(const AlertRow& a) {
  Json alert = Json::parse(a.json, nullptr, /*allow_exceptions=*/false);
  return Json{{"id", a.id},
              {"device", a.device},
              {"seq", a.seq ? Json(*a.seq) : Json(nullptr)},
              {"origin", a.origin},
              {"ts", a.ts_ms},
              {"rule_id", a.rule_id},
              {"title", a.title},
              {"level", a.level},
              {"status", a.status},
              {"status_changed", a.status_ms == 0 ? Json(nullptr) : Json(a.status_ms)},
              {"status_by", a.status_by},
              {"note", a.note},
              {"alert", alert.is_discarded() ? Json(nullptr) : alert}};
}

bool IsAlertStatus(std::string_view status) {
  for (std::string_view s : kAlertStatuses)
    if (s == status) return true;
  return false;
}

Result<AlertRow> AlertFromEventRow(const EventRow& event) {
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("device " + event.device + " seq " + std::to_string(event.seq) + ": alert event " +
                                   what);
  };
  Json j = Json::parse(event.json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("is not a JSON object");
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return bad("has no data object");
  AlertRow a;
  a.device = event.device;
  a.seq = event.seq;
  a.origin = "device";
  a.ts_ms = event.ts_ms;
  for (auto [key, out] :
       {std::pair{"rule_id", &a.rule_id}, std::pair{"title", &a.title}, std::pair{"level", &a.level}}) {
    auto it = data->find(key);
    if (it == data->end() || !it->is_string()) return bad(std::string("has no string data.") + key);
    *out = it->get<std::string>();
  }
  a.json = event.json;
  return a;
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view url) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string_view path = url.substr(kSqlite.size());
    // sqlite:///abs/path is accepted as well as sqlite:/abs/path.
    if (path.starts_with("///")) path.remove_prefix(2);
    if (path.empty()) return Status::InvalidArgument("store URL " + std::string(url) + ": no file path");
    auto store = SqliteStore::Open(std::string(path));
    if (!store.ok()) return store.status().WithContext("store " + std::string(url));
    return std::unique_ptr<Store>(std::move(store).value());
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    auto store = PostgresStore::Open(std::string(url));
    if (!store.ok()) return store.status().WithContext("store " + store_internal::RedactUrl(url));
    return std::unique_ptr<Store>(std::move(store).value());
  }
  return Status::InvalidArgument("store URL " + store_internal::RedactUrl(url) +
                                 ": unknown scheme (expected sqlite:PATH, postgresql:// or postgres://)");
}

namespace store_internal {

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  size_t scheme_end = out.find("://");
  if (scheme_end == std::string::npos) return out;
  size_t auth_begin = scheme_end + 3;
  size_t auth_end = out.find_first_of("/?#", auth_begin);
  if (auth_end == std::string::npos) auth_end = out.size();
  size_t at = out.rfind('@', auth_end - 1);
  if (at != std::string::npos && at >= auth_begin) {
    size_t colon = out.find(':', auth_begin);
    if (colon != std::string::npos && colon < at) out.erase(colon, at - colon);
  }
  size_t query = out.find('?');
  if (query == std::string::npos) return out;
  std::string head = out.substr(0, query);
  std::string kept;
  size_t pos = query + 1;
  while (pos <= out.size()) {
    size_t amp = out.find('&', pos);
    if (amp == std::string::npos) amp = out.size();
    std::string_view param(out.data() + pos, amp - pos);
    if (!param.empty() && !param.starts_with("password=")) {
      kept += kept.empty() ? "?" : "&";
      kept += param;
    }
    pos = amp + 1;
  }
  return head + kept;
}

DeviceState ParseDeviceState(std::string_view name) {
  if (name == "online") return DeviceState::kOnline;
  if (name == "offline") return DeviceState::kOffline;
  if (name == "silent") return DeviceState::kSilent;
  return DeviceState::kNever;
}

Status ValidateBatches(std::span<const BatchRows> batches) {
  for (size_t b = 0; b < batches.size(); ++b) {
    const BatchRows& batch = batches[b];
    if (batch.device.empty()) return Status::InvalidArgument("batch " + std::to_string(b) + ": no device");
    for (const EventRow& e : batch.events) {
      if (e.device != batch.device) {
        return Status::InvalidArgument("batch " + std::to_string(b) + " from device " + batch.device + ": event seq " +
                                       std::to_string(e.seq) + " names device " + e.device);
      }
    }
  }
  return Status::Ok();
}

Result<Json> EventData(const EventRow& event) {
  Json j = Json::parse(event.json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("device " + event.device + " seq " + std::to_string(event.seq) + ": " + event.type +
                                   " event is not a JSON object");
  }
  auto it = j.find("data");
  if (it == j.end()) return Json();
  return *it;
}

void BatchTally::Add(const EventRow& event, uint64_t event_bytes) {
  if (inserted == 0) {
    min_seq = max_seq = event.seq;
  } else {
    if (event.seq < min_seq) min_seq = event.seq;
    if (event.seq > max_seq) max_seq = event.seq;
  }
  ++inserted;
  bytes += event_bytes;
  if (event.type == "system_info" && (newest_system_info == nullptr || event.ts_ms > newest_system_info->ts_ms)) {
    newest_system_info = &event;
  }
  if (event.type == "posture" && (newest_posture == nullptr || event.ts_ms > newest_posture->ts_ms ||
                                  (event.ts_ms == newest_posture->ts_ms && event.seq > newest_posture->seq))) {
    newest_posture = &event;
  }
  if (event.type == "alert") alerts.push_back(&event);
}

Status ValidateAlert(const AlertRow& a) {
  if (a.origin != "device" && a.origin != "hub")
    return Status::InvalidArgument("alert origin \"" + a.origin + "\": expected device or hub");
  if (a.device.empty()) return Status::InvalidArgument("alert device: empty");
  if (a.rule_id.empty()) return Status::InvalidArgument("alert rule_id: empty");
  if (a.title.empty()) return Status::InvalidArgument("alert title: empty");
  static constexpr std::string_view kLevels[] = {"informational", "low", "medium", "high", "critical"};
  if (std::find(std::begin(kLevels), std::end(kLevels), a.level) == std::end(kLevels))
    return Status::InvalidArgument("alert level \"" + a.level +
                                   "\": expected informational, low, medium, high or critical");
  return Status::Ok();
}

Status BadAlertStatus(std::string_view status) {
  return Status::InvalidArgument("status \"" + std::string(status) + "\": expected new, acknowledged or resolved");
}

uint64_t MissingSeqs(uint64_t events, uint64_t min_seq, uint64_t max_seq) {
  if (events == 0 || max_seq < min_seq) return 0;
  uint64_t span = max_seq - min_seq + 1;
  return span > events ? span - events : 0;
}

}  // namespace store_internal
}  // namespace vigil::hub
