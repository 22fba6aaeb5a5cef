#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/collectors/login/login.h"
#include "agent/core/bus.h"
#include "agent/core/scheduler.h"
#include "agent/core/settings.h"
#include "agent/core/stats.h"
#include "agent/platform/fake/fake_env.h"
#include "agent/platform/fake/fake_login_source.h"

namespace vigil::login {
namespace {

using namespace std::chrono_literals;

TEST(LoginDescriptor, DeclaresItsSettingsWithValidDefaults) {
  EXPECT_EQ(kDescriptor.name, "login");
  EXPECT_EQ(kDescriptor.default_priority, Priority::kHigh);
  EXPECT_NE(kDescriptor.factory, nullptr);
  std::set<std::string> keys;
  for (const SettingSpec& spec : kDescriptor.settings) {
    keys.insert(std::string(spec.key));
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    auto v = ParseSettingValue(spec, spec.default_value);
    EXPECT_TRUE(v.ok()) << spec.key << ": " << v.status().ToString();
  }
  EXPECT_EQ(keys, (std::set<std::string>{"auth_log", "utmp", "wtmp", "btmp", "journal", "journal_directory",
                                         "syslog_socket", "max_repeat", "session_entries"}));
}

class LoginCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_.AddSection("login", "", kDescriptor.settings);
    config_ = Config::Defaults(schema_);
    ctx_ =
        std::make_unique<CollectorContext>(CollectorContext{config_, env_, bus_, scheduler_, stats_, Priority::kHigh});
  }

  std::optional<Event> WaitFor(const std::function<bool(const Event&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      for (const Event& e : seen_)
        if (pred(e)) return e;
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      bus_.PopAll(&seen_, 50ms);
    }
  }

  ConfigSchema schema_;
  Config config_;
  FakeEnv env_;
  EventBus bus_{1024};
  Scheduler scheduler_;
  CollectorStats stats_{"login"};
  std::unique_ptr<CollectorContext> ctx_;
  std::vector<Event> seen_;
};

TEST(LoginSettings, PathsMustBeAbsolute) {
  ConfigSchema schema;
  schema.AddSection("login", "", kDescriptor.settings);
  Config config = Config::Defaults(schema);
  auto o = SourceOptionsFromConfig(config);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->auth_log, "/var/log/auth.log");
  EXPECT_EQ(o->utmp, "/var/run/utmp");
  EXPECT_EQ(o->wtmp, "/var/log/wtmp");
  EXPECT_EQ(o->btmp, "/var/log/btmp");
  EXPECT_EQ(o->journal, JournalMode::kAuto);
  EXPECT_EQ(o->syslog_socket, "");
  EXPECT_FALSE(o->journal_identifiers.empty());
  ASSERT_TRUE(config.Set(schema, "login.wtmp", "var/log/wtmp").ok());
  o = SourceOptionsFromConfig(config);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("login.wtmp"), std::string_view::npos) << o.status().ToString();
  ASSERT_TRUE(config.Set(schema, "login.wtmp", "").ok());
  ASSERT_TRUE(config.Set(schema, "login.journal", "off").ok());
  o = SourceOptionsFromConfig(config);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->wtmp, "");
  EXPECT_EQ(o->journal, JournalMode::kOff);
}

TEST_F(LoginCollectorTest, EmitsEventsFromItsSourceAndReportsTheInputsInUse) {
  auto source =
      std::make_unique<FakeLoginSource>(LoginOriginBit(LoginOrigin::kAuthLog) | LoginOriginBit(LoginOrigin::kWtmp));
  FakeLoginSource* fake = source.get();
  auto c = NewLoginCollector(*ctx_, std::move(source));
  ASSERT_TRUE(c->Start().ok());
  EXPECT_EQ(stats_.source(), "auth_log,wtmp");
  fake->PushLine("Mar  3 07:41:09 gw sshd[2211]: Failed password for root from 192.0.2.7 port 42393 ssh2");
  auto e = WaitFor([](const Event& e) { return e.type == "login"; });
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "failure");
  EXPECT_EQ(e->collector, "login");
  EXPECT_EQ(e->priority, Priority::kHigh);
  EXPECT_EQ(e->ts_ms, env_.clock().NowMs());
  EXPECT_EQ(stats_.collected.load(), 1u);
  c->Stop();
}

