#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "agent/platform/env.h"

namespace vigil {
namespace {

class LinuxEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-env-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)system(("rm -rf " + dir_).c_str()); }
  std::unique_ptr<Env> env_ = NewPlatformEnv();
  std::string dir_;
};

TEST_F(LinuxEnvTest, Sha256MatchesKnownDigest) {
  std::ofstream(dir_ + "/abc") << "abc";
  auto h = env_->Sha256File(dir_ + "/abc", 1 << 20);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(*h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(env_->Sha256File(dir_ + "/abc", 2).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(LinuxEnvTest, AtomicWriteReplacesAndReadsBack) {
  ASSERT_TRUE(env_->WriteFileAtomic(dir_ + "/f", "one").ok());
  ASSERT_TRUE(env_->WriteFileAtomic(dir_ + "/f", "two").ok());
  EXPECT_EQ(*env_->ReadFile(dir_ + "/f", 100), "two");
  EXPECT_FALSE(env_->Stat(dir_ + "/f.tmp").ok()) << "no temporary file left behind";
}

TEST_F(LinuxEnvTest, ReadsProcFilesWhoseSizeIsZero) {
  auto stat = env_->ReadFile("/proc/self/stat", 4096);
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->rfind(std::to_string(getpid()) + " (", 0), 0u);
  EXPECT_EQ(*env_->ReadLink("/proc/self/exe"), *env_->ReadLink("/proc/" + std::to_string(getpid()) + "/exe"));
}

TEST_F(LinuxEnvTest, ErrorsNameThePathAndKind) {
  auto r = env_->ReadFile(dir_ + "/missing", 10);
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(dir_ + "/missing"), std::string_view::npos);
}

TEST_F(LinuxEnvTest, MakeDirsAndAppend) {
  ASSERT_TRUE(env_->MakeDirs(dir_ + "/a/b/c").ok());
  EXPECT_TRUE(env_->Stat(dir_ + "/a/b/c")->is_dir);
  auto f = env_->OpenAppend(dir_ + "/a/b/c/log");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append("hello\n").ok());
  EXPECT_EQ((*f)->size(), 6u);
  EXPECT_EQ(*env_->ReadFile(dir_ + "/a/b/c/log", 100), "hello\n");
}

TEST_F(LinuxEnvTest, SelfFigures) {
  EXPECT_GT(env_->SelfRssBytes(), 0u);
  EXPECT_EQ(env_->Uname().size(), 4u);
  EXPECT_FALSE(env_->Hostname().empty());
  int64_t a = env_->clock().MonotonicMs();
  EXPECT_GE(env_->clock().MonotonicMs(), a);
}

}  // namespace
}  // namespace vigil
