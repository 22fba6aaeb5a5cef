#include "hub/query/filter.h"

#include <sqlite3.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hub/query/filter_cases.h"

namespace vigil::hub {
namespace {

namespace fc = filter_cases;

// ---------------------------------------------------------------------------------------------
// Helpers.

Filter MustParse(std::string_view text) {
  auto f = ParseFilter(text);
  EXPECT_TRUE(f.ok()) << text << ": " << f.status().ToString();
  return f.ok() ? *f : Filter{};
}

std::string Canon(std::string_view text) { return MustParse(text).ToString(); }

// The error message of a filter that must fail to parse.
std::string ParseError(std::string_view text) {
  auto f = ParseFilter(text);
  EXPECT_FALSE(f.ok()) << text << " parsed as: " << (f.ok() ? f->ToString() : "");
  return f.ok() ? "" : std::string(f.status().message());
}

// An in-memory SQLite database holding the events table of sql.h and the shared fixture.
class FixtureDb {
 public:
  FixtureDb() {
    EXPECT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec(
        "CREATE TABLE events (device TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, type TEXT NOT NULL, "
        "action TEXT NOT NULL, priority TEXT NOT NULL, count INTEGER NOT NULL, received INTEGER NOT NULL, "
        "body TEXT NOT NULL, PRIMARY KEY (device, seq))");
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(db_, "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &st, nullptr),
        SQLITE_OK);
    for (const fc::FixtureEvent& e : fc::Events()) {
      sqlite3_bind_text(st, 1, e.device.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(e.seq));
      sqlite3_bind_int64(st, 3, e.ts_ms);
      sqlite3_bind_text(st, 4, e.type.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 5, e.action.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 6, e.priority.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 7, e.count);
      sqlite3_bind_int64(st, 8, e.received_ms);
      sqlite3_bind_text(st, 9, e.json.c_str(), -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db_);
      sqlite3_reset(st);
    }
    sqlite3_finalize(st);
  }
  ~FixtureDb() { sqlite3_close(db_); }