TEST_F(LoginCollectorTest, FollowsChangesOfTheInputsInUse) {
  auto source = std::make_unique<FakeLoginSource>(LoginOriginBit(LoginOrigin::kWtmp));
  FakeLoginSource* fake = source.get();
  auto c = NewLoginCollector(*ctx_, std::move(source));
  ASSERT_TRUE(c->Start().ok());
  EXPECT_EQ(stats_.source(), "wtmp");
  // The auth log appears: from now on it reports, and wtmp records make no event.
  fake->SetInUse(LoginOriginBit(LoginOrigin::kWtmp) | LoginOriginBit(LoginOrigin::kAuthLog));
  std::string rec(384, '\0');
  const int16_t type = 8;
  std::memcpy(rec.data(), &type, 2);
  std::memcpy(rec.data() + 8, "pts/1", 5);
  std::memcpy(rec.data() + 44, "zed", 3);
  LoginInput in;
  in.origin = LoginOrigin::kWtmp;
  in.data = rec;
  fake->Push(in);
  fake->PushLine("Mar  3 07:41:09 gw sshd[1]: Accepted password for zed from 192.0.2.1 port 5 ssh2");
  auto e = WaitFor([](const Event& e) { return e.type == "login"; });
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->action, "success");
  EXPECT_EQ(stats_.source(), "auth_log,wtmp");
  EXPECT_EQ(stats_.count("left_to_auth_log"), 1u);
  c->Stop();
  std::vector<Event> rest;
  bus_.PopAll(&rest, 0ms);
  EXPECT_TRUE(rest.empty());
}

TEST_F(LoginCollectorTest, StopsQuickly) {
  auto c = NewLoginCollector(*ctx_, std::make_unique<FakeLoginSource>());
  ASSERT_TRUE(c->Start().ok());
  const auto start = std::chrono::steady_clock::now();
  c->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  c->Stop();  // idempotent
}

TEST_F(LoginCollectorTest, AFailingSourceStopsReadingAfterItsLastInputs) {
  auto source = std::make_unique<FakeLoginSource>();
  FakeLoginSource* fake = source.get();
  auto c = NewLoginCollector(*ctx_, std::move(source));
  ASSERT_TRUE(c->Start().ok());
  fake->PushLine("Mar  3 07:41:09 gw sshd[1]: Accepted password for zed from 192.0.2.1 port 5 ssh2");
  fake->FailNextRead(Status::IoError("disk gone"));
  ASSERT_TRUE(WaitFor([](const Event& e) { return e.action == "success"; }).has_value());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!stats_.source().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(stats_.source(), "") << "no input in use after the failure";
  c->Stop();
}

TEST_F(LoginCollectorTest, AFullBusIsCountedAsDropped) {
  EventBus small(16);
  CollectorContext ctx{config_, env_, small, scheduler_, stats_, Priority::kHigh};
  auto source = std::make_unique<FakeLoginSource>();
  FakeLoginSource* fake = source.get();
  auto c = NewLoginCollector(ctx, std::move(source));
  ASSERT_TRUE(c->Start().ok());
  fake->PushLine(
      "Mar  3 07:41:09 gw sshd[1]: message repeated 40 times: [ Failed password for root from 192.0.2.7 port 1 ssh2]");
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (stats_.collected.load() < 40 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  c->Stop();
  EXPECT_EQ(stats_.collected.load(), 40u);
  EXPECT_EQ(stats_.dropped("bus_full"), 24u);
}

TEST_F(LoginCollectorTest, StartWithAnAbsentEverythingIsUnavailable) {
  ASSERT_TRUE(config_.Set(schema_, "login.auth_log", "/nonexistent-vigil-dir/auth.log").ok());
  ASSERT_TRUE(config_.Set(schema_, "login.utmp", "/nonexistent-vigil-dir/utmp").ok());
  ASSERT_TRUE(config_.Set(schema_, "login.wtmp", "").ok());
  ASSERT_TRUE(config_.Set(schema_, "login.btmp", "").ok());
  ASSERT_TRUE(config_.Set(schema_, "login.journal", "off").ok());
  CollectorContext ctx{config_, env_, bus_, scheduler_, stats_, Priority::kHigh};
  auto c = kDescriptor.factory(ctx);
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
  c->Stop();
}

TEST_F(LoginCollectorTest, ARelativePathIsAConfigurationError) {
  ASSERT_TRUE(config_.Set(schema_, "login.auth_log", "auth.log").ok());
  CollectorContext ctx{config_, env_, bus_, scheduler_, stats_, Priority::kHigh};
  auto c = kDescriptor.factory(ctx);
  Status st = c->Start();
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
}

}  // namespace
}  // namespace vigil::login
