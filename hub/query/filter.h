// The hub's filter language: one expression language for searching stored events, typed in the
// HTTP API (`?filter=`), the console and `vigil-hub query 'FILTER' --since 1h`. This header is
// its reference; hub/query/README.md is the user's guide.
//
// ParseFilter turns text into a Filter (an AST); CompileFilter turns a Filter into a SqlFilter
// (hub/query/sql.h) for SQLite or PostgreSQL, with every literal of the filter bound as a
// parameter, never pasted into the SQL text. ParseTimeSpec reads --since/--until.
//
// All functions are pure: no I/O, no global state other than the built-in event schema (read
// once, for Sigma field names), safe to call from any number of threads at once.
//
// Grammar
// -------
//   filter     = [ or_expr ] END                 empty or whitespace-only text: every event
//   or_expr    = and_expr { "or" and_expr }
//   and_expr   = unary { "and" unary }
//   unary      = "not" unary | primary
//   primary    = "(" or_expr ")" | comparison
//   comparison = field op value
//              | field "in" "(" value { "," value } ")"
//   op         = "=" | "!=" | "<" | ">" | "<=" | ">=" | "contains" | "startswith" | "endswith"
//   value      = string | number | "true" | "false" | "null" | bare_word
//
// Precedence: not binds tighter than and, and tighter than or; parentheses group. Keywords
// (and, or, not, in, contains, startswith, endswith, true, false, null) are case-insensitive
// and reserved: they are never fields or bare words. Whitespace (space, tab, CR, LF) separates
// tokens and is otherwise ignored.
//
// Tokens
//   string     "..." or '...'. Escapes (in both): \" \' \\ \/ \n \t \r \b \f \uXXXX (four hex
//              digits; a UTF-16 surrogate pair for characters above U+FFFF). \u0000, a lone
//              surrogate, any other escape, a raw control character (below U+0020) or an
//              unterminated string is an error.
//   number     -?DIGITS[.DIGITS][(e|E)[+|-]DIGITS]. An integer (no fraction, no exponent) must
//              fit in int64; one with a fraction or exponent is a decimal (an IEEE double).
//   word       a run of ASCII letters, digits and _ . / : @ + - (nothing else: no spaces,
//              quotes, parentheses, commas, = ! < >, non-ASCII). A word that is a keyword is the
//              keyword; one that reads as a number is a number; in field position it must be a
//              field (below); in value position any other word is a bare string, so
//              `type = process`, `exe = /usr/bin/curl`, `remote_ip = 10.0.0.1` work.
//   The whole text must be valid UTF-8 and at most 8 KiB (kMaxFilterBytes).
//
// Fields
//   A field is [A-Za-z_][A-Za-z0-9_]* { "." [A-Za-z0-9_]+ }, case-sensitive, resolved so:
//   1. device, seq, ts, type, action, priority, count, received: the events table's columns
//      (sql.h). `type` is the envelope's type; a data field called type is `data.type`.
//   2. data, data.X...: a path into the event object from its root (`data.exe`).
//      body, body.X...: also from the root, for envelope keys that are not columns
//      (`body.first_ts`, `body.v`).
//   3. A Sigma taxonomy name (Image, CommandLine, User, DestinationPort, ...) as the built-in
//      event schema (schema/events.yml, `sigma:`) declares it: it means the data field each
//      type maps it to, and only on those types: `Image endswith "/curl"` is
//      `(type in (process, network) and data.exe endswith "/curl")`; where the types map one
//      Sigma name to different paths, the result is an `or` over one such group per path.
//   4. Any other name: a path under data (`exe` is `data.exe`, `nics.0.mac` is
//      `data.nics.0.mac`).
//   A path segment of only digits indexes an array (0-based) and matches only an array, never
//   an object key that is made of digits; any other segment matches only an object key. A path
//   that runs into a missing key, a scalar, or the wrong container is a missing field.
//
// Semantics (identical on SQLite and PostgreSQL; each comparison is true or false, never
// unknown, so `not` is plain negation):
//   - On a JSON path, a string literal matches only JSON strings, a number literal only JSON
//     numbers (integers and reals alike, compared numerically), true/false only JSON booleans.
//     A value of another JSON type, or a missing field, makes the comparison false.
//   - `x = null` is true when x is missing or JSON null; `x != null` when present and not null.
//   - `a != v` is exactly `not (a = v)`: true for a missing field, or a value of another type.
//   - `x in (v1, ..., vn)` is exactly `x = v1 or ... or x = vn` (at most 1,000 values).
//   - `<` `>` `<=` `>=` take a number or a string (not true/false/null). Strings compare by
//     their UTF-8 bytes (code point order; "B" < "a"), numbers numerically. Integer literals
//     compare exactly; decimal literals compare as doubles.
//   - contains, startswith, endswith take a string (a number literal there is its text as
//     written) and are case-sensitive; they match only JSON strings (or the text columns).
//     Lengths count characters. An empty pattern matches every string.
//   - Text columns (device, type, action, priority): a string or bare word compares as text; a
//     number literal compares as its text as written (`device = 007` is "007"); true/false are
//     an error; `action = null` matches events without an action (stored as ''), any other
//     text column `= null` matches nothing.
//   - Integer columns (seq, count): numbers only (strings are an error); `= null` matches
//     nothing. ts and received also take a string, read as an RFC 3339 time
//     (`ts >= "2026-12-06T10:00:00Z"`, `ts < "2026-12-07"`); a bad time is an error.
//   Each error from ParseFilter is InvalidArgument "column N: <what was expected>, got <what
//   was found>", N the 1-based column (in characters) where the offending token starts; only
//   text over 8 KiB is refused without a column.
//
// Limits: text at most 8 KiB, nesting (parentheses and `not`) at most 64 deep, `in` lists at
// most 1,000 values, and a compiled filter at most 2,000 parameters; beyond them, an error.
//
// SQL produced (see CompileFilter): SQLite reads JSON with json_type(body, ?N) and
// json_extract(body, ?N), the path bound as text ('$."data"."nics"[0]."mac"'); PostgreSQL with
// `body #> $N::text[]` and `body #>> $N::text[]`, the path bound as a text[] literal string
// ('{"data","nics","0","mac"}'), a digit segment guarded by jsonb_typeof(...) = 'array' on its
// parent. Comparisons of JSON fields are wrapped as COALESCE((...), 1=0) (a missing field makes
// them NULL); comparisons of the envelope columns, which are NOT NULL, are left bare so that the
// store's indexes serve them (`device = ?`, `ts >= ?`); numeric casts in PostgreSQL sit in
// CASE WHEN jsonb_typeof(...) = 'number', so no input raises a cast error. Substring tests use
// instr()/substr()/length() (SQLite) and strpos()/left()/right()/length() (PostgreSQL), never
// LIKE; PostgreSQL orders text with COLLATE "C". Long and/or chains and `in` lists are grouped
// in balanced parentheses (SQLite refuses expression trees deeper than 1000). Parameters are text (paths, strings),
// int64 (integer literals, times) and double (decimals); in PostgreSQL each placeholder carries its cast ($N::text,
// $N::text[], $N::bigint, $N::numeric, $N::float8), so the store may bind all of them as text. A placeholder number may
// appear more than once (a path used twice in one comparison); every number from first_param to first_param +
// params.size() - 1 appears.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"
#include "hub/query/sql.h"