  void Exec(const char* sql) { EXPECT_EQ(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql; }

  // The seqs matching `where`, ascending, or an error text. `prefix` parameters are bound
  // first (as ?1..?k), to check first_param.
  std::vector<uint64_t> Seqs(const SqlFilter& f, std::string* error, std::string_view extra = "",
                             const std::vector<int64_t>& prefix = {}) {
    std::string sql = "SELECT seq FROM events WHERE ";
    sql += extra;
    sql += "(" + f.where + ") ORDER BY seq";
    sqlite3_stmt* st = nullptr;
    std::vector<uint64_t> out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      *error = std::string(sqlite3_errmsg(db_)) + " in: " + sql;
      return out;
    }
    int n = 1;
    for (int64_t v : prefix) sqlite3_bind_int64(st, n++, v);
    for (const SqlParam& p : f.params) {
      if (const auto* i = std::get_if<int64_t>(&p))
        sqlite3_bind_int64(st, n, *i);
      else if (const auto* d = std::get_if<double>(&p))
        sqlite3_bind_double(st, n, *d);
      else
        sqlite3_bind_text(st, n, std::get<std::string>(p).c_str(), -1, SQLITE_TRANSIENT);
      ++n;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(static_cast<uint64_t>(sqlite3_column_int64(st, 0)));
    if (rc != SQLITE_DONE) *error = std::string(sqlite3_errmsg(db_)) + " in: " + sql;
    sqlite3_finalize(st);
    return out;
  }

  std::vector<uint64_t> Run(std::string_view filter) {
    auto parsed = ParseFilter(filter);
    EXPECT_TRUE(parsed.ok()) << filter << ": " << parsed.status().ToString();
    if (!parsed.ok()) return {};
    auto sql = CompileFilter(*parsed, SqlDialect::kSqlite);
    EXPECT_TRUE(sql.ok()) << filter << ": " << sql.status().ToString();
    if (!sql.ok()) return {};
    std::string error;
    auto seqs = Seqs(*sql, &error);
    EXPECT_EQ(error, "") << filter;
    return seqs;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Placeholder numbers in `where` for `dialect`.
std::vector<int> Placeholders(const std::string& where, SqlDialect dialect) {
  std::regex re(dialect == SqlDialect::kSqlite ? R"(\?(\d+))" : R"(\$(\d+))");
  std::vector<int> out;
  for (auto it = std::sregex_iterator(where.begin(), where.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi((*it)[1].str()));
  return out;
}

// Every number from first to first + params - 1 appears, no other, first appearances ascending.
void ExpectPlaceholdersMatchParams(const SqlFilter& f, SqlDialect dialect, int first) {
  const std::vector<int> seen = Placeholders(f.where, dialect);
  std::vector<int> firsts;
  std::set<int> distinct;
  for (int n : seen)
    if (distinct.insert(n).second) firsts.push_back(n);
  ASSERT_EQ(distinct.size(), f.params.size()) << f.where;
  for (size_t i = 0; i < firsts.size(); ++i) EXPECT_EQ(firsts[i], first + static_cast<int>(i)) << f.where;
}

// ---------------------------------------------------------------------------------------------
// Executed against SQLite.

TEST(FilterSqlite, SharedCasesMatchExactlyTheirSeqs) {
  FixtureDb db;
  ASSERT_GE(fc::Cases().size(), 100u);
  for (const fc::FilterCase& c : fc::Cases()) {
    SCOPED_TRACE(c.filter);
    EXPECT_EQ(db.Run(c.filter), c.seqs);
  }
}

TEST(FilterSqlite, CanonicalFormMatchesTheSameSeqs) {
  FixtureDb db;
  for (const fc::FilterCase& c : fc::Cases()) {
    const std::string canon = Canon(c.filter);
    SCOPED_TRACE(c.filter + "  =>  " + canon);
    EXPECT_EQ(db.Run(canon), c.seqs);
  }
}

TEST(FilterSqlite, FirstParamShiftsPlaceholdersAfterTheStoresOwn) {
  FixtureDb db;
  auto f =
      CompileFilter(MustParse(R"(type = process and exe contains "xmrig" and pid >= 100)"), SqlDialect::kSqlite, 3);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ExpectPlaceholdersMatchParams(*f, SqlDialect::kSqlite, 3);
  std::string error;
  // ?1 and ?2 belong to the caller: ts window holding seqs 1..13.
  auto seqs = db.Seqs(*f, &error, "ts >= ?1 AND ts < ?2 AND ", {fc::kBaseMs, fc::kBaseMs + 14 * 60000});
  EXPECT_EQ(error, "");
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1}));
}

TEST(FilterSqlite, NotOfAnyComparisonIsItsExactComplement) {
  FixtureDb db;
  const std::vector<uint64_t> all = db.Run("");
  ASSERT_EQ(all.size(), fc::Events().size());
  for (const fc::FilterCase& c : fc::Cases()) {
    if (c.filter.find_first_not_of(" \t") == std::string::npos) continue;
    SCOPED_TRACE(c.filter);
    std::vector<uint64_t> expected;
    for (uint64_t s : all)
      if (std::find(c.seqs.begin(), c.seqs.end(), s) == c.seqs.end()) expected.push_back(s);
    EXPECT_EQ(db.Run("not (" + c.filter + ")"), expected);
  }
}

TEST(FilterSqlite, NotEqualIsNotOfEqual) {
  FixtureDb db;
  for (const char* f : {"exe", "pid", "partial", "user", "nics.0.mac", "missing", "data.os"}) {
    for (const char* v : {"\"/bin/sh\"", "100", "true", "false", "null", "\"aa:bb\"", "1.5"}) {
      const std::string a = std::string(f) + " != " + v;
      const std::string b = std::string("not ") + f + " = " + v;
      SCOPED_TRACE(a);
      EXPECT_EQ(db.Run(a), db.Run(b));
    }
  }
}

TEST(FilterSqlite, ValuesNeverAppearInTheSqlText) {
  for (SqlDialect d : {SqlDialect::kSqlite, SqlDialect::kPostgres}) {
    // SQL's doubled quote is not an escape here: 'O' then a stray string.
    EXPECT_FALSE(ParseFilter("user contains 'O''Brien'").ok());
    auto g = CompileFilter(MustParse(R"(exe = "x'; DROP TABLE events; --" or device = "evil\"dev")"), d);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->where.find("DROP"), std::string::npos) << g->where;
    EXPECT_EQ(g->where.find("evil"), std::string::npos) << g->where;
    EXPECT_EQ(g->where.find("exe"), std::string::npos) << g->where;  // the path is a parameter too
  }
  FixtureDb db;
  EXPECT_EQ(db.Run(R"(exe = "x'; DROP TABLE events; --")"), (std::vector<uint64_t>{}));
  EXPECT_EQ(db.Run("seq = 1").size(), 1u);  // the table is still there
}

TEST(FilterSqlite, ADeviceAndTimeFilterUsesTheDeviceTimeIndex) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE events (device TEXT NOT NULL, seq INTEGER NOT NULL, ts INTEGER NOT NULL, "
                         "type TEXT NOT NULL, action TEXT NOT NULL, priority TEXT NOT NULL, count INTEGER NOT NULL, "
                         "received INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (device, seq));"
                         "CREATE INDEX events_device_ts ON events (device, ts, seq);"
                         "CREATE INDEX events_ts ON events (ts);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto sql = CompileFilter(MustParse(R"(device = "d-17" and ts >= 1000 and ts < 2000 and exe endswith "/sh")"),
                           SqlDialect::kSqlite);
  ASSERT_TRUE(sql.ok());
  std::string plan;
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN SELECT seq FROM events WHERE " + sql->where).c_str(), -1, &st,
                               nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_NE(plan.find("USING INDEX events_device_ts (device=? AND ts>? AND ts<?)"), std::string::npos) << plan;
}

TEST(FilterSqlite, AtMostTwoThousandParameters) {
  std::string text = "a=1";
  for (int i = 0; i < 999; ++i) text += " or a=1";  // 1000 comparisons, 2 parameters each
  ASSERT_LE(text.size(), kMaxFilterBytes);
  auto ok = CompileFilter(MustParse(text), SqlDialect::kSqlite);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->params.size(), 2000u);
  FixtureDb db;
  std::string error;
  EXPECT_EQ(db.Seqs(*ok, &error), (std::vector<uint64_t>{}));
  EXPECT_EQ(error, "");
  auto too_many = CompileFilter(MustParse(text + " or a=1"), SqlDialect::kSqlite);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("2000"), std::string::npos) << too_many.status().ToString();
}

// ---------------------------------------------------------------------------------------------
// Parser.

TEST(FilterParse, EmptyAndWhitespaceMatchEverything) {
  for (const char* t : {"", " ", "\t\n \r"}) {
    auto f = ParseFilter(t);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->kind, Filter::Kind::kAll);
    auto sql = CompileFilter(*f, SqlDialect::kPostgres);
    ASSERT_TRUE(sql.ok());
    EXPECT_EQ(sql->where, "1=1");
    EXPECT_TRUE(sql->params.empty());
  }
}

TEST(FilterParse, NotBindsTighterThanAndTighterThanOr) {
  Filter f = MustParse("a = 1 or b = 2 and not c = 3");
  ASSERT_EQ(f.kind, Filter::Kind::kOr);
  ASSERT_EQ(f.children.size(), 2u);
  EXPECT_EQ(f.children[0].kind, Filter::Kind::kCompare);
  ASSERT_EQ(f.children[1].kind, Filter::Kind::kAnd);
  EXPECT_EQ(f.children[1].children[1].kind, Filter::Kind::kNot);
  EXPECT_EQ(f.children[1].children[1].children[0].field, "c");
  EXPECT_EQ(f.ToString(), "a = 1 or b = 2 and not c = 3");
  EXPECT_EQ(Canon("(a = 1 or b = 2) and c = 3"), "(a = 1 or b = 2) and c = 3");
  EXPECT_EQ(Canon("not (a = 1 and b = 2)"), "not (a = 1 and b = 2)");
  EXPECT_EQ(Canon("a = 1 and b = 2 and c = 3 or d = 4 or e = 5"), "a = 1 and b = 2 and c = 3 or d = 4 or e = 5");
  Filter chain = MustParse("a = 1 and b = 2 and c = 3");
  EXPECT_EQ(chain.kind, Filter::Kind::kAnd);
  EXPECT_EQ(chain.children.size(), 3u);
}

TEST(FilterParse, KeywordsAreCaseInsensitiveFieldsAreNot) {
  EXPECT_EQ(Canon("a CONTAINS x AnD NOT b StartsWith y OR c ENDSWITH z or d IN (1) and e = TRUE or f = Null"),
            R"(a contains "x" and not b startswith "y" or c endswith "z" or d in (1) and e = true or f = null)");
  EXPECT_EQ(MustParse("Exe = 1").field, "Exe");
}

TEST(FilterParse, EveryOperator) {
  const std::pair<const char*, CompareOp> ops[] = {
      {"=", CompareOp::kEq},
      {"!=", CompareOp::kNe},
      {"<", CompareOp::kLt},
      {">", CompareOp::kGt},
      {"<=", CompareOp::kLe},
      {">=", CompareOp::kGe},
      {"contains", CompareOp::kContains},
      {"startswith", CompareOp::kStartsWith},
      {"endswith", CompareOp::kEndsWith},
  };
  for (auto [text, op] : ops) {
    Filter f = MustParse(std::string("x ") + text + " \"v\"");
    EXPECT_EQ(f.op, op) << text;
    EXPECT_EQ(CompareOpName(op), text);
    if (text[0] == '=' || text[0] == '!' || text[0] == '<' || text[0] == '>') {
      Filter tight = MustParse(std::string("x") + text + "\"v\"");  // symbols need no spaces
      EXPECT_EQ(tight.op, op) << text;
    }
  }
  Filter in = MustParse("x in (1, \"two\", three, 4.5, true, null)");
  EXPECT_EQ(in.op, CompareOp::kIn);
  ASSERT_EQ(in.values.size(), 6u);
  EXPECT_EQ(in.values[0].kind, FilterValue::Kind::kInteger);
  EXPECT_EQ(in.values[1].kind, FilterValue::Kind::kString);
  EXPECT_EQ(in.values[2].text, "three");
  EXPECT_EQ(in.values[3].kind, FilterValue::Kind::kDecimal);
  EXPECT_EQ(in.values[4].kind, FilterValue::Kind::kBool);
  EXPECT_EQ(in.values[5].kind, FilterValue::Kind::kNull);
}

TEST(FilterParse, ValuesOfEveryKind) {
  Filter f = MustParse("x = -42");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kInteger);
  EXPECT_EQ(f.values[0].integer, -42);
  f = MustParse("x = 2.5e3");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kDecimal);
  EXPECT_DOUBLE_EQ(f.values[0].decimal, 2500.0);
  f = MustParse("x = FALSE");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kBool);
  EXPECT_FALSE(f.values[0].boolean);
  // Bare words: letters, digits and _ . / : @ + -
  f = MustParse("x = /usr/bin/curl-7.1_x:8@host+1");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kString);
  EXPECT_EQ(f.values[0].text, "/usr/bin/curl-7.1_x:8@host+1");
  f = MustParse("remote_ip = 10.0.0.1");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kString);
  f = MustParse("x = 1h");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kString);
  // A number after a substring operator is its text as written.
  f = MustParse("cmdline contains 007");
  EXPECT_EQ(f.values[0].kind, FilterValue::Kind::kString);
  EXPECT_EQ(f.values[0].text, "007");
}

