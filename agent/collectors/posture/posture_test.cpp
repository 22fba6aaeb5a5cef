#include "agent/collectors/posture/posture.h"

#include <chrono>

#include <gtest/gtest.h>

#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/posture/builtin.h"
#include "schema/schema.h"

namespace vigil::posture {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPolicy = R"(policy: {id: test-policy, name: Test policy, version: "2"}
groups:
  - id: kernel
    title: Kernel
    checks:
      - id: aslr
        title: ASLR is on
        rationale: r
        remediation: sysctl -w kernel.randomize_va_space=2
        severity: high
        references: ['1.5.3']
        rules:
          - sysctl: kernel.randomize_va_space
            value: '2'
      - id: forwarding
        title: No IP forwarding
        rationale: r
        remediation: sysctl -w net.ipv4.ip_forward=0
        severity: medium
        rules:
          - sysctl: net.ipv4.ip_forward
            value: '0'
  - id: ssh
    title: SSH
    checks:
      - id: ssh-root
        title: No root login
        rationale: r
        remediation: PermitRootLogin no
        severity: critical
        rules:
          - file: /etc/ssh/sshd_config
            matches: '^\s*PermitRootLogin\s+no'
)";

class NoCommands : public CommandRunner {
 public:
  Result<CommandOutput> Run(const std::vector<std::string>&, int, size_t) override {
    return Status::Unavailable("no commands in this test");
  }
};

class PostureCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("posture", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    ASSERT_TRUE(config_.Set(schema_, "posture.policy", "/etc/vigil/policy.yml").ok());
    ASSERT_TRUE(config_.Set(schema_, "posture.first_scan_delay", "0s").ok());
    env_.SetFile("/etc/vigil/policy.yml", kPolicy);
    env_.SetFile("/proc/sys/kernel/randomize_va_space", "2\n");
    env_.SetFile("/proc/sys/net/ipv4/ip_forward", "1\n");
    env_.SetFile("/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\n");
  }
  std::unique_ptr<Collector> Make() {
    ctx_ = std::make_unique<CollectorContext>(
        CollectorContext{config_, env_, bus_, scheduler_, stats_, kDescriptor.default_priority});
    return NewPostureCollector(*ctx_, std::make_unique<NoCommands>());
  }
  // The first event the collector writes, within the timeout.
  std::optional<Event> NextEvent(std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    std::vector<Event> events;
    while (events.empty() && std::chrono::steady_clock::now() < give_up) bus_.PopAll(&events, 50ms);
    if (events.empty()) return std::nullopt;
    return events.front();
  }

  ConfigSchema schema_;
  Config config_ = Config::Defaults(schema_);
  FakeEnv env_;
  EventBus bus_{64};
  Scheduler scheduler_;
  CollectorStats stats_{"posture"};
  std::unique_ptr<CollectorContext> ctx_;
};

TEST_F(PostureCollectorTest, AScanAtStartGivesOnePostureEventWithEveryCheckAndRemediationOnFailures) {
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  auto e = NextEvent(5s);
  ASSERT_TRUE(e.has_value());
  c->Stop();
  EXPECT_EQ(e->type, "posture");
  EXPECT_EQ(e->action, "scan");
  EXPECT_EQ(e->priority, Priority::kLow);
  const Json& d = e->data;
  EXPECT_EQ(d["policy"]["id"], "test-policy");
  EXPECT_EQ(d["policy"]["version"], "2");
  EXPECT_EQ(d["summary"]["pass"], 1);
  EXPECT_EQ(d["summary"]["fail"], 2);
  EXPECT_NEAR(d["summary"]["score"].get<double>(), 100.0 / 3, 0.01);
  ASSERT_EQ(d["checks"].size(), 3u);
  EXPECT_EQ(d["checks"][0]["id"], "aslr");
  EXPECT_EQ(d["checks"][0]["result"], "pass");
  EXPECT_FALSE(d["checks"][0].contains("remediation"));
  EXPECT_EQ(d["checks"][0]["references"], Json::array({"1.5.3"}));
  EXPECT_EQ(d["checks"][2]["id"], "ssh-root");
  EXPECT_EQ(d["checks"][2]["result"], "fail");
  EXPECT_EQ(d["checks"][2]["severity"], "critical");
  EXPECT_EQ(d["checks"][2]["remediation"], "PermitRootLogin no");
  // The event is what the schema says a posture event is.
  const auto& schema = schema::BuiltinSchema();
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  Event stamped = *e;
  stamped.device = "d";
  stamped.seq = 1;
  Status valid = schema->Validate(EventToJson(stamped));
  EXPECT_TRUE(valid.ok()) << valid.ToString();
}

