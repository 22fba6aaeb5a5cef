#include "agent/platform/linux/socket_owners.h"

#include <gtest/gtest.h>

#include "agent/platform/fake/fake_env.h"

namespace vigil {
namespace {

TEST(SocketLink, ParsesTheInodeOfASocketLinkOnly) {
  EXPECT_EQ(ParseSocketLink("socket:[12345]"), 12345u);
  EXPECT_EQ(ParseSocketLink("socket:[18446744073709551615]"), UINT64_MAX);
  EXPECT_EQ(ParseSocketLink("socket:[18446744073709551616]"), 0u);  // overflow
  EXPECT_EQ(ParseSocketLink("socket:[]"), 0u);
  EXPECT_EQ(ParseSocketLink("socket:[12a]"), 0u);
  EXPECT_EQ(ParseSocketLink("socket:[12"), 0u);
  EXPECT_EQ(ParseSocketLink("pipe:[12]"), 0u);
  EXPECT_EQ(ParseSocketLink("/dev/null"), 0u);
  EXPECT_EQ(ParseSocketLink("anon_inode:[eventfd]"), 0u);
  EXPECT_EQ(ParseSocketLink(""), 0u);
}

TEST(SocketOwners, FindsTheLowestPidHoldingEachInode) {
  FakeEnv env;
  env.SetLink("/proc/300/fd/0", "/dev/null");
  env.SetLink("/proc/300/fd/4", "socket:[111]");
  env.SetLink("/proc/20/fd/7", "socket:[111]");  // inherited by fork: 20 is the parent
  env.SetLink("/proc/20/fd/8", "pipe:[5]");
  env.SetLink("/proc/55/fd/3", "socket:[222]");
  env.SetFile("/proc/self/status", "not a pid");
  env.SetFile("/proc/uptime", "1 1");
  SocketOwners owners(env);
  auto found = owners.Find({111, 222, 333});
  EXPECT_EQ(found.size(), 2u);
  EXPECT_EQ(found[111], 20);
  EXPECT_EQ(found[222], 55);
  EXPECT_EQ(found.count(333), 0u);
  EXPECT_EQ(owners.scans(), 1u);
}

TEST(SocketOwners, DoesNotScanWhenNothingIsWanted) {
  FakeEnv env;
  env.SetLink("/proc/1/fd/3", "socket:[1]");
  SocketOwners owners(env);
  EXPECT_TRUE(owners.Find({}).empty());
  EXPECT_TRUE(owners.Find({0}).empty());
  EXPECT_EQ(owners.scans(), 0u);
}

TEST(SocketOwners, SkipsProcessesItCannotReadAndCopesWithoutProc) {
  FakeEnv env;
  env.SetLink("/proc/5/fd/3", "socket:[9]");
  env.SetLink("/proc/6/fd/3", "socket:[9]");
  env.DenyPrefix("/proc/5/fd");
  SocketOwners owners(env);
  auto found = owners.Find({9});
  EXPECT_EQ(found[9], 6);

  FakeEnv empty;
  SocketOwners none(empty);
  EXPECT_TRUE(none.Find({9}).empty());
  EXPECT_EQ(none.scans(), 1u);
}

TEST(SocketOwners, ReadsUnderAnotherProcRoot) {
  FakeEnv env;
  env.SetLink("/host/proc/77/fd/1", "socket:[31]");
  SocketOwners owners(env, "/host/proc");
  EXPECT_EQ(owners.Find({31})[31], 77);
}

}  // namespace
}  // namespace vigil
