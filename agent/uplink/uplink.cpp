#include "agent/uplink/uplink.h"

#include "agent/uplink/mosquitto_api.h"

#include <mqtt_protocol.h>

#include <algorithm>
#include <mutex>

#include <spdlog/spdlog.h>

namespace vigil {
namespace {

constexpr size_t kReadChunk = 64 << 10;
constexpr int kLoopTimeoutMs = 100;
constexpr int64_t kConnackTimeoutMs = 10'000;
constexpr const char* kOffline = R"({"state":"offline"})";

// What to check, for the errors a device owner meets.
std::string Hint(std::string_view error) {
  auto has = [&](std::string_view s) { return error.find(s) != std::string_view::npos; };
  if (has("unknown ca") || has("bad certificate") || has("certificate required") || has("certificate unknown"))
    return " (the broker rejected this device's certificate: check uplink.cert_file and uplink.key_file, and "
           "that the certificate is issued by the CA the broker trusts)";
  if (has("certificate verify failed"))
    return " (the broker's certificate is not trusted: check uplink.ca_file and the host name in the URL)";
  if (has("Connection refused")) return " (nothing listens there: is the broker running, and the port right?)";
  if (has("Not authorized") || has("Bad user name or password"))
    return " (check uplink.username and uplink.password, or the broker's ACL)";
  return "";
}

}  // namespace

Uplink::Uplink(Env& env, Spool& spool, UplinkOptions options, ConfigHandler on_config)
    : env_(env), spool_(spool), options_(std::move(options)), on_config_(std::move(on_config)) {
  const std::string base = "vigil/v1/" + options_.device_id + "/";
  events_topic_ = base + "events";
  config_topic_ = base + "config";
  reported_topic_ = base + "reported";
  status_topic_ = base + "status";
  rng_state_ = static_cast<uint64_t>(env_.clock().NowMs()) * 0x9E3779B97F4A7C15ull | 1;
}

Uplink::~Uplink() { Stop(); }

Status Uplink::Start() {
  auto url = ParseMqttUrl(options_.url);
  if (!url.ok()) return url.status().WithContext("uplink");
  url_ = *url;
  if (url_.tls) {
    for (const auto& [key, path] : {std::pair{"uplink.ca_file", &options_.ca_file},
                                    std::pair{"uplink.cert_file", &options_.cert_file},
                                    std::pair{"uplink.key_file", &options_.key_file}}) {
      if (path->empty())
        return Status::InvalidArgument(std::string("uplink: ") + options_.url + " needs " + key +
                                       " (TLS with a device certificate)");
      if (auto r = env_.ReadFile(*path, 1); !r.ok())
        return Status::InvalidArgument(std::string("uplink: ") + key + ": " + std::string(r.status().message()));
    }
  }
  auto api = LoadMosquitto();
  if (!api.ok()) return api.status().WithContext("uplink");
  api_ = *api;
  BatchEncoder::Options eo;
  eo.max_message_bytes = options_.max_message_bytes;
  eo.level = options_.compression_level;
  eo.compress = options_.compress;
  encoder_ = std::make_unique<BatchEncoder>(eo);
  ResetCursors();
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Uplink::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ || !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Uplink::PublishReported(std::string json) {
  std::lock_guard lock(mu_);
  reported_ = std::move(json);
  reported_dirty_ = true;
}

UplinkStats Uplink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

Json Uplink::StatsJson() const {
  UplinkStats s = stats();
  return Json{{"connected", s.connected},
              {"url", options_.url},
              {"connects", s.connects},
              {"connect_failures", s.connect_failures},
              {"disconnects", s.disconnects},
              {"batches_sent", s.batches_sent},
              {"batches_acked", s.batches_acked},
              {"batches_rejected", s.batches_rejected},
              {"events_acked", s.events_acked},
              {"bytes_sent", s.bytes_sent},
              {"raw_bytes_sent", s.raw_bytes_sent},
              {"too_large", s.too_large},
              {"last_error", s.last_error}};
}

void Uplink::ResetCursors() {
  for (size_t p = 0; p < kPriorityCount; ++p) {
    cursor_[p] = spool_.released(static_cast<Priority>(p));
    lookahead_[p].clear();
  }
  inflight_.clear();
}

void Uplink::Fail(const std::string& error) {
  std::string full = error + Hint(error);
  std::lock_guard lock(mu_);
  if (stats_.last_error != full) spdlog::error("uplink: {}", full);
  stats_.last_error = full;
}

void Uplink::Run() {
  int64_t stop_deadline = -1;
  for (;;) {
    const int64_t now = env_.clock().MonotonicMs();
    bool stopping;
    {
      std::lock_guard lock(mu_);
      stopping = stop_;
    }
    if (stopping && stop_deadline < 0) {
      stop_deadline = now + options_.stop_timeout_ms;
      (void)spool_.Sync(/*force=*/true);
    }
    if (stopping && (!connected_ || Drained() || now >= stop_deadline)) break;

    if (!mosq_ && !stopping && now >= next_attempt_ms_) Connect();
    (void)spool_.Sync();
    if (connected_) {
      std::string reported;
      {
        std::lock_guard lock(mu_);
        if (reported_dirty_) reported = reported_;
        reported_dirty_ = false;
      }
      if (!reported.empty()) PublishRetained(reported_topic_, reported);
      PublishBatches();
    }
    if (now - last_checkpoint_ms_ >= options_.checkpoint_interval_ms) {
      (void)spool_.Checkpoint();
      last_checkpoint_ms_ = now;
    }
    if (mosq_ && !connected_ && !lost_ && now - connect_started_ms_ > kConnackTimeoutMs) {
      lost_ = true;
      lost_reason_ = "no answer (CONNACK) within " + std::to_string(kConnackTimeoutMs / 1000) + " s";
    }
    if (mosq_) {
      int rc = api_->loop(mosq_, kLoopTimeoutMs, 1);
      if (rc != MOSQ_ERR_SUCCESS && !lost_) {
        lost_ = true;
        lost_reason_ = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : api_->strerror(rc);
      }
      if (lost_) Disconnected(lost_reason_);
    } else {
      std::unique_lock lock(mu_);
      const int64_t wait = std::clamp<int64_t>(next_attempt_ms_ - env_.clock().MonotonicMs(), 1, kLoopTimeoutMs);
      cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return stop_; });
    }
  }
  if (mosq_) {
    if (connected_) {
      int mid = 0;
      api_->publish(mosq_, &mid, status_topic_.c_str(), static_cast<int>(std::strlen(kOffline)), kOffline, 1,
                           true, nullptr);
      api_->disconnect(mosq_, MQTT_RC_NORMAL_DISCONNECTION, nullptr);
      for (int i = 0; i < 20 && api_->loop(mosq_, 50, 1) == MOSQ_ERR_SUCCESS; ++i) {
      }
    }
    Teardown();
  }
  (void)spool_.Checkpoint();
}

