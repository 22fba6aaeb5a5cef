#include "agent/platform/fake/fake_env.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(FakeEnv, FilesLinksAndDirectories) {
  FakeEnv env;
  env.SetFile("/proc/42/cmdline", std::string("ls\0-la\0", 7));
  env.SetLink("/proc/42/exe", "/usr/bin/ls");
  env.SetFile("/usr/bin/ls", "ELF");
  EXPECT_EQ(env.ReadFile("/proc/42/cmdline", 2).value(), "ls");
  EXPECT_EQ(env.ReadLink("/proc/42/exe").value(), "/usr/bin/ls");
  EXPECT_EQ(env.Stat("/proc/42/exe")->size, 3u) << "Stat follows links";
  EXPECT_TRUE(env.Stat("/proc/42")->is_dir);
  EXPECT_EQ(env.ListDir("/proc").value(), std::vector<std::string>{"42"});
  env.RemovePath("/proc/42");
  EXPECT_EQ(env.ReadFile("/proc/42/cmdline", 100).status().code(), Status::Code::kNotFound);
}

TEST(FakeEnv, DeniedPrefixFails) {
  FakeEnv env;
  env.SetFile("/etc/shadow", "x");
  env.DenyPrefix("/etc/shadow");
  EXPECT_EQ(env.ReadFile("/etc/shadow", 10).status().code(), Status::Code::kPermissionDenied);
}

TEST(FakeEnv, HashIsStablePerContentAndBounded) {
  FakeEnv env;
  env.SetFile("/a", "same");
  env.SetFile("/b", "same");
  env.SetFile("/c", "other");
  EXPECT_EQ(*env.Sha256File("/a", 100), *env.Sha256File("/b", 100));
  EXPECT_NE(*env.Sha256File("/a", 100), *env.Sha256File("/c", 100));
  EXPECT_EQ(env.Sha256File("/a", 100)->size(), 64u);
  EXPECT_FALSE(env.Sha256File("/a", 2).ok());
}

}  // namespace
}  // namespace vigil