TEST(FilterParse, StringEscapes) {
  EXPECT_EQ(MustParse(R"(x = "a\"b\\c\nd\te\/f\r\b\f")").values[0].text, "a\"b\\c\nd\te/f\r\b\f");
  EXPECT_EQ(MustParse(R"(x = 'it\'s "quoted"')").values[0].text, "it's \"quoted\"");
  EXPECT_EQ(MustParse(R"(x = "\u00e9\u65E5")").values[0].text, "é日");
  EXPECT_EQ(MustParse(R"(x = "\ud83d\ude00")").values[0].text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(MustParse("x = \"日本 raw\"").values[0].text, "日本 raw");
  EXPECT_EQ(MustParse(R"(x = "")").values[0].text, "");
  // The printer escapes what needs it and round-trips.
  Filter f = MustParse(R"(x = "q\"b\\n\n\t\u0001")");
  EXPECT_EQ(f.ToString(), R"(x = "q\"b\\n\n\t\u0001")");
  EXPECT_EQ(MustParse(f.ToString()), f);
}

TEST(FilterParse, CanonicalFormRoundTrips) {
  for (const fc::FilterCase& c : fc::Cases()) {
    Filter f = MustParse(c.filter);
    EXPECT_EQ(MustParse(f.ToString()), f) << c.filter << " => " << f.ToString();
    EXPECT_EQ(Canon(f.ToString()), f.ToString());
  }
}

struct BadFilter {
  const char* text;
  const char* error;  // the whole message
};

TEST(FilterParse, ErrorsNameTheColumnAndWhatWasExpected) {
  const BadFilter cases[] = {
      {"exe contains ", "column 14: expected a value after 'contains', got end of filter"},
      {"exe contains", "column 13: expected a value after 'contains', got end of filter"},
      {R"(exe = "abc)", "column 7: unterminated string: expected a closing \", got end of filter"},
      {"exe = 'abc", "column 7: unterminated string: expected a closing ', got end of filter"},
      {R"(exe = "a\qb")", R"(column 9: unknown escape '\q' (known: \" \' \\ \/ \n \t \r \b \f \uXXXX))"},
      {R"(exe = "a\u12G4")", "column 11: expected four hex digits after \\u"},
      {R"(exe = "\u0000")", "column 8: \\u0000 is not allowed in a string"},
      {R"(exe = "\ud800x")", "column 8: UTF-16 high surrogate in \\u escape without a following \\uDC00-\\uDFFF"},
      {R"(exe = "\udc00")", "column 8: lone UTF-16 low surrogate in \\u escape"},
      {"exe = \"a\tb\"", "column 9: raw control character in a string (write it as an escape such as \\n)"},
      {"= 1", "column 1: expected a field (such as type, data.exe or Image), got '='"},
      {"exe",
       "column 4: expected an operator (= != < > <= >= contains startswith endswith in) after 'exe', got end "
       "of filter"},
      {"exe like 1",
       "column 5: expected an operator (= != < > <= >= contains startswith endswith in) after 'exe', "
       "got 'like'"},
      {"exe == 1", "column 6: expected a value after '=', got '='"},
      {"exe ~ 1", "column 5: unexpected character '~'"},
      {"exe ! 1", "column 5: expected '=' after '!' (the operator is '!=')"},
      {"exe = 1 2", "column 9: expected 'and', 'or' or end of filter, got '2'"},
      {"exe = 1 and", "column 12: expected a field (such as type, data.exe or Image), got end of filter"},
      {"exe = 1 or or b = 2", "column 12: expected a field (such as type, data.exe or Image), got 'or'"},
      {"(exe = 1", "column 9: expected ')' to close the '(' at column 1 (or 'and', 'or'), got end of filter"},
      {"exe = 1)", "column 8: expected 'and', 'or' or end of filter, got ')'"},
      {"()", "column 2: expected a comparison inside '( )', got ')'"},
      {"not", "column 4: expected a field (such as type, data.exe or Image), got end of filter"},
      {"exe in 1", "column 8: expected '(' after 'in', got '1'"},
      {"exe in (1 2)", "column 11: expected ',' or ')' in the 'in' list, got '2'"},
      {"exe in ()", "column 9: expected a value after '(', got ')'"},
      {"exe in (1,)", "column 11: expected a value after ',', got ')'"},
      {"exe = and", "column 7: expected a value after '=', got 'and'"},
      {"a/b = 1",
       "column 1: expected a field, got 'a/b' (a field is letters, digits, '_' and '.', starting with a "
       "letter or '_')"},
      {"data..x = 1",
       "column 1: expected a field, got 'data..x' (a field is letters, digits, '_' and '.', starting "
       "with a letter or '_')"},
      {"x. = 1",
       "column 1: expected a field, got 'x.' (a field is letters, digits, '_' and '.', starting with a "
       "letter or '_')"},
      {"9x = 1",
       "column 1: expected a field, got '9x' (a field is letters, digits, '_' and '.', starting with a "
       "letter or '_')"},
      {"x = 99999999999999999999",
       "column 5: integer 99999999999999999999 is out of range (-2^63 to 2^63-1); quote "
       "it to compare text"},
      {"x = 1e999", "column 5: number 1e999 is out of range for a double"},
      {"x = é", "column 5: unexpected non-ASCII character outside quotes (quote the value)"},
      {"x = \"é\" and y = \"\\x\"",
       "column 18: unknown escape '\\x' (known: \\\" \\' \\\\ \\/ \\n \\t \\r \\b \\f "
       "\\uXXXX)"},
      {"x < true", "column 5: '<' takes a number or a string, not true"},
      {"x >= null", "column 6: '>=' takes a number or a string, not null"},
      {"x contains true", "column 12: 'contains' takes a string, not a boolean"},
      {"x startswith null", "column 14: 'startswith' takes a string, not null"},
      {"device = true", "column 10: 'device' is text: compare it with a string, not true"},
      {"seq = abc", "column 7: 'seq' is a number: compare it with a number, not a string"},
      {"count contains 1", "column 16: 'contains' needs a text field; 'count' is a number"},
      {"ts > \"yesterday\"",
       "column 6: 'ts' is a time: \"yesterday\" is not an RFC 3339 time such as "
       "\"2026-12-06T10:00:00Z\" (expected YYYY-MM-DD at the start)"},
      {"received < \"2026-02-30\"",
       "column 12: 'received' is a time: \"2026-02-30\" is not an RFC 3339 time such as "
       "\"2026-12-06T10:00:00Z\" (day 30 is not in that month)"},
      {"ts in (1, \"2026-13-01\")",
       "column 11: 'ts' is a time: \"2026-13-01\" is not an RFC 3339 time such as "
       "\"2026-12-06T10:00:00Z\" (month must be 01 to 12)"},
      {"nics.12345678901.mac = 1", "column 1: array index 12345678901 in 'nics.12345678901.mac' is too large"},
      {"x = 1 and \xff", "column 11: invalid UTF-8"},
  };
  for (const BadFilter& c : cases) EXPECT_EQ(ParseError(c.text), c.error) << c.text;
}

