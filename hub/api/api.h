// The hub's HTTP API: JSON under /api/v1/, token-authenticated, described in full in
// hub/api/openapi.yaml (served at GET /api/v1/openapi.yaml and compiled into the binary).
//
// Authentication: `Authorization: Bearer <token>` (tokens.h). A viewer token may call every
// GET; writes (PUT, POST) need an admin token; an alert's status change records the token's name. /api/v1/health and
// /api/v1/openapi.yaml need none.
//
// Errors are JSON, `{"error": "<what went wrong>"}`, with the status saying which kind:
//   400 a bad parameter or body (a bad filter: "filter: column N: ...")
//   401 no token, or a token the tokens file does not know (with `WWW-Authenticate: Bearer`)
//   403 a viewer token on a write
//   404 an unknown device, or a path under /api/ that is no route
//   405 a route called with another method (with `Allow`)
//   413 a body larger than Options::max_body_bytes
//   500 the store failed (its message is logged, and returned)
//   503 the tokens file cannot be read or is malformed (details in the hub's log)
// Checks run in this order: route (404, 405), token (401, 403), body size (413), then the
// handler (400, 404, 500). A body refused for its route or token is never read; one over the
// size limit is read and discarded (so that the client, still sending, gets the 413).
//
// Paths outside /api/ are static files from Options::static_dir when it is set (the console);
// otherwise 404.
//
// Threading: Start() binds the socket (the port is known when it returns) and runs the accept
// loop on its own thread; requests are served by a pool of Options::threads threads, so the
// Store, the TokenStore and the hooks are called from those threads concurrently (Store and
// TokenStore are thread-safe; the hooks must be too). Stop() (or the destructor) closes the
// socket, finishes the requests in flight, and joins every thread; no hook is called after it
// returns. ApiServer borrows `store` and `tokens`: they must outlive it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/core/status.h"
#include "hub/api/tokens.h"
#include "hub/store/store.h"

namespace httplib {
class Server;
}

namespace vigil::hub {

// Who may call a route.
enum class RouteAccess {
  kPublic,  // no token
  kRead,    // a viewer or admin token
  kWrite,   // an admin token
};

// One route of the API. `path` is written as in openapi.yaml (`/api/v1/devices/{id}`); a
// `{name}` segment matches one path segment (percent-decoded, never empty, no '/').
struct ApiRoute {
  std::string_view method;  // "GET", "PUT", "POST"
  std::string_view path;
  RouteAccess access;
};

// Every route the server registers, in registration order. The unit tests check this table
// against openapi.yaml both ways.
std::span<const ApiRoute> ApiRoutes();

// The OpenAPI description (openapi.yaml, compiled in).
std::string_view OpenApiYaml();

// What the hub itself owns, called from request threads (see Threading above).
struct ApiHooks {
  // Ingest counters, shown under "ingest" in GET /api/v1/stats. Unset: {}.
  std::function<nlohmann::json()> ingest_stats;
  // Called after a desired configuration changed, once per device whose effective desired
  // document may have changed: the device for PUT .../devices/{id}/config and .../group, every
  // device in the group for PUT .../groups/{name}/config. The hub publishes the device's
  // effective document (Store::EffectiveDesired) retained to vigil/v1/<device>/config. It
  // returns nothing: a failure to publish is the hub's to log and retry. Unset: not called.
  std::function<void(const std::string& device_id)> publish_desired;
  // The clock, UTC ms since the epoch, for relative times (`since=1h`), generated versions and
  // `updated` stamps. Unset: the system clock.
  std::function<int64_t()> now_ms;
  // The SBoM feed's counters (hub/vuln/inventory_feed.h), under "vuln" in GET /api/v1/stats.
  std::function<nlohmann::json()> vuln_stats;
  // The analyzer (hub/analyze): its counters under "analyze" in GET /api/v1/stats; the loaded
  // rules and load errors (GET /api/v1/rules, RulesReport::ToJson); a reload of rules and
  // lists returning the new report (POST /api/v1/rules/reload). Unset: {} and 503.
  std::function<nlohmann::json()> analyze_stats;
  std::function<nlohmann::json()> rules;
  std::function<nlohmann::json()> reload_rules;
};

class ApiServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 8080;                  // 0: any free port; port() says which after Start()
    size_t threads = 8;               // request threads
    size_t max_body_bytes = 1 << 20;  // larger request bodies: 413
    int read_timeout_s = 10;          // per request: reading it, and writing the response
    int write_timeout_s = 10;
    std::string static_dir;  // "" : no static files
  };

  ApiServer(Store& store, TokenStore& tokens, ApiHooks hooks, Options options);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds host:port and starts serving; returns once the server accepts connections. Errors
  // (Unavailable): the address is in use, the host does not resolve, the static_dir is not a
  // directory; the message names host and port. Call once (a second call is an error).
  Status Start();
  // Stops serving (see Threading). Safe to call twice, or without Start().
  void Stop();

  // The bound port (valid after a successful Start()).
  int port() const { return port_; }

 private:
  class Impl;
  const Options options_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  bool started_ = false;  // Start() succeeded once
  bool running_ = false;  // and Stop() has not run since
};

}  // namespace vigil::hub