bool Uplink::Drained() const {
  if (!inflight_.empty()) return false;
  for (size_t p = 0; p < kPriorityCount; ++p)
    if (!lookahead_[p].empty() || spool_.HasReadable(static_cast<Priority>(p), cursor_[p])) return false;
  return true;
}

void Uplink::Connect() {
  const std::string client_id = options_.client_id.empty() ? "vigil-" + options_.device_id : options_.client_id;
  mosq_ = api_->create(client_id.c_str(), /*clean_session=*/true, this);
  if (!mosq_) {
    Fail("cannot create an MQTT client");
    next_attempt_ms_ = env_.clock().MonotonicMs() + options_.reconnect_max_ms;
    return;
  }
  lost_ = false;
  tls_error_.clear();
  connect_started_ms_ = env_.clock().MonotonicMs();
  api_->int_option(mosq_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  api_->connect_callback_set(mosq_, &Uplink::OnConnect);
  api_->disconnect_callback_set(mosq_, &Uplink::OnDisconnect);
  api_->publish_callback_set(mosq_, &Uplink::OnPublish);
  api_->message_callback_set(mosq_, &Uplink::OnMessage);
  api_->log_callback_set(mosq_, &Uplink::OnLog);
  int rc = MOSQ_ERR_SUCCESS;
  if (!options_.username.empty())
    rc = api_->username_pw_set(mosq_, options_.username.c_str(),
                                   options_.password.empty() ? nullptr : options_.password.c_str());
  if (rc == MOSQ_ERR_SUCCESS && url_.tls) {
    rc = api_->tls_set(mosq_, options_.ca_file.c_str(), nullptr, options_.cert_file.c_str(),
                           options_.key_file.c_str(), nullptr);
    if (rc == MOSQ_ERR_SUCCESS) rc = api_->tls_opts_set(mosq_, 1 /* verify the broker */, nullptr, nullptr);
  }
  if (rc == MOSQ_ERR_SUCCESS)
    rc = api_->will_set(mosq_, status_topic_.c_str(), static_cast<int>(std::strlen(kOffline)), kOffline, 1,
                               true, nullptr);
  if (rc == MOSQ_ERR_SUCCESS)
    rc = api_->connect(mosq_, url_.host.c_str(), url_.port, options_.keepalive_s, nullptr, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::string why = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno)) : api_->strerror(rc);
    if (!tls_error_.empty()) why += ": " + tls_error_;
    lost_ = true;
    lost_reason_ = why;
    Disconnected(why);
  }
}

