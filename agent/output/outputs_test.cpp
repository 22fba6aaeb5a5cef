#include "agent/output/outputs.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil {
namespace {

Event Ev(uint64_t seq, size_t pad = 0) {
  Event e;
  e.device = "d";
  e.seq = seq;
  e.ts_ms = 1'700'000'000'000;
  e.type = "process";
  e.action = "exec";
  e.data["cmdline"] = std::string(pad, 'x');
  return e;
}

TEST(JsonlFileOutput, WritesOneJsonObjectPerLine) {
  FakeEnv env;
  auto out = JsonlFileOutput::Open(env, "/out/e.jsonl", 1 << 20, 3);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE((*out)->Write(Ev(1)).ok());
  ASSERT_TRUE((*out)->Write(Ev(2)).ok());
  std::string content = env.Content("/out/e.jsonl");
  size_t nl = content.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(Json::parse(content.substr(0, nl))["seq"], 1);
  EXPECT_EQ(content.back(), '\n');
}

TEST(JsonlFileOutput, RotatesBySizeAndKeepsTheNewestFiles) {
  FakeEnv env;
  auto out = JsonlFileOutput::Open(env, "/o/e.jsonl", 4096, 2);
  ASSERT_TRUE(out.ok());
  for (uint64_t i = 1; i <= 40; ++i) ASSERT_TRUE((*out)->Write(Ev(i, 300)).ok());
  EXPECT_TRUE(env.Exists("/o/e.jsonl.1"));
  EXPECT_TRUE(env.Exists("/o/e.jsonl.2"));
  EXPECT_FALSE(env.Exists("/o/e.jsonl.3"));
  for (const char* f : {"/o/e.jsonl", "/o/e.jsonl.1", "/o/e.jsonl.2"})
    EXPECT_LE(env.Content(f).size(), 4096u) << f;
  // The newest event is in the live file, and .1 holds the ones just before it.
  std::string live = env.Content("/o/e.jsonl");
  EXPECT_NE(live.find("\"seq\":40"), std::string::npos);
  std::string one = env.Content("/o/e.jsonl.1");
  uint64_t last_in_one = Json::parse(one.substr(one.rfind('\n', one.size() - 2) + 1))["seq"];
  uint64_t first_live = Json::parse(live.substr(0, live.find('\n')))["seq"];
  EXPECT_EQ(last_in_one + 1, first_live);
}

TEST(OpenOutput, RejectsUnknownTargetsClearly) {
  FakeEnv env;
  auto out = OpenOutput(env, "kafka://x", 1 << 20, 1, false);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("stdout, pretty or jsonl:PATH"), std::string_view::npos);
  EXPECT_FALSE(OpenOutput(env, "jsonl:", 1 << 20, 1, false).ok());
  EXPECT_TRUE(OpenOutput(env, "stdout", 1 << 20, 1, false).ok());
}

#ifdef VIGIL_WITH_PRETTY_OUTPUT
TEST(PrettyOutput, ShowsTimeTypeCountAndCommand) {
  Event e = Ev(1);
  e.data = {{"cmdline", "ls -la"}, {"user", "root"}, {"pid", 7}, {"ppid", 1}};
  e.count = 4;
  std::string line = FormatEventPretty(e, false);
  EXPECT_NE(line.find("22:13:20.000"), std::string::npos) << line;
  EXPECT_NE(line.find("process"), std::string::npos);
  EXPECT_NE(line.find("x4"), std::string::npos);
  EXPECT_NE(line.find("root  ls -la"), std::string::npos) << line;
  EXPECT_EQ(line.find('\033'), std::string::npos) << "no colour codes when not a terminal";
  EXPECT_NE(FormatEventPretty(e, true).find('\033'), std::string::npos);
}

TEST(PrettyOutput, PartialProcessShowsWhatIsKnown) {
  Event e = Ev(1);
  e.data = {{"comm", "true"}, {"pid", 9}, {"partial", true}};
  EXPECT_NE(FormatEventPretty(e, false).find("[true]"), std::string::npos);
  EXPECT_NE(FormatEventPretty(e, false).find("partial"), std::string::npos);
  e.data = {{"pid", 9}, {"partial", true}};
  EXPECT_NE(FormatEventPretty(e, false).find("  ?  (pid 9"), std::string::npos) << FormatEventPretty(e, false);
}
#endif

}  // namespace
}  // namespace vigil
