#include "schema/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/core/event.h"
#include "agent/core/stats.h"

namespace vigil::schema {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const Schema& Builtin() {
  const Result<Schema>& r = BuiltinSchema();
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    std::abort();
  }
  return *r;
}

// An event with the real envelope (EventToJson), so the tests follow the agent's shape.
Json MakeEvent(std::string type, std::string action, Json data, Priority priority = Priority::kMedium) {
  Event e;
  e.device = "d-01";
  e.seq = 7;
  e.ts_ms = 1'763'900'000'123;
  e.type = std::move(type);
  e.action = std::move(action);
  e.priority = priority;
  e.data = std::move(data);
  return EventToJson(e);
}

Json ExecEvent() {
  return MakeEvent("process", "exec",
                   {{"pid", 4242},
                    {"ppid", 1},
                    {"uid", 0},
                    {"user", "root"},
                    {"exe", "/usr/bin/curl"},
                    {"cmdline", "curl -s http://example.org"},
                    {"argv", {"curl", "-s", "http://example.org"}},
                    {"cwd", "/root"},
                    {"comm", "curl"},
                    {"sha256", std::string(64, 'a')},
                    {"parent_exe", "/bin/bash"},
                    {"parent_cmdline", "-bash"}});
}

std::vector<std::string> Problems(const Json& event, size_t max_errors = 32) {
  std::vector<std::string> out;
  for (const ValidationError& e : Builtin().Check(event, max_errors)) out.push_back(e.ToString());
  return out;
}

// ---------------------------------------------------------------------------------------
// The built-in schema (schema/events.yml)