TEST(FilterParse, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(ParseError("x = \"日本\" or"),
            "column 12: expected a field (such as type, data.exe or Image), got end of "
            "filter");
}

TEST(FilterParse, NestingDeeperThan64IsRefused) {
  std::string ok = std::string(64, '(') + "x = 1" + std::string(64, ')');
  EXPECT_TRUE(ParseFilter(ok).ok());
  std::string deep = std::string(65, '(') + "x = 1" + std::string(65, ')');
  EXPECT_EQ(ParseError(deep), "column 65: nesting deeper than 64 (parentheses and 'not')");
  std::string nots;
  for (int i = 0; i < 65; ++i) nots += "not ";
  EXPECT_EQ(ParseError(nots + "x = 1"), "column 257: nesting deeper than 64 (parentheses and 'not')");
  std::string mixed;
  for (int i = 0; i < 32; ++i) mixed += "not (";
  EXPECT_TRUE(ParseFilter(mixed + "x = 1" + std::string(32, ')')).ok());
  // Deep but sequential is fine: depth counts nesting, not length.
  std::string wide;
  for (int i = 0; i < 200; ++i) wide += (i ? " or " : "") + std::string("(x = 1)");
  EXPECT_TRUE(ParseFilter(wide).ok());
  auto compiled = CompileFilter(MustParse(ok), SqlDialect::kPostgres);
  EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
}

