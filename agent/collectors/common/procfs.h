// Parsers for the /proc/<pid> files the process collector reads. Pure functions over the
// file's bytes: no I/O, no allocation beyond the returned values, safe on any input (each is a
// libFuzzer target: tests/fuzz/fuzz_procfs.cpp).
//
// Formats (proc(5)):
//   stat     "PID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS ... STARTTIME ..."; COMM is
//            the task name, up to 15 bytes of anything, spaces and ')' included, so it ends at
//            the LAST ')' of the line. FLAGS is field 9 (PF_KTHREAD marks kernel threads),
//            STARTTIME field 22, in clock ticks since boot.
//   status   "Key:\tvalue" lines; we use Name, PPid and Uid ("Uid:\treal\teffective\tsaved\tfs").
//            Name escapes '\n' as "\\n" and '\\' as "\\\\".
//   cmdline  the arguments, each followed by a NUL. Empty for zombies and kernel threads.
//            A process that rewrote its arguments may leave one unterminated string or
//            trailing NUL padding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil::common {

struct ProcStat {
  int32_t pid = 0;
  std::string comm;
  char state = '?';
  int32_t ppid = 0;    // 0 for init and kthreadd
  uint32_t flags = 0;  // PF_* (field 9)
  uint64_t start_ticks = 0;

  bool IsKernelThread() const { return (flags & kPfKthread) != 0; }
  static constexpr uint32_t kPfKthread = 0x00200000;
};

// InvalidArgument when the line does not have the shape above (no "(...)", a pid or ppid that
// is not a number, fewer than 22 fields).
Result<ProcStat> ParseProcStat(std::string_view text);

struct ProcStatus {
  std::string name;
  int32_t ppid = -1;
  uint32_t ruid = 0;
  uint32_t euid = 0;
};

// InvalidArgument when the Uid line is missing or malformed; Name and PPid are optional.
Result<ProcStatus> ParseProcStatus(std::string_view text);

// Splits a raw cmdline into arguments. The last NUL terminates the last argument (an
// unterminated tail counts as an argument); trailing empty arguments (NUL padding left by
// programs that rewrite their title) are dropped. Empty input gives no arguments.
std::vector<std::string> SplitCmdline(std::string_view raw);

// The same arguments joined with single spaces, as a shell would show them (no quoting).
std::string JoinCmdline(std::string_view raw);

// Trims the raw cmdline to what SplitCmdline keeps, without the terminating NUL, so that
// storing it costs no more than its arguments: "a\0b\0\0\0" -> "a\0b".
std::string_view TrimCmdline(std::string_view raw);

// Parses a decimal pid (a /proc directory name): 1..2^31-1, digits only. -1 otherwise.
int32_t ParsePid(std::string_view name);

}  // namespace vigil::common