TEST(BuiltinSchema, TextIsTheSchemaFileItWasBuiltFrom) {
  std::ifstream in(VIGIL_SCHEMA_FILE, std::ios::binary);
  ASSERT_TRUE(in) << VIGIL_SCHEMA_FILE;
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string text = BuiltinSchemaText();
  EXPECT_GT(text.size(), 10'000u);
  EXPECT_TRUE(text == file) << "the compiled-in schema differs from " << VIGIL_SCHEMA_FILE;
  // Compressed: the binary carries a fraction of it.
  EXPECT_LT(BuiltinSchemaBundle().zstd.size(), file.size() / 3);
}

TEST(BuiltinSchema, LoadsWithEveryTypeProducedToday) {
  const Schema& s = Builtin();
  EXPECT_EQ(s.version(), kSchemaVersion);
  std::vector<std::string> names;
  for (const TypeSpec& t : s.types()) names.push_back(t.name);
  EXPECT_THAT(names, UnorderedElementsAre("process", "system_info", "heartbeat", "peripheral", "network",
                                          "listening_ports", "file", "login", "local_users", "firewall",
                                          "sbom", "posture", "alert", "agent_stats"));
  ASSERT_NE(s.FindType("process"), nullptr);
  EXPECT_NE(s.FindType("process")->FindAction("exec"), nullptr);
  EXPECT_NE(s.FindType("process")->FindAction("exit"), nullptr);
  EXPECT_TRUE(s.FindType("heartbeat")->actions.empty());
}

TEST(BuiltinSchema, ProcessFieldsCarryTheSigmaProcessCreationNames) {
  const TypeSpec* p = Builtin().FindType("process");
  ASSERT_NE(p, nullptr);
  const std::vector<std::pair<std::string, std::string>> want = {{"exe", "Image"},
                                                                 {"cmdline", "CommandLine"},
                                                                 {"parent_exe", "ParentImage"},
                                                                 {"parent_cmdline", "ParentCommandLine"},
                                                                 {"user", "User"},
                                                                 {"cwd", "CurrentDirectory"},
                                                                 {"pid", "ProcessId"},
                                                                 {"ppid", "ParentProcessId"}};
  for (const auto& [field, sigma] : want) {
    const FieldSpec* f = nullptr;
    for (const FieldSpec& x : p->fields)
      if (x.name == field) f = &x;
    ASSERT_NE(f, nullptr) << field;
    EXPECT_EQ(f->sigma, sigma) << field;
  }
  const ActionSpec* exec = p->FindAction("exec");
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(exec->sigma_logsource.category, "process_creation");
  EXPECT_EQ(exec->sigma_logsource.product, "linux");
  EXPECT_TRUE(p->FindAction("exit")->sigma_logsource.empty());
}

TEST(BuiltinSchema, EnvelopeVersionMatchesTheAgent) {
  EXPECT_TRUE(Builtin().Check(ExecEvent()).empty());
  Json e = ExecEvent();
  e["v"] = kSchemaVersion + 1;
  EXPECT_THAT(Problems(e), ElementsAre(HasSubstr("v: schema version 2")));
}

// ---------------------------------------------------------------------------------------
// Valid events of each type

TEST(Validate, AcceptsProcessExecAndExit) {
  EXPECT_THAT(Problems(ExecEvent()), ElementsAre());
  Json exit = MakeEvent("process", "exit",
                        {{"pid", 4242}, {"ppid", 1}, {"exe", "/usr/bin/curl"}, {"exit_code", 137}, {"signal", 9}});
  EXPECT_THAT(Problems(exit), ElementsAre());
  Json partial = MakeEvent("process", "exit", {{"pid", 9}, {"comm", "sh"}, {"partial", true}});
  EXPECT_THAT(Problems(partial), ElementsAre());
}

TEST(Validate, AcceptsAggregatedEventWithCountAndFirstLast) {
  Event e;
  e.device = "d";
  e.type = "process";
  e.action = "exec";
  e.count = 5;
  e.ts_ms = 10;
  e.last_ts_ms = 20;
  e.data = {{"pid", 1}};
  EXPECT_THAT(Problems(EventToJson(e)), ElementsAre());
}

TEST(Validate, AcceptsTheSystemInfoReadmeExample) {
  Json j =
      Json::parse(R"json({"v":1,"device":"d-01","seq":7,"ts":1763900000123,"type":"system_info","action":"snapshot",
 "priority":"low","data":{
  "hostname":"gateway-01","architecture":"aarch64",
  "kernel":{"name":"Linux","release":"6.6.20-v8+","version":"#1 SMP PREEMPT"},
  "os":{"id":"debian","version_id":"12","pretty_name":"Debian GNU/Linux 12 (bookworm)"},
  "hardware":{"source":"devicetree","vendor":"raspberrypi","model":"Raspberry Pi 4 Model B Rev 1.4",
              "compatible":["raspberrypi,4-model-b","brcm,bcm2711"]},
  "cpu":{"model":"Cortex-A72","vendor":"ARM","hardware":"BCM2835","count":4},
  "memory_total_bytes":3978174464,"boot_ts":1763890000000,
  "nics":[{"name":"eth0","mac":"dc:a6:32:01:02:03","operstate":"up","mtu":1500,
           "ipv4":["192.0.2.10/24"],"ipv6":["fe80::dea6:32ff:fe01:203/64"]},
          {"name":"lo","operstate":"unknown","mtu":65536,"ipv4":["127.0.0.1/8"],"ipv6":["::1/128"]}],
  "agent_version":"0.1.0"}})json");
  EXPECT_THAT(Problems(j), ElementsAre());
}

TEST(Validate, AcceptsHeartbeatWithoutAction) {
  EXPECT_THAT(Problems(MakeEvent("heartbeat", "", {{"uptime_s", 60}}, Priority::kHigh)), ElementsAre());
}

TEST(Validate, AcceptsAgentStatsBuiltFromCollectorStats) {
  CollectorStats stats("process");
  stats.collected = 10;
  stats.emitted = 8;
  stats.aggregated = 2;
  stats.SetSource("netlink");
  stats.Drop("bus_full", 3);
  stats.Count("hash_cache_hits", 5);
  CollectorStats idle("heartbeat");
  Json data = {{"collectors", {stats.ToJson(), idle.ToJson()}},
               {"bus", {{"capacity", 4096}, {"dropped", 3}, {"high_watermark", 17}}},
               {"aggregator_held", 2},
               {"events_emitted", 8},
               {"output_errors", 0},
               {"rss_bytes", 3'500'000},
               {"cpu_ms", 120},
               {"uptime_s", 300}};
  EXPECT_THAT(Problems(MakeEvent("agent_stats", "", data, Priority::kLow)), ElementsAre());
}

// ---------------------------------------------------------------------------------------
// Malformed events: every problem names the field

TEST(Validate, UnknownDataFieldIsNamed) {
  Json e = ExecEvent();
  e["data"]["pidd"] = 1;
  EXPECT_THAT(Problems(e), ElementsAre("data.pidd: unknown field"));
}

