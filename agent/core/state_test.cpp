#include "agent/core/state.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil {
namespace {

TEST(DeviceId, ConfiguredWinsAndIsValidated) {
  FakeEnv env;
  env.SetFile("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  EXPECT_EQ(*ResolveDeviceId(env, "gw-7", "/var/lib/vigil"), "gw-7");
  EXPECT_FALSE(ResolveDeviceId(env, "bad/id", "/var/lib/vigil").ok());
  EXPECT_FALSE(ResolveDeviceId(env, std::string(65, 'a'), "/var/lib/vigil").ok());
}

TEST(DeviceId, FallsBackToMachineIdThenGeneratesAndKeepsOne) {
  FakeEnv env;
  env.SetFile("/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  EXPECT_EQ(*ResolveDeviceId(env, "", "/s"), "0123456789abcdef0123456789abcdef");
  env.RemovePath("/etc/machine-id");
  auto first = ResolveDeviceId(env, "", "/s");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 32u);
  EXPECT_EQ(*ResolveDeviceId(env, "", "/s"), *first) << "the generated id is kept in the state dir";
  env.SetFile("/s/device-id", "not valid!\n");
  EXPECT_EQ(ResolveDeviceId(env, "", "/s").status().code(), Status::Code::kCorruption);
}

TEST(SequenceCounter, ContinuesExactlyAfterCleanStop) {
  FakeEnv env;
  {
    auto c = SequenceCounter::Open(env, "/s", 10);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ((*c)->Next(), 1u);
    EXPECT_EQ((*c)->Next(), 2u);
    ASSERT_TRUE((*c)->Close().ok());
  }
  auto c = SequenceCounter::Open(env, "/s", 10);
  EXPECT_EQ((*c)->Next(), 3u);
}

TEST(SequenceCounter, NeverRepeatsAfterACrash) {
  FakeEnv env;
  uint64_t last = 0;
  {
    auto c = SequenceCounter::Open(env, "/s", 10);
    for (int i = 0; i < 15; ++i) last = (*c)->Next();
    // no Close: a crash
  }
  EXPECT_EQ(env.Content("/s/seq"), "reserved 21\n");
  auto c = SequenceCounter::Open(env, "/s", 10);
  EXPECT_GT((*c)->Next(), last);
}

TEST(SequenceCounter, ReadsTheOldReservationLine) {
  FakeEnv env;
  env.SetFile("/s/seq", "reserved 21\n");
  auto c = SequenceCounter::Open(env, "/s", 10);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->crashed());
  EXPECT_FALSE((*c)->ResumeAfterCrash(14)) << "without M the safe bound is kept";
  EXPECT_EQ((*c)->Next(), 21u);
}

TEST(SequenceCounter, ResumesAfterTheLastNumberUsedWithinTheReservation) {
  FakeEnv env;
  {
    auto c = SequenceCounter::Open(env, "/s", 10);
    (*c)->SetTrackedByOutput();
    for (int i = 0; i < 25; ++i) (*c)->Next();  // 1..25 used
  }
  EXPECT_EQ(env.Content("/s/seq"), "reserved 31 from 11\n") << "the window spans the previous block too";
  auto c = SequenceCounter::Open(env, "/s", 10);
  (*c)->SetTrackedByOutput();
  EXPECT_TRUE((*c)->crashed());
  EXPECT_FALSE((*c)->ResumeAfterCrash(9)) << "10 lies before the window: it may have been used";
  EXPECT_FALSE((*c)->ResumeAfterCrash(31)) << "beyond the reservation";
  EXPECT_TRUE((*c)->ResumeAfterCrash(18)) << "the output lost 19..25 before writing them";
  EXPECT_EQ((*c)->Next(), 19u);
  EXPECT_EQ(env.Content("/s/seq"), "reserved 29 from 19\n");
}

TEST(SequenceCounter, DoesNotResumeWhenTheCrashedRunsOutputKeptNoNumbers) {
  FakeEnv env;
  {
    auto c = SequenceCounter::Open(env, "/s", 10);
    for (int i = 0; i < 5; ++i) (*c)->Next();  // a JSON Lines run: 1..5 written locally
  }
  auto c = SequenceCounter::Open(env, "/s", 10);
  (*c)->SetTrackedByOutput();
  EXPECT_FALSE((*c)->ResumeAfterCrash(0)) << "the spool never saw 1..5, which were used all the same";
  EXPECT_EQ((*c)->Next(), 11u);
}

TEST(SequenceCounter, DoesNotResumeAfterACleanStop) {
  FakeEnv env;
  {
    auto c = SequenceCounter::Open(env, "/s", 10);
    (*c)->Next();
    ASSERT_TRUE((*c)->Close().ok());
  }
  auto c = SequenceCounter::Open(env, "/s", 10);
  EXPECT_FALSE((*c)->crashed());
  EXPECT_FALSE((*c)->ResumeAfterCrash(0));
  EXPECT_EQ((*c)->Next(), 2u);
}

TEST(SequenceCounter, WritesOncePerBlockNotPerNumber) {
  FakeEnv env;
  auto c = SequenceCounter::Open(env, "/s", 100);
  for (int i = 0; i < 100; ++i) (*c)->Next();
  EXPECT_EQ(env.Content("/s/seq"), "reserved 101\n");
  (*c)->Next();
  EXPECT_EQ(env.Content("/s/seq"), "reserved 201\n");
}

TEST(SequenceCounter, MalformedFileIsCorruptionNamingIt) {
  for (const char* bad : {"", "next", "next -1", "next 12x", "garbage 5", "next 0", "reserved 5 from", "reserved 5 from 9",
                          "reserved 5 to 1", "next 5 from 1"}) {
    FakeEnv env;
    env.SetFile("/s/seq", bad);
    auto c = SequenceCounter::Open(env, "/s");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.status().code(), Status::Code::kCorruption);
    EXPECT_NE(c.status().message().find("/s/seq"), std::string_view::npos);
  }
}

TEST(SequenceCounter, ReportsAnUnwritableStateDir) {
  FakeEnv env;
  auto c = SequenceCounter::Open(env, "/s", 10);
  env.DenyPrefix("/s");
  EXPECT_EQ((*c)->Next(), 1u) << "numbers are still handed out";
  EXPECT_EQ((*c)->last_error().code(), Status::Code::kPermissionDenied);
}

}  // namespace
}  // namespace vigil
