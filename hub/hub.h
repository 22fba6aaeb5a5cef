// The hub as `vigil-hub serve` runs it: the store, the inbox and ingest, the analyzer (fleet
// rules over every committed round of events, hub/analyze), the HTTP API, device
// configuration, and the periodic work (devices falling silent, retention).
//
// Device configuration: a desired document is set per device or per group (API, CLI); the
// document in force for a device (its own, else its group's) is published retained on
// vigil/v1/<device>/config as {"version": "...", "config": {...}}, where the agent validates and
// applies it and reports the outcome on vigil/v1/<device>/reported, which ingest stores. At
// start the hub publishes every device's document again (the agent ignores a version it has
// handled), so a broker that lost its retained messages gets them back.
//
// Threads: Start and Stop from one thread; the rest from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/core/settings.h"
#include "agent/core/status.h"
#include "hub/ingest/inbox.h"
#include "hub/ingest/ingest.h"
#include "hub/store/store.h"

namespace vigil::hub {

class Analyzer;
class ApiServer;
class TokenStore;
namespace vuln {
class InventoryFeed;
}

class HubServer {
 public:
  // Opens the store, the inbox and the token file named by `config` (hub_config.h).
  static Result<std::unique_ptr<HubServer>> Create(const Config& config);
  ~HubServer();
  HubServer(const HubServer&) = delete;
  HubServer& operator=(const HubServer&) = delete;

  // Connects to the broker (failing at once when it refuses), starts the HTTP API and the
  // periodic work, and publishes the desired configurations.
  Status Start();
  void Stop();

  // Publishes the configuration in force for `device` (retained); OK and nothing sent when it
  // has none.
  Status PublishDesired(std::string_view device);

  // Reads the analyzer's rules and lists again (SIGHUP); its report as JSON, {} when the
  // analyzer is off.
  nlohmann::json ReloadRules();

  nlohmann::json Stats();
  // The HTTP API's bound address ("127.0.0.1:8080"); empty before Start.
  std::string http_address() const;
  Store& store() { return *store_; }

 private:
  explicit HubServer(const Config& config);
  void MaintenanceLoop();

  const Config config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Analyzer> analyzer_;  // null when analyze.enabled is false
  std::unique_ptr<vuln::InventoryFeed> inventory_;  // devices' packages and findings from their sbom events
  std::unique_ptr<Ingestor> ingest_;
  std::unique_ptr<ApiServer> api_;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread maintenance_;
};

// UTC ms now.
int64_t NowMs();

}  // namespace vigil::hub