TEST(FilterParse, TextLongerThan8KiBIsRefused) {
  std::string text = "x = \"" + std::string(kMaxFilterBytes - 6, 'a') + "\"";
  ASSERT_EQ(text.size(), kMaxFilterBytes);
  EXPECT_TRUE(ParseFilter(text).ok());
  text.insert(5, "a");
  EXPECT_EQ(ParseError(text), "the filter is 8193 bytes long; at most 8192 are allowed");
}

TEST(FilterParse, InListsHoldAtMost1000Values) {
  std::string text = "x in (";
  for (int i = 0; i < 1000; ++i) text += (i ? "," : "") + std::to_string(i % 10);
  EXPECT_TRUE(ParseFilter(text + ")").ok());
  const size_t col = text.size() + 2;  // the 1001st value, after the ','
  EXPECT_EQ(ParseError(text + ",1)"), "column " + std::to_string(col) + ": more than 1000 values in an 'in' list");
}

TEST(FilterParse, KeywordsAreReservedButPathsMayContainThem) {
  EXPECT_EQ(ParseError("and = 1"), "column 1: expected a field (such as type, data.exe or Image), got 'and'");
  EXPECT_EQ(MustParse("data.in = 1").field, "data.in");
  EXPECT_EQ(MustParse("x = \"and\"").values[0].text, "and");
}