TEST(Validate, UnknownEnvelopeFieldIsNamed) {
  Json e = ExecEvent();
  e["host"] = "x";
  EXPECT_THAT(Problems(e), ElementsAre("host: unknown field"));
}

TEST(Validate, WrongTypeNamesFieldExpectedAndActualType) {
  Json e = ExecEvent();
  e["data"]["pid"] = "4242";
  e["data"]["argv"] = "curl";
  e["seq"] = -1.5;
  EXPECT_THAT(Problems(e), ::testing::UnorderedElementsAre("data.pid: expected integer, got string",
                                                           "data.argv: expected array of string, got string",
                                                           "seq: expected integer, got number"));
}

TEST(Validate, FractionalNumberIsNotAnInteger) {
  Json e = MakeEvent("heartbeat", "", {{"uptime_s", 1.5}});
  EXPECT_THAT(Problems(e), ElementsAre("data.uptime_s: expected integer, got number"));
}

TEST(Validate, MissingRequiredFieldsAreNamed) {
  Json e = MakeEvent("heartbeat", "", Json::object());
  e.erase("seq");
  EXPECT_THAT(Problems(e), ElementsAre("seq: missing required field", "data.uptime_s: missing required field"));
}

TEST(Validate, NestedProblemsCarryTheirPath) {
  Json e = MakeEvent("system_info", "snapshot",
                     {{"kernel", {{"release", 6}, {"arch", "x"}}},
                      {"nics", {{{"name", "lo"}}, {{"name", "eth0"}, {"mtu", "1500"}}, {{"mtu", 1500}}}}});
  EXPECT_THAT(
      Problems(e),
      ElementsAre("data.kernel.arch: unknown field", "data.kernel.release: expected string, got integer",
                  "data.nics[1].mtu: expected integer, got string", "data.nics[2].name: missing required field"));
}

TEST(Validate, ArrayElementsAreChecked) {
  Json e = ExecEvent();
  e["data"]["argv"] = {"curl", 5};
  EXPECT_THAT(Problems(e), ElementsAre("data.argv[1]: expected string, got integer"));
}

TEST(Validate, MapValuesAreCheckedAndOddKeysQuoted) {
  CollectorStats stats("process");
  Json c = stats.ToJson();
  c["dropped"]["bus full"] = "many";
  c["counters"]["x"] = -1;  // any integer
  Json data = {{"collectors", {c}},    {"bus", {{"capacity", 1}, {"dropped", 0}, {"high_watermark", 0}}},
               {"aggregator_held", 0}, {"events_emitted", 0},
               {"output_errors", 0},   {"rss_bytes", 1},
               {"cpu_ms", 1},          {"uptime_s", 1}};
  EXPECT_THAT(Problems(MakeEvent("agent_stats", "", data)),
              ElementsAre("data.collectors[0].dropped[\"bus full\"]: expected integer, got string"));
}

TEST(Validate, EnumValuesAreEnforced) {
  Json e = ExecEvent();
  e["priority"] = "urgent";
  EXPECT_THAT(Problems(e), ElementsAre(HasSubstr("priority: value \"urgent\" is not one of \"high\"")));
  Json s = MakeEvent("system_info", "snapshot", {{"hardware", {{"source", "bios"}}}});
  EXPECT_THAT(Problems(s), ElementsAre(HasSubstr("data.hardware.source: value \"bios\"")));
}

TEST(Validate, UnknownTypeIsNamed) {
  EXPECT_THAT(Problems(MakeEvent("keylogger", "success", {{"user", "x"}})),
              ElementsAre("type: unknown event type \"keylogger\""));
}

TEST(Validate, ActionMustBelongToTheType) {
  EXPECT_THAT(Problems(MakeEvent("process", "", {{"pid", 1}})),
              ElementsAre("action: missing: type 'process' needs one of exec, exit, exe_deleted"));
  EXPECT_THAT(Problems(MakeEvent("process", "fork", {{"pid", 1}})),
              ElementsAre("action: \"fork\" is not an action of type 'process' (exec, exit, exe_deleted)"));
  EXPECT_THAT(Problems(MakeEvent("heartbeat", "beat", {{"uptime_s", 1}})),
              ElementsAre("action: type 'heartbeat' has no actions"));
}

