#include "hub/ingest/ingest.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "agent/core/mqtt_url.h"
#include "schema/schema.h"
#include "spdlog/spdlog.h"

namespace vigil::hub {
namespace {

constexpr int64_t kRevokedRefreshMs = 5000;
constexpr auto kStartTimeout = std::chrono::seconds(10);

std::string MosquittoError(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  return mosquitto_strerror(rc);
}

struct LibInit {
  LibInit() { mosquitto_lib_init(); }
};

}  // namespace

Ingestor::Ingestor(IngestOptions options, Store& store, Inbox& inbox, const schema::Schema& schema, Clock now)
    : options_(std::move(options)), store_(store), inbox_(inbox), schema_(schema), now_(std::move(now)) {}

Ingestor::~Ingestor() { Stop(); }

Status Ingestor::Start() {
  static LibInit init;
  writer_ = std::thread([this] { WriterLoop(); });
  // What an earlier run took and did not store goes first.
  auto unreleased = inbox_.TakeUnreleased();
  if (!unreleased.empty()) spdlog::info("inbox: storing {} messages an earlier run had not stored", unreleased.size());
  for (auto& m : unreleased) Enqueue(m.number, m.topic, m.payload);
  if (options_.url.empty()) return Status::Ok();  // no broker: Take() only (tests, replay)

  auto url = ParseMqttUrl(options_.url);
  if (!url.ok()) return url.status().WithContext("mqtt");
  mosq_ = mosquitto_new(options_.client_id.c_str(), /*clean_session=*/false, this);
  if (!mosq_) return Status::Internal("mqtt: cannot create a client: " + MosquittoError(MOSQ_ERR_ERRNO));
  mosquitto_int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_connect_v5_callback_set(mosq_, &Ingestor::OnConnect);
  mosquitto_disconnect_v5_callback_set(mosq_, &Ingestor::OnDisconnect);
  mosquitto_message_v5_callback_set(mosq_, &Ingestor::OnMessage);
  mosquitto_log_callback_set(mosq_, [](mosquitto*, void* self, int level, const char* text) {
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
      auto* me = static_cast<Ingestor*>(self);
      std::lock_guard lock(me->mutex_);
      me->last_error_ = text;
    }
  });
  mosquitto_reconnect_delay_set(mosq_, 1, 30, true);
  int rc = MOSQ_ERR_SUCCESS;
  if (!options_.username.empty())
    rc = mosquitto_username_pw_set(mosq_, options_.username.c_str(),
                                   options_.password.empty() ? nullptr : options_.password.c_str());
  if (rc == MOSQ_ERR_SUCCESS && url->tls) {
    if (options_.ca_file.empty()) return Status::InvalidArgument("mqtts: the CA file (mqtt.ca_file) is needed");
    rc = mosquitto_tls_set(mosq_, options_.ca_file.c_str(), nullptr,
                           options_.cert_file.empty() ? nullptr : options_.cert_file.c_str(),
                           options_.key_file.empty() ? nullptr : options_.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS)
      return Status::InvalidArgument("mqtts: the CA, certificate or key file cannot be used (" + options_.ca_file +
                                     ", " + options_.cert_file + ", " + options_.key_file + "): " + MosquittoError(rc));
  }
  if (rc != MOSQ_ERR_SUCCESS) return Status::InvalidArgument("mqtt: " + MosquittoError(rc));
  mosquitto_property* props = nullptr;
  mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, options_.session_expiry_s);
  rc = mosquitto_connect_bind_v5(mosq_, url->host.c_str(), url->port, options_.keepalive_s, nullptr, props);
  mosquitto_property_free_all(&props);
  if (rc != MOSQ_ERR_SUCCESS)
    return Status::Unavailable("cannot connect to the broker at " + options_.url + ": " + MosquittoError(rc));
  rc = mosquitto_loop_start(mosq_);
  if (rc != MOSQ_ERR_SUCCESS) return Status::Internal("mqtt: cannot start the network thread: " + MosquittoError(rc));

  // Wait for the first CONNACK, so that a refusal (a certificate, a password) is said at once.
  std::unique_lock lock(mutex_);
  bool done = cv_.wait_for(lock, kStartTimeout, [&] { return connected_.load() || disconnects_ > 0; });
  if (connected_) return Status::Ok();
  std::string why = last_error_.empty() ? (done ? "the connection was closed" : "no answer") : last_error_;
  lock.unlock();
  Stop();
  return Status::Unavailable("cannot connect to the broker at " + options_.url + ": " + why);
}