namespace vigil::hub {

inline constexpr size_t kMaxFilterBytes = 8 * 1024;
inline constexpr int kMaxFilterDepth = 64;
inline constexpr size_t kMaxInValues = 1000;
inline constexpr size_t kMaxFilterParams = 2000;

enum class CompareOp { kEq, kNe, kLt, kGt, kLe, kGe, kContains, kStartsWith, kEndsWith, kIn };

// "=", "!=", ..., "contains", "in".
std::string_view CompareOpName(CompareOp op);

struct FilterValue {
  enum class Kind { kString, kInteger, kDecimal, kBool, kNull };
  Kind kind = Kind::kNull;
  // kString: the string (escapes resolved); kInteger, kDecimal: the literal as written;
  // kBool: "true" or "false"; kNull: "null".
  std::string text;
  int64_t integer = 0;   // kInteger
  double decimal = 0;    // kDecimal
  bool boolean = false;  // kBool

  static FilterValue String(std::string s);
  static FilterValue Integer(int64_t v);  // text is the decimal form
  static FilterValue Bool(bool b);
  static FilterValue Null();

  bool operator==(const FilterValue& o) const { return kind == o.kind && text == o.text; }
};

// A parsed filter. kAll matches every event (the empty filter); kCompare is one comparison;
// kAnd and kOr hold two or more children, kNot exactly one.
struct Filter {
  enum class Kind { kAll, kCompare, kAnd, kOr, kNot };
  Kind kind = Kind::kAll;
  std::string field;                // kCompare: as written (resolved when compiled)
  CompareOp op = CompareOp::kEq;    // kCompare
  std::vector<FilterValue> values;  // kCompare: one value, or the list of `in`
  std::vector<Filter> children;     // kAnd, kOr, kNot

  // The canonical text: keywords lowercase, strings double-quoted, single spaces, the
  // parentheses precedence needs (and around a nested and/or). ParseFilter(f.ToString()) == f
  // for every f ParseFilter returns. kAll prints as "".
  std::string ToString() const;

  bool operator==(const Filter& o) const;
};

// Filters built in code, for the hub's own queries (values are never pasted into filter text):
// `field = "value"`, and the conjunction or disjunction of terms (two or more).
Filter FieldEquals(std::string field, std::string value);
Filter AllOf(std::vector<Filter> terms);
Filter AnyOf(std::vector<Filter> terms);

// Parses and checks a filter (grammar, fields, value types, times, limits: everything but the
// parameter count). Errors: InvalidArgument "column N: ...".
Result<Filter> ParseFilter(std::string_view text);

// Compiles to a boolean SQL expression over the events table for `dialect`, placeholders
// numbered from `first_param`. Fails (InvalidArgument) on a filter ParseFilter would refuse
// (for filters built by hand) and when more than kMaxFilterParams parameters are needed.
Result<SqlFilter> CompileFilter(const Filter& filter, SqlDialect dialect, int first_param = 1);

// A time for --since/--until, as UTC ms since the epoch:
//   90s 30m 1h 7d 2w     now_ms minus that many seconds, minutes, hours, days, weeks
//   now                  now_ms
//   2026-12-06T10:00:00Z, 2026-12-06T10:00:00.123Z, 2026-12-06T12:00:00+02:00
//                        RFC 3339 ('T', 't' or one space between date and time; 'Z' or 'z'
//                        or +HH:MM / -HH:MM; a fraction of 1 to 9 digits, cut to ms)
//   2026-12-06           midnight UTC of that day
//   1765015200000        epoch milliseconds (digits only)
// Errors: InvalidArgument naming the text and what was expected.
Result<int64_t> ParseTimeSpec(std::string_view spec, int64_t now_ms);

// Only the RFC 3339 forms (with time, or date only) above.
Result<int64_t> ParseRfc3339Ms(std::string_view text);

}  // namespace vigil::hub