TEST_F(PostureCollectorTest, DisabledChecksAndGroupsAreLeftOutAndCounted) {
  ASSERT_TRUE(config_.Set(schema_, "posture.disabled_checks", "forwarding").ok());
  ASSERT_TRUE(config_.Set(schema_, "posture.disabled_groups", "ssh").ok());
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  auto e = NextEvent(5s);
  ASSERT_TRUE(e.has_value());
  c->Stop();
  EXPECT_EQ(e->data["disabled"], 2);
  ASSERT_EQ(e->data["checks"].size(), 1u);
  EXPECT_EQ(e->data["checks"][0]["id"], "aslr");
  EXPECT_EQ(e->data["summary"]["score"], 100.0);
}

TEST_F(PostureCollectorTest, APolicyWithErrorsIsRefusedAtStartNamingTheLine) {
  env_.SetFile("/etc/vigil/policy.yml", std::string(kPolicy) + "      - id: broken\n        severity: extreme\n");
  auto c = Make();
  Status st = c->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/etc/vigil/policy.yml:"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("broken"), std::string::npos) << st.ToString();
}

// The policy is read again for each scan (it is not kept between scans): one broken since the
// start skips the scan, counted, and sends nothing.
TEST_F(PostureCollectorTest, APolicyBrokenAfterTheStartSkipsTheScanAndIsCounted) {
  ASSERT_TRUE(config_.Set(schema_, "posture.first_scan_delay", "1s").ok());
  auto c = Make();
  ASSERT_TRUE(c->Start().ok());
  env_.SetFile("/etc/vigil/policy.yml", "policy: [not, a, map]\n");
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (stats_.count("policy_errors") == 0 && std::chrono::steady_clock::now() < give_up) {
    std::vector<Event> events;
    bus_.PopAll(&events, 50ms);
    EXPECT_TRUE(events.empty()) << events.front().type;
  }
  c->Stop();
  EXPECT_EQ(stats_.count("policy_errors"), 1u);
  EXPECT_EQ(stats_.count("scans"), 0u);
}

TEST_F(PostureCollectorTest, AMissingPolicyFileIsAnErrorNamingIt) {
  ASSERT_TRUE(config_.Set(schema_, "posture.policy", "/etc/vigil/none.yml").ok());
  Status st = Make()->Start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("/etc/vigil/none.yml"), std::string::npos) << st.ToString();
}

TEST(ResolvePolicy, AutoPicksTheBusyBoxProfileOnOpenWrtAndTheBaselineElsewhere) {
  FakeEnv debian;
  debian.SetFile("/var/lib/dpkg/status", "");
  debian.SetFile("/bin/busybox", "");
  auto p = ResolvePolicy("auto", debian);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->file, DefaultBuiltinPolicy()->name);
  FakeEnv openwrt;
  openwrt.SetFile("/etc/openwrt_release", "DISTRIB_ID='OpenWrt'\n");
  auto q = ResolvePolicy("auto", openwrt);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ((*q)->file, FindBuiltinPolicy("openwrt-busybox")->name);
  auto none = ResolvePolicy("builtin:nope", openwrt);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("linux-baseline"), std::string::npos) << none.status().ToString();
}

}  // namespace
}  // namespace vigil::posture