void Ingestor::Stop() {
  if (mosq_) {
    stopping_ = true;
    mosquitto_disconnect_v5(mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
    mosq_ = nullptr;
    connected_ = false;
  }
  {
    std::lock_guard lock(mutex_);
    writer_stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void Ingestor::OnConnect(mosquitto* m, void* self, int rc, int /*flags*/, const mqtt5__property* /*props*/) {
  auto* me = static_cast<Ingestor*>(self);
  if (rc != 0) {
    std::lock_guard lock(me->mutex_);
    me->last_error_ = std::string("the broker refused the connection: ") + mosquitto_reason_string(rc);
    ++me->disconnects_;
    me->cv_.notify_all();
    return;
  }
  const std::string base = "$share/" + me->options_.share_group + "/vigil/v1/+/";
  const std::string topics[] = {base + "events", base + "status", base + "reported"};
  for (const auto& t : topics) {
    int src = mosquitto_subscribe_v5(m, nullptr, t.c_str(), 1, 0, nullptr);
    if (src != MOSQ_ERR_SUCCESS) spdlog::error("mqtt: cannot subscribe to {}: {}", t, MosquittoError(src));
  }
  spdlog::info("mqtt: connected to {}, subscribed to {}{{events,status,reported}}", me->options_.url, base);
  std::lock_guard lock(me->mutex_);
  ++me->connects_;
  me->connected_ = true;
  me->cv_.notify_all();
}

void Ingestor::OnDisconnect(mosquitto* /*m*/, void* self, int rc, const mqtt5__property* /*props*/) {
  auto* me = static_cast<Ingestor*>(self);
  std::lock_guard lock(me->mutex_);
  me->connected_ = false;
  ++me->disconnects_;
  if (!me->stopping_) {
    spdlog::warn("mqtt: connection to {} lost ({}); reconnecting", me->options_.url,
                 rc == 0 ? "closed" : mosquitto_reason_string(rc));
  }
  me->cv_.notify_all();
}

void Ingestor::OnMessage(mosquitto* /*m*/, void* self, const mosquitto_message* msg, const mqtt5__property* /*props*/) {
  auto* me = static_cast<Ingestor*>(self);
  std::string topic = msg->topic ? msg->topic : "";
  std::string_view payload(static_cast<const char*>(msg->payload), static_cast<size_t>(std::max(msg->payloadlen, 0)));
  // Into the inbox before anything else (inbox.h says why).
  uint64_t number = 0;
  if (auto n = me->inbox_.Append(topic, payload); n.ok()) {
    number = *n;
  } else if (payload.size() <= me->options_.limits.max_message_bytes) {
    spdlog::error("inbox: {}; the message is stored without it", n.status().message());
  }
  me->Enqueue(number, topic, payload);
}

void Ingestor::Take(const std::string& topic, const std::string& payload) {
  uint64_t number = 0;
  if (auto n = inbox_.Append(topic, payload); n.ok()) number = *n;
  Enqueue(number, topic, payload);
}

void Ingestor::Reject(std::string_view reason, const std::string& what) {
  spdlog::warn("ingest: rejected ({}): {}", reason, what);
  std::lock_guard lock(mutex_);
  auto it = rejected_.find(reason);
  if (it == rejected_.end()) it = rejected_.emplace(std::string(reason), 0).first;
  ++it->second;
}

void Ingestor::Enqueue(uint64_t number, const std::string& topic, std::string_view payload) {
  Pending p;
  p.number = number;
  p.taken_ms = now_();
  auto t = ParseTopic(topic);
  if (!t.ok()) {
    Reject(kRejectTopic, std::string(t.status().message()));
  } else {
    p.device = t->device;
    p.kind = t->kind;
    switch (t->kind) {
      case TopicKind::kEvents: {
        auto decoded = DecodeEventsMessage(t->device, payload, options_.limits, schema_);
        if (auto* r = std::get_if<Rejection>(&decoded)) {
          Reject(r->reason, topic + ": " + r->message);
        } else {
          p.body = std::move(std::get<DecodedEvents>(decoded));
        }
        break;
      }
      case TopicKind::kStatus: {
        auto s = ParseStatusMessage(payload);
        if (s.ok())
          p.body = std::move(*s);
        else
          Reject(kRejectStatus, topic + ": " + std::string(s.status().message()));
        break;
      }
      case TopicKind::kReported: {
        auto r = ParseReportedMessage(payload);
        if (r.ok())
          p.body = std::move(*r);
        else
          Reject(kRejectStatus, topic + ": " + std::string(r.status().message()));
        break;
      }
      case TopicKind::kConfig:
        Reject(kRejectTopic, topic + ": the config topic is written by the hub, not read");
        break;
    }
  }
  std::unique_lock lock(mutex_);
  ++messages_;
  cv_.wait(lock, [&] { return queue_.size() < options_.queue_messages || writer_stop_; });
  queue_.push_back(std::move(p));
  cv_.notify_all();
}

bool Ingestor::IsRevoked(const std::string& device) {
  std::lock_guard lock(revoked_mutex_);
  int64_t now = now_();
  if (revoked_read_ms_ < 0 || now - revoked_read_ms_ >= kRevokedRefreshMs) {
    if (auto devices = store_.Devices(); devices.ok()) {
      revoked_.clear();
      for (const auto& d : *devices)
        if (d.revoked) revoked_.insert(d.id);
      revoked_read_ms_ = now;
    }
  }
  return revoked_.count(device) > 0;
}

void Ingestor::WriterLoop() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return !queue_.empty() || writer_stop_; });
    if (queue_.empty()) break;
    std::deque<Pending> round;
    size_t events = 0;
    while (!queue_.empty() && (round.empty() || events < options_.max_round_events)) {
      if (auto* d = std::get_if<DecodedEvents>(&queue_.front().body)) events += d->rows.events.size();
      round.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    writer_busy_ = true;
    cv_.notify_all();
    lock.unlock();
    StoreRound(round);
    lock.lock();
    writer_busy_ = false;
    cv_.notify_all();
  }
}