void Uplink::Disconnected(const std::string& why) {
  const bool was_connected = connected_;
  std::string reason = why;
  if (!tls_error_.empty() && reason.find(tls_error_) == std::string::npos) reason += ": TLS: " + tls_error_;
  Teardown();
  ResetCursors();
  {
    std::lock_guard lock(mu_);
    stats_.connected = false;
    if (was_connected) ++stats_.disconnects;
    else ++stats_.connect_failures;
  }
  Fail(was_connected ? "connection to " + options_.url + " lost: " + reason
                     : "cannot connect to " + options_.url + ": " + reason);
  if (was_connected) backoff_ms_ = 0;
  backoff_ms_ = backoff_ms_ == 0 ? options_.reconnect_min_ms : std::min(backoff_ms_ * 2, options_.reconnect_max_ms);
  // xorshift: the jitter need not be secret, only different across a fleet's devices.
  rng_state_ ^= rng_state_ << 13;
  rng_state_ ^= rng_state_ >> 7;
  rng_state_ ^= rng_state_ << 17;
  const int64_t half = backoff_ms_ / 2;
  const int64_t wait = half + static_cast<int64_t>(rng_state_ % static_cast<uint64_t>(half + 1));
  next_attempt_ms_ = env_.clock().MonotonicMs() + wait;
  spdlog::debug("uplink: next attempt in {} ms", wait);
}

void Uplink::Teardown() {
  if (mosq_) api_->destroy(mosq_);
  mosq_ = nullptr;
  connected_ = false;
  lost_ = false;
}

void Uplink::OnConnect(struct mosquitto*, void* self_ptr, int rc, int, const mosquitto_property*) {
  auto* self = static_cast<Uplink*>(self_ptr);
  if (rc != 0) {
    self->lost_ = true;
    self->lost_reason_ = std::string("the broker refused the connection: ") + self->api_->reason_string(rc);
    return;
  }
  self->connected_ = true;
  self->backoff_ms_ = 0;
  self->ResetCursors();
  {
    std::lock_guard lock(self->mu_);
    ++self->stats_.connects;
    self->stats_.connected = true;
    self->stats_.last_error.clear();
    self->reported_dirty_ = !self->reported_.empty();  // the broker may have lost it
  }
  spdlog::info("uplink: connected to {} as {}", self->options_.url, self->options_.device_id);
  Json online{{"state", "online"}, {"ts", self->env_.clock().NowMs()}, {"agent_version", self->options_.agent_version}};
  self->PublishRetained(self->status_topic_, online.dump());
  self->api_->subscribe(self->mosq_, nullptr, self->config_topic_.c_str(), 1, 0, nullptr);
}

void Uplink::OnDisconnect(struct mosquitto*, void* self_ptr, int rc, const mosquitto_property*) {
  auto* self = static_cast<Uplink*>(self_ptr);
  if (self->lost_) return;
  self->lost_ = true;
  // rc: a libmosquitto error when the connection broke, an MQTT 5 reason code when the broker
  // sent DISCONNECT.
  self->lost_reason_ = rc == 0      ? "disconnected"
                       : rc >= 0x80 ? std::string("the broker disconnected: ") + self->api_->reason_string(rc)
                                    : std::string(self->api_->strerror(rc));
}

void Uplink::OnPublish(struct mosquitto*, void* self_ptr, int mid, int reason, const mosquitto_property*) {
  auto* self = static_cast<Uplink*>(self_ptr);
  auto it = std::find_if(self->inflight_.begin(), self->inflight_.end(), [&](const Batch& b) { return b.mid == mid; });
  if (it == self->inflight_.end()) return;  // a status or reported message
  if (reason >= 0x80) {
    // Refused by the broker (ACL, quota, size): keep the records; try again on a new connection.
    {
      std::lock_guard lock(self->mu_);
      ++self->stats_.batches_rejected;
    }
    self->lost_ = true;
    self->lost_reason_ = std::string("the broker refused an events message: ") + self->api_->reason_string(reason);
    return;
  }
  it->acked = true;
  self->ReleaseAcked();
}

