// Uplink: sends the spool's events to the hub through an MQTT broker (libmosquitto, MQTT 5),
// and receives the device's desired configuration.
//
// Topics (<device> is the device id):
//   vigil/v1/<device>/events    QoS 1 batches of events (format: agent/core/batch_format.md)
//   vigil/v1/<device>/config    desired configuration from the hub, retained (subscribed)
//   vigil/v1/<device>/reported  the configuration applied, retained (PublishReported)
//   vigil/v1/<device>/status    {"state":"online",...} retained on connect; {"state":"offline"}
//                               as the will, and on a clean stop
//
// Delivery: a batch takes the synced records of the high queue first, then medium, then low,
// until it is full (max_message_bytes) or nothing is left; at most max_inflight batches wait
// for their PUBACK at once. A record is released in the spool only when the PUBACK of its
// batch, and of every batch sent before it, has arrived; so after a lost connection or a
// crash the records not acknowledged are sent again (with the same sequence numbers: the hub
// keeps one copy). Each connection is a fresh MQTT session; nothing is queued inside the MQTT
// library across connections.
//
// Connection: the TCP connection blocks the uplink thread (not the pipeline: events keep going
// to the spool), and a CONNACK must follow within 10 s. A refused connection fails at once;
// a broker whose packets are dropped holds the attempt for the kernel's TCP connect timeout
// (about two minutes), and a stop during that attempt waits for it.
// mqtt://HOST:PORT (plain TCP, optional user name and password: for local use)
// or mqtts://HOST:PORT (TLS, the broker verified against ca_file, and the device's client
// certificate and key). A failed attempt is retried after an exponential backoff with
// jitter (reconnect_min doubling up to reconnect_max, each wait drawn from [d/2, d]); the
// error is logged once per change with what to check.
//
// Threads: the uplink runs one thread of its own, which alone touches the MQTT connection.
// Start, Stop, PublishReported and the accessors may be called from any thread. The config
// handler is called on the uplink thread and must return quickly.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/core/batch.h"
#include "agent/core/event.h"
#include "agent/core/mqtt_url.h"
#include "agent/uplink/spool.h"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace vigil {
struct MosquittoApi;
}

namespace vigil {

struct UplinkOptions {
  std::string url;
  std::string device_id;
  std::string client_id;  // empty: "vigil-<device>"
  std::string ca_file, cert_file, key_file;
  std::string username, password;
  int keepalive_s = 60;
  size_t max_message_bytes = 256 << 10;
  bool compress = true;
  int compression_level = 3;
  int max_inflight = 4;
  int64_t reconnect_min_ms = 1000;
  int64_t reconnect_max_ms = 60'000;
  int64_t checkpoint_interval_ms = 1000;  // how often released positions are written
  int64_t stop_timeout_ms = 2000;         // a clean stop waits this long for what is unsent
  std::string agent_version;
};

struct UplinkStats {
  bool connected = false;
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;
  uint64_t batches_sent = 0;
  uint64_t batches_acked = 0;
  uint64_t batches_rejected = 0;
  uint64_t events_acked = 0;
  uint64_t bytes_sent = 0;      // events messages, as sent
  uint64_t raw_bytes_sent = 0;  // the same, uncompressed
  uint64_t too_large = 0;       // events that fit no message, dropped
  uint64_t config_messages = 0;
  std::string last_error;
};

class Uplink {
 public:
  using ConfigHandler = std::function<void(std::string payload)>;

  Uplink(Env& env, Spool& spool, UplinkOptions options, ConfigHandler on_config);
  ~Uplink();

  // Checks the options (URL, files readable) and starts the thread; connecting happens there.
  Status Start();
  // Sends what the spool holds for up to stop_timeout_ms, publishes offline, disconnects.
  void Stop();

  // The latest reported configuration; published (retained) now if connected, else on connect.
  void PublishReported(std::string json);

  UplinkStats stats() const;
  Json StatsJson() const;
  const std::string& events_topic() const { return events_topic_; }

 private:
  struct Batch {
    int mid = 0;
    bool acked = false;
    uint64_t events = 0;
    uint64_t raw_bytes = 0;
    std::array<bool, kPriorityCount> has{};
    std::array<SpoolPosition, kPriorityCount> end{};
    std::array<uint64_t, kPriorityCount> max_seq{};
  };

  void Run();
  void Connect();
  void Disconnected(const std::string& why);
  void Teardown();
  void ResetCursors();
  void PublishBatches();
  bool PublishRetained(const std::string& topic, const std::string& payload);
  void ReleaseAcked();
  void Fail(const std::string& error);
  bool Drained() const;

  static void OnConnect(struct mosquitto*, void* self, int rc, int flags, const ::mqtt5__property* props);
  static void OnDisconnect(struct mosquitto*, void* self, int rc, const ::mqtt5__property* props);
  static void OnPublish(struct mosquitto*, void* self, int mid, int reason, const ::mqtt5__property* props);
  static void OnMessage(struct mosquitto*, void* self, const struct mosquitto_message* msg,
                        const ::mqtt5__property* props);
  static void OnLog(struct mosquitto*, void* self, int level, const char* text);

  Env& env_;
  Spool& spool_;
  const UplinkOptions options_;
  ConfigHandler on_config_;
  MqttUrl url_;
  std::string events_topic_, config_topic_, reported_topic_, status_topic_;

  // Uplink thread only.
  const struct MosquittoApi* api_ = nullptr;  // libmosquitto, loaded by Start
  struct mosquitto* mosq_ = nullptr;
  bool connected_ = false;
  bool lost_ = false;
  std::string lost_reason_;
  std::string tls_error_;  // the last TLS error the library logged, for the message
  int64_t next_attempt_ms_ = 0;
  int64_t connect_started_ms_ = 0;
  int64_t backoff_ms_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  std::array<SpoolPosition, kPriorityCount> cursor_{};
  std::array<std::deque<SpoolRecord>, kPriorityCount> lookahead_;
  std::deque<Batch> inflight_;
  std::unique_ptr<BatchEncoder> encoder_;
  uint64_t rng_state_ = 0;

  mutable std::mutex mu_;  // guards what other threads touch
  std::condition_variable cv_;
  bool stop_ = false;
  std::string reported_;
  bool reported_dirty_ = false;
  UplinkStats stats_;
  std::thread thread_;
};

}  // namespace vigil
