// A fleet's events for the hub's benchmarks (hub_ingest.cpp, hub_query.cpp): gateway-like
// devices running services, cron jobs and health checks, in a realistic mix of types.
//
//   process exec   44 %   programs with their command lines, parents, users, cwd, sha256
//   process exit   30 %   the same programs, exit code 0 mostly, some 1, 2, 124 or a signal
//   network connect 16 %  outbound TCP/UDP to telemetry, MQTT, DNS, NTP, Modbus peers; a third
//                         of them aggregated (count 2-20, with bytes of those that ended)
//   network accept  4 %   inbound ssh, HTTP(S), Modbus from the LAN
//   heartbeat       2 %
//   login          4 %    sshd failures (password, invalid users from the Internet), publickey
//                         successes, logouts
//
// Every template passes the built-in event schema (schema/events.yml); MakeFleetPool checks
// that and says which one failed. The pool's events carry no device, seq or ts: the caller sets
// them (and `pid` varies per use) before serialising. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "agent/core/event.h"
#include "agent/core/status.h"

namespace vigil::bench {

using FleetRng = std::mt19937_64;

// "gw-0042-3f9a2c1e": device `i` of the fleet, a stable id with a per-device hex suffix.
std::string FleetDeviceId(int i);

// `n` templates of the mix above, each checked against the built-in schema.
Result<std::vector<Event>> MakeFleetPool(size_t n, uint64_t seed);

// Sets the envelope (device, seq, ts; last_ts for an aggregated event) and a varying pid on
// `e`, in place, and returns its JSON (as the agent serialises it).
std::string FleetEventJson(Event& e, const std::string& device, uint64_t seq, int64_t ts_ms);

}  // namespace vigil::bench