// ---------------------------------------------------------------------------------------------
// Compiled SQL, textually.

TEST(FilterCompile, PostgresUsesNumberedCastPlaceholdersAndNoValues) {
  auto f = CompileFilter(MustParse(R"(exe endswith "/xmrig" and pid > 100 and ratio < 0.5)"), SqlDialect::kPostgres, 1);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->where.find('?'), std::string::npos) << f->where;
  EXPECT_EQ(f->where.find("xmrig"), std::string::npos);
  EXPECT_EQ(f->where.find("100"), std::string::npos);
  EXPECT_EQ(f->where.find("0.5"), std::string::npos);
  EXPECT_EQ(f->where.find("LIKE"), std::string::npos);
  EXPECT_NE(f->where.find("$1::text[]"), std::string::npos) << f->where;
  EXPECT_NE(f->where.find("right("), std::string::npos) << f->where;
  EXPECT_NE(f->where.find("::numeric"), std::string::npos) << f->where;
  EXPECT_NE(f->where.find("CASE WHEN jsonb_typeof"), std::string::npos) << f->where;
  ExpectPlaceholdersMatchParams(*f, SqlDialect::kPostgres, 1);
  ASSERT_EQ(f->params.size(), 6u);
  EXPECT_EQ(std::get<std::string>(f->params[0]), R"({"data","exe"})");
  EXPECT_EQ(std::get<std::string>(f->params[1]), "/xmrig");
  EXPECT_EQ(std::get<int64_t>(f->params[3]), 100);
  EXPECT_EQ(std::get<double>(f->params[5]), 0.5);
}

