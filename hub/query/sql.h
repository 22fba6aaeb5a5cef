// What the filter compiler hands the store: a SQL boolean expression over the events table,
// with every value bound as a parameter, never pasted into the text.
//
// The events table, the same in both backends (the store creates it):
//
//   column    SQLite     PostgreSQL  meaning
//   device    TEXT       TEXT        the device id
//   seq       INTEGER    BIGINT      the event's per-device sequence number
//   ts        INTEGER    BIGINT      the event's time, UTC ms since the epoch
//   type      TEXT       TEXT        "process", "network", ...
//   action    TEXT       TEXT        "exec", ... ('' when the event has none)
//   priority  TEXT       TEXT        "high", "medium", "low"
//   count     INTEGER    BIGINT      1, or the number of aggregated occurrences
//   received  INTEGER    BIGINT      when the hub stored it, UTC ms
//   body      TEXT       JSONB       the whole event object as the agent sent it
//
// A SqlFilter refers to these column names unqualified (the store may alias the table as
// nothing else). Parameters are numbered in order of appearance: SQLite's `?NNN` and
// PostgreSQL's `$NNN` both take 1-based numbers, so `where` uses `?N` for SQLite and `$N` for
// PostgreSQL, starting at the `first_param` the compiler was given.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace vigil::hub {

enum class SqlDialect { kSqlite, kPostgres };

// A bound value: integers (seq, ts, count, integer fields), reals, and text (strings, JSON
// paths, LIKE patterns).
using SqlParam = std::variant<int64_t, double, std::string>;

struct SqlFilter {
  std::string where = "1=1";     // a boolean SQL expression; "1=1" matches every event
  std::vector<SqlParam> params;  // params[i] binds placeholder number first_param + i
};

}  // namespace vigil::hub