void Ingestor::StoreRound(std::deque<Pending>& round) {
  std::vector<BatchRows> batches;
  uint64_t last_number = 0;
  for (auto& p : round) {
    last_number = std::max(last_number, p.number);
    if (auto* d = std::get_if<DecodedEvents>(&p.body)) {
      if (IsRevoked(p.device)) {
        Reject(kRejectRevoked, "device " + p.device + ": its certificate was revoked");
        continue;
      }
      batches.push_back(std::move(d->rows));
    }
  }
  if (!batches.empty()) {
    while (true) {
      auto result = store_.Ingest(batches, now_());
      if (result.ok()) {
        std::lock_guard lock(mutex_);
        ++rounds_;
        events_stored_ += result->inserted;
        duplicates_ += result->duplicates;
        break;
      }
      std::unique_lock lock(mutex_);
      ++store_failures_;
      last_error_ = std::string(result.status().message());
      spdlog::error("ingest: the store failed ({}); trying again in 1 s", result.status().message());
      if (cv_.wait_for(lock, std::chrono::seconds(1), [&] { return writer_stop_; })) return;  // kept in the inbox
    }
  }
  if (!batches.empty() && on_stored_) on_stored_(batches);
  for (auto& p : round) {
    if (auto* s = std::get_if<StatusMessage>(&p.body)) {
      if (Status st = store_.SetDeviceState(p.device, s->state, s->agent_version, now_()); !st.ok())
        spdlog::error("ingest: device {}: {}", p.device, st.message());
      if (on_seen_) on_seen_(p.device, TopicKind::kStatus);
    } else if (auto* r = std::get_if<nlohmann::json>(&p.body)) {
      if (Status st = store_.SetReported(p.device, *r, now_()); !st.ok())
        spdlog::error("ingest: device {}: {}", p.device, st.message());
      if (on_seen_) on_seen_(p.device, TopicKind::kReported);
    }
  }
  if (last_number > 0) {
    if (Status s = inbox_.Release(last_number); !s.ok()) spdlog::error("inbox: {}", s.message());
  }
}

Status Ingestor::Publish(const std::string& topic, const std::string& payload, bool retain) {
  if (!mosq_ || !connected_) return Status::Unavailable("not connected to the broker");
  int rc = mosquitto_publish_v5(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1,
                                retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) return Status::Unavailable("publish to " + topic + ": " + MosquittoError(rc));
  return Status::Ok();
}

bool Ingestor::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !writer_busy_; });
}

nlohmann::json Ingestor::Stats() const {
  std::lock_guard lock(mutex_);
  nlohmann::json rejected = nlohmann::json::object();
  uint64_t rejected_total = 0;
  for (const auto& [reason, n] : rejected_) {
    rejected[reason] = n;
    rejected_total += n;
  }
  return {{"connected", connected_.load()},
          {"broker", options_.url},
          {"connects", connects_},
          {"disconnects", disconnects_},
          {"messages", messages_},
          {"queued", queue_.size()},
          {"rounds", rounds_},
          {"events_stored", events_stored_},
          {"duplicates", duplicates_},
          {"rejected", rejected_total},
          {"rejected_by_reason", rejected},
          {"store_failures", store_failures_},
          {"inbox_damaged_records", inbox_.damaged_records()},
          {"last_error", last_error_}};
}

}  // namespace vigil::hub
