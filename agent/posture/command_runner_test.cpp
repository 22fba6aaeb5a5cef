// The real command runner (fork/exec, no shell).
#include "agent/platform/command_runner.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(CommandRunner, CapturesStandardOutputAndExitStatus) {
  auto runner = NewPlatformCommandRunner();
  auto r = runner->Run({"/bin/echo", "hello", "$HOME;", "`x`"}, 5000, 1024);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out, "hello $HOME; `x`\n");  // no shell: the arguments arrive as written
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
  auto f = runner->Run({"/bin/false"}, 5000, 1024);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->exit_code, 1);
}

TEST(CommandRunner, BoundsTheOutput) {
  auto runner = NewPlatformCommandRunner();
  auto r = runner->Run({"/usr/bin/seq", "1", "100000"}, 10000, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 100u);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->exit_code, 0);  // the rest was read and dropped, so seq finished
}

TEST(CommandRunner, KillsAtTheTimeout) {
  auto runner = NewPlatformCommandRunner();
  auto r = runner->Run({"/bin/sleep", "30"}, 200, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(CommandRunner, RefusesRelativeAndMissingPrograms) {
  auto runner = NewPlatformCommandRunner();
  EXPECT_EQ(runner->Run({"echo", "x"}, 1000, 10).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(runner->Run({}, 1000, 10).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(runner->Run({"/nonexistent/vigil-prog"}, 1000, 10).status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace vigil