TEST(Validate, FieldOfAnotherActionIsRefused) {
  Json e = ExecEvent();
  e["data"]["exit_code"] = 0;
  EXPECT_THAT(Problems(e), ElementsAre("data.exit_code: not allowed on action 'exec' (only exit)"));
}

TEST(Validate, CountNeedsFirstAndLastTime) {
  Json e = ExecEvent();
  e["count"] = 3;
  EXPECT_THAT(Problems(e),
              ElementsAre("first_ts: missing (required with 'count')", "last_ts: missing (required with 'count')"));
}

TEST(Validate, NonObjectEventAndNonObjectData) {
  EXPECT_THAT(Problems(Json::array({1, 2})), ElementsAre("(event): expected a JSON object, got array"));
  Json e = ExecEvent();
  e["data"] = "x";
  EXPECT_THAT(Problems(e), ElementsAre("data: expected object, got string"));
}

TEST(Validate, StopsAfterTheErrorLimitAndSaysSo) {
  Json e = MakeEvent("heartbeat", "", {{"uptime_s", 1}});
  for (int i = 0; i < 100; ++i) e["data"][std::string("f").append(std::to_string(i))] = i;
  std::vector<std::string> p = Problems(e, 5);
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p.back(), "(event): more problems, not listed");
}

TEST(Validate, StatusJoinsEveryProblem) {
  Json e = ExecEvent();
  e["data"]["pid"] = "x";
  e["data"]["zzz"] = 1;
  Status st = Builtin().Validate(e);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "data.pid: expected integer, got string; data.zzz: unknown field");
  EXPECT_TRUE(Builtin().Validate(ExecEvent()).ok());
}

// ---------------------------------------------------------------------------------------
// Malformed schema files: errors name file, line and entry

// A small valid schema; `field` is the YAML of data field `a` of type `thing`, starting at
// line 15 of the text.
std::string SchemaText(const std::string& field = "a: {type: integer, required: true, description: A.}") {
  return "version: 1\n"                                                             // 1
         "envelope:\n"                                                              // 2
         "  description: Env.\n"                                                    // 3
         "  fields:\n"                                                              // 4
         "    v: {type: integer, required: true, description: V.}\n"                // 5
         "    type: {type: string, required: true, description: T.}\n"              // 6
         "    action: {type: string, required: false, description: A.}\n"           // 7
         "    data: {type: object, required: true, description: D.}\n"              // 8
         "types:\n"                                                                 // 9
         "  thing:\n"                                                               // 10
         "    description: A thing.\n"                                              // 11
         "    collector: test\n"                                                    // 12
         "    actions: {made: {description: Made.}, gone: {description: Gone.}}\n"  // 13
         "    fields:\n"                                                            // 14
         "      " +
         field + "\n";  // 15
}

std::string ParseError(const std::string& text) {
  Result<Schema> r = Schema::Parse(text, "test.yml");
  if (r.ok()) return "parsed";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return std::string(r.status().message());
}

TEST(SchemaFile, SmallSchemaParsesAndValidates) {
  Result<Schema> r = Schema::Parse(SchemaText(), "test.yml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->Validate(Json{{"v", 1}, {"type", "thing"}, {"action", "made"}, {"data", {{"a", 3}}}}).ok());
  EXPECT_EQ(r->FindType("thing")->fields.front().line, 15);
}

TEST(SchemaFile, YamlSyntaxErrorNamesLineAndColumn) {
  EXPECT_THAT(ParseError("version: 1\nenvelope: [a, b\n"), HasSubstr("test.yml:3:1: YAML syntax"));
}

TEST(SchemaFile, EmptyFileIsRefused) { EXPECT_EQ(ParseError(""), "test.yml: empty schema file"); }

TEST(SchemaFile, UnknownKeyNamesFileLineAndPath) {
  EXPECT_EQ(ParseError(SchemaText("a: {tpye: integer, required: true, description: A.}")),
            "test.yml:15: types.thing.fields.a: unknown key 'tpye' (allowed: type, required, description, sigma, "
            "actions, enum, requires, fields, items, values, known_keys)");
}

TEST(SchemaFile, UnknownTypeName) {
  EXPECT_THAT(ParseError(SchemaText("a: {type: strin, required: true, description: A.}")),
              HasSubstr("test.yml:15: types.thing.fields.a.type: unknown type 'strin'"));
}

TEST(SchemaFile, MissingDescriptionAndRequired) {
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: true}")),
            "test.yml:15: types.thing.fields.a: missing key 'description'");
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, description: A.}")),
            "test.yml:15: types.thing.fields.a: missing key 'required' (true or false)");
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: maybe, description: A.}")),
            "test.yml:15: types.thing.fields.a.required: expected true or false");
}