void Uplink::ReleaseAcked() {
  // In order only: a record is released when its batch and every earlier one are acknowledged.
  while (!inflight_.empty() && inflight_.front().acked) {
    const Batch& b = inflight_.front();
    for (size_t p = 0; p < kPriorityCount; ++p)
      if (b.has[p]) spool_.Release(static_cast<Priority>(p), b.end[p], b.max_seq[p]);
    {
      std::lock_guard lock(mu_);
      ++stats_.batches_acked;
      stats_.events_acked += b.events;
    }
    inflight_.pop_front();
  }
}

void Uplink::OnMessage(struct mosquitto*, void* self_ptr, const struct mosquitto_message* msg,
                       const mosquitto_property*) {
  auto* self = static_cast<Uplink*>(self_ptr);
  if (!msg->topic || self->config_topic_ != msg->topic) return;
  {
    std::lock_guard lock(self->mu_);
    ++self->stats_.config_messages;
  }
  if (self->on_config_ && msg->payloadlen > 0)
    self->on_config_(std::string(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)));
}

void Uplink::OnLog(struct mosquitto*, void* self_ptr, int level, const char* text) {
  auto* self = static_cast<Uplink*>(self_ptr);
  if (level & MOSQ_LOG_ERR) {
    std::string_view t = text;
    // "OpenSSL Error[0]: error:0A000418:SSL routines::tlsv1 alert unknown ca" -> the reason.
    size_t colons = t.rfind("::");
    self->tls_error_ = std::string(colons != std::string_view::npos ? t.substr(colons + 2) : t);
  }
  spdlog::debug("uplink: mqtt: {}", text);
}

bool Uplink::PublishRetained(const std::string& topic, const std::string& payload) {
  int rc = api_->publish(mosq_, nullptr, topic.c_str(), static_cast<int>(payload.size()), payload.data(), 1,
                                true, nullptr);
  if (rc != MOSQ_ERR_SUCCESS && !lost_) {
    lost_ = true;
    lost_reason_ = api_->strerror(rc);
  }
  return rc == MOSQ_ERR_SUCCESS;
}

void Uplink::PublishBatches() {
  while (connected_ && !lost_ && inflight_.size() < static_cast<size_t>(options_.max_inflight)) {
    encoder_->Begin(options_.device_id);
    Batch b;
    bool full = false;
    uint64_t dropped = 0;
    for (size_t p = 0; p < kPriorityCount && !full; ++p) {
      std::deque<SpoolRecord>& ahead = lookahead_[p];
      for (;;) {
        if (ahead.empty()) {
          std::vector<SpoolRecord> more;
          if (Status st = spool_.Read(static_cast<Priority>(p), &cursor_[p], kReadChunk, &more); !st.ok()) {
            Fail(st.ToString());
            break;
          }
          if (more.empty()) break;
          for (SpoolRecord& r : more) ahead.push_back(std::move(r));
        }
        SpoolRecord& r = ahead.front();
        BatchEncoder::AddResult added = encoder_->Add(r.payload, r.seq);
        if (added == BatchEncoder::AddResult::kFull) {
          full = true;
          break;
        }
        if (added == BatchEncoder::AddResult::kTooLarge) ++dropped;  // released with this batch
        else ++b.events;
        b.has[p] = true;
        b.end[p] = r.end;
        b.max_seq[p] = std::max(b.max_seq[p], r.seq);
        ahead.pop_front();
      }
    }
    if (dropped > 0) {
      std::lock_guard lock(mu_);
      stats_.too_large += dropped;
      spdlog::error("uplink: {} events larger than uplink.max_message_size dropped", dropped);
    }
    if (b.events == 0) {
      if (dropped > 0) {
        b.acked = true;  // nothing to send, but the skipped records are done with
        inflight_.push_back(b);
        ReleaseAcked();
        continue;
      }
      return;
    }
    b.raw_bytes = encoder_->raw_bytes();
    std::string_view msg = encoder_->Finish();
    int rc = api_->publish(mosq_, &b.mid, events_topic_.c_str(), static_cast<int>(msg.size()), msg.data(), 1,
                                  false, nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      lost_ = true;
      lost_reason_ = std::string("publish: ") + api_->strerror(rc);
      return;
    }
    inflight_.push_back(b);
    std::lock_guard lock(mu_);
    ++stats_.batches_sent;
    stats_.bytes_sent += msg.size();
    stats_.raw_bytes_sent += b.raw_bytes;
  }
}

}  // namespace vigil
