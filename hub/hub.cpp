#include "hub/hub.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "hub/analyze/analyzer.h"
#include "hub/vuln/inventory_feed.h"
#include "hub/api/api.h"
#include "hub/api/tokens.h"
#include "hub/hub_config.h"
#include "schema/schema.h"
#include "spdlog/spdlog.h"

namespace vigil::hub {
namespace {

// How often desired configurations and group memberships are compared with what was published
// (a change made by the CLI, or by another hub process, is published within this time).
constexpr int64_t kDesiredPollMs = 2000;

Result<std::pair<std::string, int>> ParseHostPort(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::InvalidArgument("http.listen '" + text + "': expected HOST:PORT");
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) return Status::InvalidArgument("http.listen '" + text + "': port must be 0-65535");
  return std::make_pair(host, port);
}

std::string DesiredPayload(const DesiredConfig& d) {
  return nlohmann::json{{"version", d.version}, {"config", d.config}}.dump();
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<HubServer>> HubServer::Create(const Config& config) {
  std::unique_ptr<HubServer> hub(new HubServer(config));
  const std::string& data_dir = config.GetString("hub.data_dir");
  if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError("hub.data_dir " + data_dir + ": " + std::strerror(errno));
  auto store = OpenStore(StoreUrl(config));
  if (!store.ok()) return store.status();
  hub->store_ = std::move(*store);
  Inbox::Options inbox_options;
  inbox_options.sync = config.GetBool("inbox.sync");
  auto inbox = Inbox::Open(data_dir + "/inbox", inbox_options);
  if (!inbox.ok()) return inbox.status();
  hub->inbox_ = std::move(*inbox);
  auto tokens = TokenStore::Open(data_dir + "/tokens.json");
  if (!tokens.ok()) return tokens.status();
  hub->tokens_ = std::move(*tokens);
  return hub;
}

HubServer::HubServer(const Config& config) : config_(config) {}

HubServer::~HubServer() { Stop(); }

Status HubServer::Start() {
  const auto& schema = schema::BuiltinSchema();
  if (!schema.ok()) return schema.status();
  IngestOptions io;
  io.url = config_.GetString("mqtt.url");
  io.ca_file = config_.GetString("mqtt.ca_file");
  io.cert_file = config_.GetString("mqtt.cert_file");
  io.key_file = config_.GetString("mqtt.key_file");
  io.username = config_.GetString("mqtt.username");
  io.password = config_.GetString("mqtt.password");
  io.client_id = config_.GetString("mqtt.client_id");
  io.share_group = config_.GetString("mqtt.share_group");
  io.keepalive_s = static_cast<int>(config_.GetInt("mqtt.keepalive") / 1000);
  io.session_expiry_s = static_cast<uint32_t>(config_.GetInt("mqtt.session_expiry") / 1000);
  io.limits.max_message_bytes = static_cast<size_t>(config_.GetInt("mqtt.max_message_size"));
  io.limits.max_raw_bytes = static_cast<size_t>(config_.GetInt("mqtt.max_raw_size"));
  if (config_.GetBool("analyze.enabled")) {
    AnalyzerOptions ao;
    ao.rule_paths = config_.GetList("analyze.rules");
    ao.lists_dir = config_.GetString("analyze.lists");
    ao.alert_rules = config_.GetList("analyze.alert_rules");
    ao.suppress_ms = config_.GetInt("analyze.suppress");
    ao.max_queue_events = static_cast<size_t>(config_.GetInt("analyze.queue"));
    analyzer_ = std::make_unique<Analyzer>(*store_, std::move(ao), &NowMs);
    if (Status s = analyzer_->Start(); !s.ok()) return s;
  }
  inventory_ = std::make_unique<vuln::InventoryFeed>(*store_, &NowMs);
  inventory_->Start();
  ingest_ = std::make_unique<Ingestor>(io, *store_, *inbox_, *schema, &NowMs);
  ingest_->OnStored([a = analyzer_.get(), v = inventory_.get()](std::span<const BatchRows> batches) {
    if (a) a->Enqueue(batches);
    v->Enqueue(batches);
  });
  if (Status s = ingest_->Start(); !s.ok()) return s;

  auto listen = ParseHostPort(config_.GetString("http.listen"));
  if (!listen.ok()) return listen.status();
  ApiServer::Options ao;
  ao.host = listen->first;
  ao.port = listen->second;
  ApiHooks hooks;
  hooks.ingest_stats = [this] { return ingest_->Stats(); };
  hooks.publish_desired = [this](const std::string& device) {
    if (Status s = PublishDesired(device); !s.ok())
      spdlog::warn("desired configuration of {}: {}", device, s.message());
  };
  hooks.now_ms = &NowMs;
  hooks.vuln_stats = [v = inventory_.get()] { return v->Stats(); };
  if (analyzer_) {
    hooks.analyze_stats = [a = analyzer_.get()] { return a->Stats(); };
    hooks.rules = [a = analyzer_.get()] { return a->Report().ToJson(); };
    hooks.reload_rules = [a = analyzer_.get()] { return a->Reload().ToJson(); };
  }
  api_ = std::make_unique<ApiServer>(*store_, *tokens_, std::move(hooks), ao);
  if (Status s = api_->Start(); !s.ok()) return s;

  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  return Status::Ok();
}

void HubServer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  if (api_) api_->Stop();
  if (ingest_) ingest_->Stop();
  if (analyzer_) analyzer_->Stop();
  if (inventory_) inventory_->Stop();
}

nlohmann::json HubServer::ReloadRules() {
  if (!analyzer_) return nlohmann::json::object();
  return analyzer_->Reload().ToJson();
}

Status HubServer::PublishDesired(std::string_view device) {
  auto desired = store_->EffectiveDesired(device);
  if (!desired.ok()) return desired.status();
  if (!desired->has_value()) return Status::Ok();
  return ingest_->Publish(TopicFor(device, TopicKind::kConfig), DesiredPayload(**desired), /*retain=*/true);
}

void HubServer::MaintenanceLoop() {
  const int64_t check_ms = config_.GetInt("devices.check_interval");
  const int64_t silent_ms = config_.GetInt("devices.silent_after");
  const int64_t retention_ms = config_.GetInt("retention.interval");
  const int64_t max_age_ms = config_.GetInt("retention.max_age");
  const uint64_t max_bytes = static_cast<uint64_t>(config_.GetInt("retention.max_size"));
  int64_t next_check = 0, next_retention = NowMs() + retention_ms, next_desired = 0;
  std::map<std::string, std::string> published;  // device -> version published this run

  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    int64_t now = NowMs();
    if (now >= next_check) {
      if (auto silent = store_->MarkSilent(now, silent_ms); !silent.ok()) {
        spdlog::error("devices: {}", silent.status().message());
      } else {
        for (const auto& id : *silent)
          spdlog::info("device {} is silent (nothing heard for {} s)", id, silent_ms / 1000);
      }
      next_check = now + check_ms;
    }
    if (now >= next_retention) {
      if (auto r = store_->ApplyRetention(now, max_age_ms, max_bytes); !r.ok()) {
        spdlog::error("retention: {}", r.status().message());
      } else if (r->deleted_by_age + r->deleted_by_size > 0) {
        spdlog::info("retention: deleted {} events by age, {} by size", r->deleted_by_age, r->deleted_by_size);
      }
      next_retention = now + retention_ms;
    }
    if (now >= next_desired && ingest_->connected()) {
      // Publish each device's document in force when it differs from what this run published.
      auto configs = store_->DesiredConfigs();
      auto devices = store_->Devices();
      if (configs.ok() && devices.ok() && !configs->empty()) {
        std::map<std::pair<std::string, std::string>, const DesiredConfig*> by_scope;
        for (const auto& c : *configs) by_scope[{c.scope, c.name}] = &c;
        for (const auto& d : *devices) {
          const DesiredConfig* in_force = nullptr;
          if (auto it = by_scope.find({"device", d.id}); it != by_scope.end())
            in_force = it->second;
          else if (auto g = by_scope.find({"group", d.group}); !d.group.empty() && g != by_scope.end())
            in_force = g->second;
          if (!in_force || d.revoked) continue;
          std::string key = in_force->scope + ":" + in_force->name + ":" + in_force->version;
          if (published[d.id] == key) continue;
          Status s = ingest_->Publish(TopicFor(d.id, TopicKind::kConfig), DesiredPayload(*in_force), true);
          if (s.ok()) {
            published[d.id] = key;
            spdlog::info("desired configuration version {} ({} {}) published to {}", in_force->version, in_force->scope,
                         in_force->name, d.id);
          }
        }
      }
      next_desired = now + kDesiredPollMs;
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
  }
}

nlohmann::json HubServer::Stats() {
  nlohmann::json out = {{"ingest", ingest_ ? ingest_->Stats() : nlohmann::json::object()},
                        {"analyze", analyzer_ ? analyzer_->Stats() : nlohmann::json::object()},
                        {"vuln", inventory_ ? inventory_->Stats() : nlohmann::json::object()}};
  if (auto s = store_->Stats(); s.ok())
    out["store"] = {{"events", s->events}, {"bytes", s->bytes}, {"devices", s->devices}};
  return out;
}

std::string HubServer::http_address() const {
  if (!api_) return "";
  auto listen = ParseHostPort(config_.GetString("http.listen"));
  return (listen.ok() ? listen->first : std::string("?")) + ":" + std::to_string(api_->port());
}

}  // namespace vigil::hub
