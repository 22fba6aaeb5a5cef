// Ingest: takes every device's messages from the broker and stores them.
//
//   broker ──MQTT 5, shared subscription──► network thread ──► Inbox (file) ──► queue ──► writer ──► Store
//            $share/<group>/vigil/v1/+/events      decode and validate                  one transaction
//            $share/<group>/vigil/v1/+/status      each events message                  per round
//            $share/<group>/vigil/v1/+/reported
//
// - Several hub processes may subscribe with the same share group: the broker hands each
//   message to one of them. Each process keeps a persistent session (a fixed client id, clean
//   start off, a session expiry), so the broker queues QoS 1 messages while it is down.
// - Every message is appended to the Inbox before anything else, and released only after the
//   store committed it; at start, what a killed hub left in the inbox is stored first. See
//   inbox.h for why.
// - Events messages are decoded and validated on the network thread (message.h); a bad one is
//   rejected whole and counted by reason, and never stored in part. The writer stores what
//   has queued up, up to max_round_events, in one Store::Ingest: idempotent on (device, seq).
// - When the store fails (a database that went away), the writer keeps the round and tries
//   again every second; the queue fills, the network thread waits, and the broker holds the
//   rest. Nothing acknowledged is dropped.
// - Devices: a status message sets online or offline (the agent's will says offline); a
//   reported message is stored on the device. Devices whose certificate was revoked are
//   refused (kRejectRevoked), from the store's revoked flag, re-read every few seconds.
//
// Threads: Start, Stop, Publish and Stats may be called from any thread. Callbacks run on the
// network thread (libmosquitto's) and the writer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <variant>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/ingest/inbox.h"
#include "hub/ingest/message.h"
#include "hub/store/store.h"

struct mosquitto;
struct mosquitto_message;
struct mqtt5__property;

namespace vigil::schema {
class Schema;
}

namespace vigil::hub {

struct IngestOptions {
  std::string url;                  // mqtt://HOST:PORT or mqtts://HOST:PORT
  std::string ca_file;              // mqtts: the CA of the broker's certificate
  std::string cert_file, key_file;  // mqtts: the hub's client certificate (CN vigil-hub)
  std::string username, password;   // mqtt: optional
  std::string client_id = "vigil-hub";
  std::string share_group = "vigil-hub";
  uint32_t session_expiry_s = 7 * 24 * 3600;
  int keepalive_s = 30;
  IngestLimits limits;
  size_t max_round_events = 50000;  // events stored in one transaction, at most
  size_t queue_messages = 1024;     // messages decoded and waiting for the writer, at most
};

class Ingestor {
 public:
  using Clock = std::function<int64_t()>;  // UTC ms

  // `store`, `inbox` and `schema` must outlive the Ingestor.
  Ingestor(IngestOptions options, Store& store, Inbox& inbox, const schema::Schema& schema, Clock now);
  ~Ingestor();  // Stop()
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Stores what the inbox holds from an earlier run, starts the writer, then connects to the
  // broker. Fails at once, saying why, when the URL or the TLS files are wrong or nothing
  // accepts the connection; a connection lost later is retried (1 s doubling to 30 s).
  Status Start();
  // Disconnects, stores what was taken, and stops the writer.
  void Stop();

  // Publishes on the broker (QoS 1); fails when not connected.
  Status Publish(const std::string& topic, const std::string& payload, bool retain);

  // Takes one message as if it came from the broker (tests, and the replay at start).
  void Take(const std::string& topic, const std::string& payload);

  // Waits until every message taken so far has been through the writer (stored or rejected).
  // False on timeout.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // Counters: messages, events, duplicates, rejected by reason, store failures, connection.
  nlohmann::json Stats() const;
  bool connected() const { return connected_.load(); }

  // Called after a device's status changed or it reported, on the writer thread.
  void OnDeviceSeen(std::function<void(const std::string& device, TopicKind kind)> fn) { on_seen_ = std::move(fn); }
  // Called after each round of events was committed to the store, with its batches, on the
  // writer thread (bench/hub_ingest.cpp times ingest with it). Set before Start.
  void OnStored(std::function<void(std::span<const BatchRows> batches)> fn) { on_stored_ = std::move(fn); }

 private:
  struct Pending {
    uint64_t number = 0;  // in the inbox; 0 when not in it
    std::string device;
    TopicKind kind = TopicKind::kEvents;
    std::variant<std::monostate, DecodedEvents, StatusMessage, nlohmann::json> body;
    int64_t taken_ms = 0;
  };

  static void OnConnect(mosquitto* m, void* self, int rc, int flags, const mqtt5__property* props);
  static void OnDisconnect(mosquitto* m, void* self, int rc, const mqtt5__property* props);
  static void OnMessage(mosquitto* m, void* self, const mosquitto_message* msg, const mqtt5__property* props);

  // Decodes one message into the queue (waits while the queue is full). `number` is its inbox
  // number, 0 when it was not appended.
  void Enqueue(uint64_t number, const std::string& topic, std::string_view payload);
  void Reject(std::string_view reason, const std::string& what);
  void WriterLoop();
  void StoreRound(std::deque<Pending>& round);
  bool IsRevoked(const std::string& device);

  const IngestOptions options_;
  Store& store_;
  Inbox& inbox_;
  const schema::Schema& schema_;
  const Clock now_;
  std::function<void(const std::string&, TopicKind)> on_seen_;
  std::function<void(std::span<const BatchRows>)> on_stored_;

  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;
  std::condition_variable cv_;  // the writer waits for work; Enqueue for room; WaitIdle
  std::deque<Pending> queue_;
  bool writer_busy_ = false;
  bool writer_stop_ = false;
  std::thread writer_;

  // Counters (under mutex_).
  uint64_t messages_ = 0, events_stored_ = 0, duplicates_ = 0, store_failures_ = 0, rounds_ = 0;
  uint64_t connects_ = 0, disconnects_ = 0;
  std::map<std::string, uint64_t, std::less<>> rejected_;
  std::string last_error_;

  std::mutex revoked_mutex_;
  std::set<std::string, std::less<>> revoked_;
  int64_t revoked_read_ms_ = -1;
};

}  // namespace vigil::hub