TEST(SchemaFile, ContainersNeedTheirParts) {
  EXPECT_EQ(ParseError(SchemaText("a: {type: array, required: true, description: A.}")),
            "test.yml:15: types.thing.fields.a: an array needs 'items'");
  EXPECT_EQ(ParseError(SchemaText("a: {type: object, required: true, description: A.}")),
            "test.yml:15: types.thing.fields.a: an object needs 'fields' (use {} for none)");
  EXPECT_EQ(ParseError(SchemaText("a: {type: map, required: true, description: A.}")),
            "test.yml:15: types.thing.fields.a: a map needs 'values'");
  EXPECT_EQ(ParseError(SchemaText("a: {type: string, required: true, description: A., items: {type: string}}")),
            "test.yml:15: types.thing.fields.a.items: only array fields have items");
  EXPECT_EQ(ParseError(SchemaText("a: {type: array, required: true, description: A., items: {type: string, "
                                  "description: x}}")),
            "test.yml:15: types.thing.fields.a.items: unknown key 'description' (allowed: type, enum, fields, "
            "items, values, known_keys)");
}

TEST(SchemaFile, FieldActionsMustBeTheTypes) {
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: false, description: A., actions: [exit]}")),
            "test.yml:15: types.thing.fields.a.actions: unknown action 'exit' (the type's actions: made, gone)");
}

TEST(SchemaFile, RequiresMustNameASibling) {
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: false, description: A., requires: [b]}")),
            "test.yml:15: types.thing.fields.a.requires: 'b' is not another field of this object");
}

TEST(SchemaFile, EnumOnlyForStringsAndIntegers) {
  EXPECT_EQ(ParseError(SchemaText("a: {type: boolean, required: false, description: A., enum: [true]}")),
            "test.yml:15: types.thing.fields.a.enum: only string and integer fields take an enum");
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: false, description: A., enum: [1, x]}")),
            "test.yml:15: types.thing.fields.a.enum: 'x' is not an integer");
}

TEST(SchemaFile, DuplicateFieldIsRefused) {
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: true, description: A.}\n"
                                  "      a: {type: string, required: true, description: A.}")),
            "test.yml:16: types.thing.fields: duplicate key 'a'");
}

TEST(SchemaFile, BadNamesAreRefused) {
  EXPECT_EQ(ParseError(SchemaText("Bad-Name: {type: integer, required: true, description: A.}")),
            "test.yml:15: types.thing.fields.Bad-Name: field names are lowercase letters, digits and _");
  EXPECT_EQ(ParseError(SchemaText("a: {type: integer, required: true, description: A., sigma: Process Id}")),
            "test.yml:15: types.thing.fields.a.sigma: expected a Sigma field name such as Image");
}

TEST(SchemaFile, EnvelopeMustDefineWhatTheValidatorUses) {
  std::string text = SchemaText();
  text.replace(text.find("    type: {type: string"), std::string("    type: {type: string").size(),
               "    kind: {type: string");
  EXPECT_EQ(ParseError(text), "test.yml:5: envelope.fields: needs 'type' (string, required)");
  text = SchemaText();
  text.replace(text.find("    data: {type: object"), std::string("    data: {type: object").size(),
               "    data: {type: string");
  EXPECT_EQ(ParseError(text), "test.yml:8: envelope.fields.data: data must be an object");
}

TEST(SchemaFile, TopLevelMustBeAMapWithVersion) {
  EXPECT_EQ(ParseError("- a\n- b\n"), "test.yml:1: expected a map");
  std::string text = SchemaText();
  text.replace(0, std::string("version: 1").size(), "version: one");
  EXPECT_EQ(ParseError(text), "test.yml:1: version: expected a positive integer");
}

TEST(SchemaFile, DeepNestingIsRefused) {
  std::string field = "a: {type: object, required: false, description: A., fields: {";
  std::string close = "}}";
  for (int i = 0; i < 20; ++i) {
    field += "b: {type: object, required: false, description: B., fields: {";
    close += "}}";
  }
  field += close;
  EXPECT_THAT(ParseError(SchemaText(field)), HasSubstr("nested more than 16 levels deep"));
}

