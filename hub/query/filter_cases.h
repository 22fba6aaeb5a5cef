// Test-only: a fixture of stored events and a table of filters with the exact seqs each must
// match over it. hub_query_test runs every case against SQLite; the store's shared tests run
// the same cases through both backends (SQLite and PostgreSQL), so the two are held to the
// same answers. Add a case here whenever the language or its compiler changes.
//
// The fixture's events cover missing fields, JSON null, nested objects and arrays, an object
// with a digit key, numbers beside numeric strings, integers beside reals, booleans beside
// 1/0, non-ASCII text (Latin and CJK), '%', '_', quotes and backslashes, several devices,
// events with and without an action, and aggregated events (count > 1). Seqs are unique
// across devices (1..14), so a case's answer is a list of seqs.
//
// To load the fixture into a store, ingest each event with now_ms = its received_ms (the
// cases over `received` depend on it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::hub::filter_cases {

// One stored event: the events table's columns (hub/query/sql.h) and the body's JSON text,
// whose envelope keys agree with the columns.
struct FixtureEvent {
  std::string device;
  uint64_t seq = 0;
  int64_t ts_ms = 0;
  std::string type;
  std::string action;  // "" when the event has none
  std::string priority;
  uint32_t count = 1;
  int64_t received_ms = 0;
  std::string json;
};

// 2026-12-06T10:00:00Z; event `seq` has ts_ms = kBaseMs + seq minutes.
inline constexpr int64_t kBaseMs = 1796551200000;

const std::vector<FixtureEvent>& Events();

struct FilterCase {
  std::string filter;
  std::vector<uint64_t> seqs;  // ascending
};

const std::vector<FilterCase>& Cases();

}  // namespace vigil::hub::filter_cases