TEST(FilterCompile, PostgresExactText) {
  auto f = CompileFilter(MustParse(R"(exe contains "x" or device >= 'b')"), SqlDialect::kPostgres, 4);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->where,
            "(COALESCE((jsonb_typeof(body #> $4::text[]) = 'string' AND strpos((body #>> $4::text[]), $5::text) > 0), "
            "1=0) OR (device COLLATE \"C\" >= $6::text))");
  auto idx = CompileFilter(MustParse("nics.0.mac = true"), SqlDialect::kPostgres);
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx->where,
            "COALESCE((jsonb_typeof((CASE WHEN jsonb_typeof(body #> $1::text[]) = 'array' THEN body #> $2::text[] "
            "END)) = 'boolean' AND ((CASE WHEN jsonb_typeof(body #> $1::text[]) = 'array' THEN body #> $2::text[] "
            "END) #>> '{}') = $3::text), 1=0)");
  ASSERT_EQ(idx->params.size(), 3u);
  EXPECT_EQ(std::get<std::string>(idx->params[0]), R"({"data","nics"})");
  EXPECT_EQ(std::get<std::string>(idx->params[1]), R"({"data","nics","0","mac"})");
  EXPECT_EQ(std::get<std::string>(idx->params[2]), "true");
}

TEST(FilterCompile, SqliteExactText) {
  auto f = CompileFilter(MustParse("nics.0.mac = null and seq > 5"), SqlDialect::kSqlite);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->where, "(COALESCE((COALESCE(json_type(body, ?1), 'null') = 'null'), 1=0) AND (seq > ?2))");
  EXPECT_EQ(std::get<std::string>(f->params[0]), R"($."data"."nics"[0]."mac")");
  EXPECT_EQ(std::get<int64_t>(f->params[1]), 5);
}

TEST(FilterCompile, SigmaNamesRestrictToTheirTypes) {
  auto f = CompileFilter(MustParse(R"(Image = "/bin/sh")"), SqlDialect::kSqlite);
  ASSERT_TRUE(f.ok());
  // Image is the program of process events, of connections, and of file opens.
  ASSERT_GE(f->params.size(), 5u);
  EXPECT_EQ(std::get<std::string>(f->params[0]), "process");
  EXPECT_EQ(std::get<std::string>(f->params[1]), "network");
  EXPECT_EQ(std::get<std::string>(f->params[2]), "file");
  EXPECT_EQ(std::get<std::string>(f->params[3]), R"($."data"."exe")");
  EXPECT_NE(f->where.find("type IN (?1, ?2, ?3)"), std::string::npos) << f->where;
}

TEST(FilterCompile, TimesBecomeEpochMilliseconds) {
  auto f = CompileFilter(MustParse(R"(ts >= "2026-12-06T10:00:00.250Z")"), SqlDialect::kPostgres);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->params.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(f->params[0]), fc::kBaseMs + 250);
  EXPECT_EQ(f->where, "(ts >= $1::bigint)");
}

TEST(FilterCompile, EveryCaseHasOnePlaceholderNumberPerParameterInBothDialects) {
  for (const fc::FilterCase& c : fc::Cases()) {
    for (SqlDialect d : {SqlDialect::kSqlite, SqlDialect::kPostgres}) {
      for (int first : {1, 7}) {
        auto f = CompileFilter(MustParse(c.filter), d, first);
        ASSERT_TRUE(f.ok()) << c.filter;
        SCOPED_TRACE(c.filter);
        ExpectPlaceholdersMatchParams(*f, d, first);
        EXPECT_EQ(f->where.find(d == SqlDialect::kSqlite ? '$' : '?'), std::string::npos) << f->where;
      }
    }
  }
}

TEST(FilterCompile, HandBuiltFiltersAreCheckedToo) {
  Filter bad;
  bad.kind = Filter::Kind::kCompare;
  bad.field = "x'; --";
  bad.values = {FilterValue::Integer(1)};
  EXPECT_FALSE(CompileFilter(bad, SqlDialect::kSqlite).ok());
  bad.field = "seq";
  bad.values = {FilterValue::String("abc")};
  EXPECT_FALSE(CompileFilter(bad, SqlDialect::kSqlite).ok());
  bad.values = {};
  EXPECT_FALSE(CompileFilter(bad, SqlDialect::kSqlite).ok());
  Filter lonely;
  lonely.kind = Filter::Kind::kAnd;
  lonely.children = {MustParse("x = 1")};
  EXPECT_FALSE(CompileFilter(lonely, SqlDialect::kSqlite).ok());
  EXPECT_FALSE(CompileFilter(MustParse("x = 1"), SqlDialect::kSqlite, 0).ok());
}

// ---------------------------------------------------------------------------------------------
// Time specs.