TEST(SchemaFile, SelfReferencingAliasDoesNotRecurseForever) {
  // An alias to an enclosing node makes a cycle in yaml-cpp's graph; the depth limit stops it.
  const std::string r =
      ParseError(SchemaText("a: &x {type: object, required: false, description: A., fields: {b: *x}}"));
  EXPECT_NE(r, "parsed");
}

// ---------------------------------------------------------------------------------------
// Documentation

TEST(Markdown, ListsEveryTypeFieldAndSigmaName) {
  const std::string md = RenderMarkdown(Builtin(), "schema/events.yml");
  EXPECT_THAT(md, HasSubstr("Generated from `schema/events.yml` by `vigil-schema docs`"));
  for (const char* type : {"## `process`", "## `system_info`", "## `heartbeat`", "## `agent_stats`"})
    EXPECT_THAT(md, HasSubstr(type));
  EXPECT_THAT(md, HasSubstr("| `pid` | integer | yes | `ProcessId` | Process id. |"));
  EXPECT_THAT(md, HasSubstr("| `exit_code` | integer | no (`exit` only) |"));
  EXPECT_THAT(md, HasSubstr("| `nics[].name` | string | yes |"));
  EXPECT_THAT(md, HasSubstr("| `collectors[].dropped` | map of integer | yes |"));
  EXPECT_THAT(md, HasSubstr("| `Image` | `process` `data.exe` | `exec`: category: process_creation, product: linux |"));
  EXPECT_THAT(md, HasSubstr("One of `dmi`, `devicetree`, `cpuinfo`."));
}

TEST(Markdown, TableCellsStayOnOneLine) {
  const std::string text = SchemaText("a: {type: string, required: true, description: \"x | y\"}");
  Result<Schema> r = Schema::Parse(text, "t.yml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(RenderMarkdown(*r, "t.yml"), HasSubstr("| `a` | string | yes | x \\| y |\n"));
}

// ---------------------------------------------------------------------------------------
// The vigil-schema tool

struct ToolRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

ToolRun RunTool(const std::string& args) {
  ToolRun r;
  const std::string cmd = std::string(VIGIL_SCHEMA_TOOL) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) r.output.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/vigil-schema-test-XXXXXX";
    dir_ = mkdtemp(tmpl) ? tmpl : "/tmp";
    path_ = dir_ + "/events.jsonl";
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_, path_;
};

TEST(Tool, ValidateReportsFileLineAndFieldAndFails) {
  Json bad = ExecEvent();
  bad["data"]["pid"] = "x";
  TempFile f(MakeEvent("heartbeat", "", {{"uptime_s", 1}}).dump() + "\n" + bad.dump() + "\n{not json\n");
  ToolRun r = RunTool("validate " VIGIL_SCHEMA_FILE " " + f.path());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr(f.path() + ":2: data.pid: expected integer, got string\n"));
  EXPECT_THAT(r.output, HasSubstr(f.path() + ":3: not a JSON value\n"));
  EXPECT_THAT(r.output, HasSubstr(f.path() + ": 3 events, 2 invalid"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr(":1:")));
}

TEST(Tool, ValidateAcceptsValidEvents) {
  TempFile f(ExecEvent().dump() + "\n" + MakeEvent("heartbeat", "", {{"uptime_s", 1}}).dump() + "\n");
  ToolRun r = RunTool("validate " VIGIL_SCHEMA_FILE " " + f.path());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("2 events, 0 invalid"));
}

TEST(Tool, MalformedSchemaIsAUsageError) {
  TempFile f(SchemaText("a: {type: integer, required: true}"));
  ToolRun r = RunTool("docs " + f.path());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr(f.path() + ":15: types.thing.fields.a: missing key 'description'"));
  EXPECT_EQ(RunTool("validate /nonexistent/events.yml -").exit_code, 2);
}

TEST(Tool, DocsPrintsTheReferenceOfTheBuiltinSchema) {
  ToolRun r = RunTool(std::string("docs ") + VIGIL_SCHEMA_FILE);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, RenderMarkdown(Builtin(), VIGIL_SCHEMA_FILE))
      << "the tool and the library render the same schema file differently";
}

}  // namespace
}  // namespace vigil::schema
