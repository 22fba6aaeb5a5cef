#include "agent/collectors/files/opens.h"

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"
#include "schema/schema.h"

namespace vigil::files {
namespace {

class OpenReporterTest : public ::testing::Test {
 protected:
  OpenReporterTest() {
    env_.SetFile("/etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n");
    FileInfo dev;
    dev.mode = S_IFCHR | 0600;
    env_.SetFile("/dev/watchdog", "", dev);
    env_.SetLink("/proc/5190/exe", "/tmp/.x/dvrHelper");
    env_.SetFile("/proc/5190/comm", "dvrHelper\n");
    env_.SetFile("/proc/5190/status", "Name:\tdvrHelper\nPPid:\t1\nUid:\t1001\t0\t0\t0\n");
  }

  FakeEnv env_;
  CollectorStats stats_{"files"};
  common::UserNames users_{env_, stats_};
  OpenReporter reporter_{env_, users_, /*self_pid=*/42};
};

TEST_F(OpenReporterTest, NamesTheOpeningProcess) {
  auto e = reporter_.Build(OpenNotice{"/dev/watchdog", 5190}, 1234);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->type, "file");
  EXPECT_EQ(e->action, "opened");
  EXPECT_EQ(e->ts_ms, 1234);
  const Json& d = e->data;
  EXPECT_EQ(d["path"], "/dev/watchdog");
  EXPECT_EQ(d["root"], "/dev/watchdog");
  EXPECT_EQ(d["type"], "other");
  EXPECT_EQ(d["pid"], 5190);
  EXPECT_EQ(d["exe"], "/tmp/.x/dvrHelper");
  EXPECT_EQ(d["comm"], "dvrHelper");
  EXPECT_EQ(d["uid"], 1001);  // the real uid, not the effective one
  EXPECT_EQ(d["user"], "alice");
  EXPECT_EQ(e->agg_key,
            "file\x1f"
            "opened\x1f/dev/watchdog\x1f/tmp/.x/dvrHelper\x1f"
            "alice");
}

TEST_F(OpenReporterTest, AProcessGoneAlreadyLeavesItsPidAlone) {
  auto e = reporter_.Build(OpenNotice{"/dev/watchdog", 7000}, 0);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->data["pid"], 7000);
  EXPECT_FALSE(e->data.contains("exe"));
  EXPECT_FALSE(e->data.contains("uid"));
}

TEST_F(OpenReporterTest, TheAgentsOwnOpensAreNotReported) {
  EXPECT_FALSE(reporter_.Build(OpenNotice{"/dev/watchdog", 42}, 0).has_value());
}

TEST_F(OpenReporterTest, EventsMatchTheSchema) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (int32_t pid : {5190, 7000}) {
    auto e = reporter_.Build(OpenNotice{"/dev/watchdog", pid}, 1);
    ASSERT_TRUE(e.has_value());
    e->device = "device-1";
    e->seq = 1;
    e->priority = Priority::kMedium;
    std::string problems;
    const Json j = EventToJson(*e);
    for (const schema::ValidationError& err : loaded->Check(j)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << problems << "\n" << j.dump();
  }
}

}  // namespace
}  // namespace vigil::files
