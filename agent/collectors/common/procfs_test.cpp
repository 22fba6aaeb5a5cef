#include "agent/collectors/common/procfs.h"

#include <string>

#include <gtest/gtest.h>

namespace vigil::common {
namespace {

using namespace std::string_literals;

std::string StatLine(const std::string& pid_comm, const std::string& ppid = "6346",
                     const std::string& flags = "4194304") {
  return pid_comm + " R " + ppid + " 6346 2669 0 -1 " + flags +
         " 101 0 0 0 0 0 0 0 20 0 1 0 86110 3133440 393 18446744073709551615 0 0 0\n";
}

TEST(ParseProcStat, ReadsPidCommStatePpidAndStartTime) {
  auto st = ParseProcStat(StatLine("6348 (cat)"));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->pid, 6348);
  EXPECT_EQ(st->comm, "cat");
  EXPECT_EQ(st->state, 'R');
  EXPECT_EQ(st->ppid, 6346);
  EXPECT_EQ(st->start_ticks, 86110u);
  EXPECT_FALSE(st->IsKernelThread());
}

TEST(ParseProcStat, CommMayHoldSpacesAndParentheses) {
  auto st = ParseProcStat(StatLine("77 (my (odd) ) proc)"));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->comm, "my (odd) ) proc");
  EXPECT_EQ(st->ppid, 6346);

  auto tricky = ParseProcStat(StatLine("78 () R 1 2 (x)"));
  ASSERT_TRUE(tricky.ok()) << tricky.status().ToString();
  EXPECT_EQ(tricky->comm, ") R 1 2 (x");
}

TEST(ParseProcStat, EmptyCommIsAllowed) {
  auto st = ParseProcStat(StatLine("79 ()"));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->comm, "");
}

TEST(ParseProcStat, RecognisesKernelThreads) {
  auto st =
      ParseProcStat("2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0\n");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_TRUE(st->IsKernelThread());
  EXPECT_EQ(st->ppid, 0);
}

TEST(ParseProcStat, RejectsMalformedLines) {
  EXPECT_FALSE(ParseProcStat("").ok());
  EXPECT_FALSE(ParseProcStat("garbage").ok());
  EXPECT_FALSE(ParseProcStat("12 (no close paren S 1 2 3").ok());
  EXPECT_FALSE(ParseProcStat("x12 (cat) S 1 2 3").ok());
  EXPECT_FALSE(ParseProcStat(StatLine("-5 (cat)")).ok());
  EXPECT_FALSE(ParseProcStat(StatLine("5 (cat)", "one")).ok());
  EXPECT_FALSE(ParseProcStat(StatLine("5 (cat)", "6346", "0x10")).ok());
  EXPECT_FALSE(ParseProcStat("5 (cat) S 1 2 3 4\n").ok());  // too few fields
  EXPECT_FALSE(ParseProcStat("5 (cat) SS 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19").ok());
  EXPECT_FALSE(ParseProcStat("5 (cat)").ok());
  EXPECT_FALSE(ParseProcStat("5 )cat( S 1").ok());
}

TEST(ParseProcStatus, ReadsNamePpidAndUids) {
  auto st = ParseProcStatus(
      "Name:\tsshd\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nPPid:\t1\n"
      "Uid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->name, "sshd");
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->ruid, 1000u);
  EXPECT_EQ(st->euid, 0u);
}

TEST(ParseProcStatus, UnescapesName) {
  auto st = ParseProcStatus("Name:\ta\\nb\\\\c\nUid:\t0\t0\t0\t0\n");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->name, "a\nb\\c");
}

TEST(ParseProcStatus, RejectsMissingOrMalformedUid) {
  EXPECT_FALSE(ParseProcStatus("").ok());
  EXPECT_FALSE(ParseProcStatus("Name:\tx\nPPid:\t1\n").ok());
  EXPECT_FALSE(ParseProcStatus("Uid:\t\n").ok());
  EXPECT_FALSE(ParseProcStatus("Uid:\t12\n").ok());
  EXPECT_FALSE(ParseProcStatus("Uid:\tabc\t0\t0\t0\n").ok());
  EXPECT_FALSE(ParseProcStatus("Uid:\t99999999999\t0\t0\t0\n").ok());
  EXPECT_FALSE(ParseProcStatus("PPid:\tx\nUid:\t0\t0\t0\t0\n").ok());
}

TEST(Cmdline, SplitsNulSeparatedArgumentsWithTrailingNul) {
  const std::string raw = "/bin/sh\0-c\0echo hi\0"s;
  EXPECT_EQ(SplitCmdline(raw), (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(JoinCmdline(raw), "/bin/sh -c echo hi");
}

TEST(Cmdline, UnterminatedTailIsAnArgument) {
  const std::string raw = "nginx: worker\0extra"s;
  EXPECT_EQ(SplitCmdline(raw), (std::vector<std::string>{"nginx: worker", "extra"}));
  EXPECT_EQ(SplitCmdline("single"), (std::vector<std::string>{"single"}));
}

TEST(Cmdline, EmptyGivesNoArguments) {
  EXPECT_TRUE(SplitCmdline("").empty());
  EXPECT_EQ(JoinCmdline(""), "");
  EXPECT_TRUE(SplitCmdline("\0\0\0"s).empty());
}

TEST(Cmdline, KeepsInnerEmptyArgumentsAndDropsTrailingPadding) {
  const std::string raw = "prog\0\0x\0\0\0\0"s;
  EXPECT_EQ(SplitCmdline(raw), (std::vector<std::string>{"prog", "", "x"}));
  EXPECT_EQ(JoinCmdline(raw), "prog  x");
  EXPECT_EQ(TrimCmdline(raw), "prog\0\0x"s);
}

TEST(ParsePid, AcceptsOnlyPositiveDecimalNumbers) {
  EXPECT_EQ(ParsePid("1"), 1);
  EXPECT_EQ(ParsePid("4194304"), 4194304);
  EXPECT_EQ(ParsePid("2147483647"), 2147483647);
  EXPECT_EQ(ParsePid("2147483648"), -1);
  EXPECT_EQ(ParsePid("0"), -1);
  EXPECT_EQ(ParsePid("012"), -1);
  EXPECT_EQ(ParsePid("self"), -1);
  EXPECT_EQ(ParsePid("12a"), -1);
  EXPECT_EQ(ParsePid(""), -1);
  EXPECT_EQ(ParsePid("99999999999"), -1);
}

}  // namespace
}  // namespace vigil::common