constexpr int64_t kNow = fc::kBaseMs;

TEST(TimeSpec, RelativeDurationsCountBackFromNow) {
  EXPECT_EQ(*ParseTimeSpec("90s", kNow), kNow - 90'000);
  EXPECT_EQ(*ParseTimeSpec("30m", kNow), kNow - 30 * 60'000);
  EXPECT_EQ(*ParseTimeSpec("1h", kNow), kNow - 3'600'000);
  EXPECT_EQ(*ParseTimeSpec("7d", kNow), kNow - 7 * 86'400'000LL);
  EXPECT_EQ(*ParseTimeSpec("2w", kNow), kNow - 14 * 86'400'000LL);
  EXPECT_EQ(*ParseTimeSpec("0s", kNow), kNow);
  EXPECT_EQ(*ParseTimeSpec("now", kNow), kNow);
}

TEST(TimeSpec, Rfc3339AndDatesAndEpochMilliseconds) {
  EXPECT_EQ(*ParseTimeSpec("2026-12-06T10:00:00Z", kNow), fc::kBaseMs);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06T10:00:00.123Z", kNow), fc::kBaseMs + 123);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06T10:00:00.1Z", kNow), fc::kBaseMs + 100);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06T10:00:00.123456789Z", kNow), fc::kBaseMs + 123);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06t10:00:00z", kNow), fc::kBaseMs);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06 10:00:00Z", kNow), fc::kBaseMs);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06T12:00:00+02:00", kNow), fc::kBaseMs);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06T05:30:00-04:30", kNow), fc::kBaseMs);
  EXPECT_EQ(*ParseTimeSpec("2026-12-06", kNow), fc::kBaseMs - 10 * 3'600'000);
  EXPECT_EQ(*ParseTimeSpec("1970-01-01", kNow), 0);
  EXPECT_EQ(*ParseTimeSpec("2024-02-29", kNow), 1709164800000);
  EXPECT_EQ(*ParseTimeSpec("1796551200000", kNow), fc::kBaseMs);
  EXPECT_EQ(*ParseTimeSpec("0", kNow), 0);
}

TEST(TimeSpec, ClearErrors) {
  const std::pair<const char*, const char*> bad[] = {
      {"",
       "empty time: expected a duration before now (90s, 30m, 1h, 7d, 2w), an RFC 3339 time "
       "(2026-12-06T10:00:00Z), a date (2026-12-06), epoch milliseconds, or 'now'"},
      {"yesterday",
       "time \"yesterday\": expected a duration before now (90s, 30m, 1h, 7d, 2w), an RFC 3339 time "
       "(2026-12-06T10:00:00Z), a date (2026-12-06), epoch milliseconds, or 'now'"},
      {"5y", "time \"5y\": unknown unit 'y' (s, m, h, d or w)"},
      {"-1h",
       "time \"-1h\": expected a duration before now (90s, 30m, 1h, 7d, 2w), an RFC 3339 time "
       "(2026-12-06T10:00:00Z), a date (2026-12-06), epoch milliseconds, or 'now'"},
      {"99999999999999999h", "time \"99999999999999999h\": duration out of range"},
      {"99999999999999999999", "time \"99999999999999999999\": epoch milliseconds out of range"},
      {"2026-12-06T10:00:00", "time \"2026-12-06T10:00:00\": expected 'Z' or an offset (+HH:MM) after the time"},
      {"2026-12-06T25:00:00Z", "time \"2026-12-06T25:00:00Z\": time of day out of range"},
      {"2026-02-29", "time \"2026-02-29\": day 29 is not in that month"},
      {"2026-00-10", "time \"2026-00-10\": month must be 01 to 12"},
      {"2026-12-06T10:00Z", "time \"2026-12-06T10:00Z\": expected HH:MM:SS after the date"},
      {"2026-12-06T10:00:00.Z", "time \"2026-12-06T10:00:00.Z\": expected 1 to 9 digits of fraction after '.'"},
      {"2026-12-06T10:00:00+2:00", "time \"2026-12-06T10:00:00+2:00\": expected an offset as +HH:MM"},
      {"2026-12-06T10:00:00Zjunk", "time \"2026-12-06T10:00:00Zjunk\": unexpected text after the time"},
      {"2026-12-06X", "time \"2026-12-06X\": expected 'T' and a time after the date"},
  };
  for (auto [spec, error] : bad) {
    auto r = ParseTimeSpec(spec, kNow);
    ASSERT_FALSE(r.ok()) << spec;
    EXPECT_EQ(r.status().message(), error) << spec;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace vigil::hub
