#include "agent/collectors/process/tracker.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/collectors/process/hashing_emitter.h"
#include "agent/platform/fake/fake_env.h"

namespace vigil::process {
namespace {

using namespace std::string_literals;

struct FakeProc {
  int pid;
  int ppid;
  uint32_t uid;
  std::string exe;
  std::string cmdline_raw;
  std::string cwd = "/";
  std::string comm = "";
  char state = 'S';
  uint32_t flags = 4194304;
};

std::string StatText(int pid, const std::string& comm, char state, int ppid, uint32_t flags) {
  return std::to_string(pid) + " (" + comm + ") " + state + " " + std::to_string(ppid) + " 1 1 0 -1 " +
         std::to_string(flags) + " 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0\n";
}

void AddProc(FakeEnv& env, const FakeProc& p) {
  const std::string dir = "/proc/" + std::to_string(p.pid);
  std::string comm = p.comm;
  if (comm.empty()) comm = p.exe.substr(p.exe.rfind('/') + 1);
  if (!p.exe.empty()) {
    env.SetLink(dir + "/exe", p.exe);
    if (!env.Exists(p.exe)) env.SetFile(p.exe, "ELF image of " + p.exe);
  }
  env.SetFile(dir + "/cmdline", p.cmdline_raw);
  env.SetLink(dir + "/cwd", p.cwd);
  env.SetFile(dir + "/stat", StatText(p.pid, comm, p.state, p.ppid, p.flags));
  env.SetFile(dir + "/comm", comm + "\n");
  const std::string u = std::to_string(p.uid);
  env.SetFile(dir + "/status", "Name:\t" + comm + "\nPPid:\t" + std::to_string(p.ppid) + "\nUid:\t" + u + "\t" + u +
                                   "\t" + u + "\t" + u + "\n");
}

ProcEvent Ev(ProcEvent::Kind kind, int pid, int ppid, int status, uint32_t ruid) {
  ProcEvent ev;
  ev.kind = kind;
  ev.pid = pid;
  ev.ppid = ppid;
  ev.exit_status = status;
  ev.ruid = ruid;
  return ev;
}
ProcEvent Fork(int pid, int ppid) { return Ev(ProcEvent::Kind::kFork, pid, ppid, -1, 0); }
ProcEvent Exec(int pid) { return Ev(ProcEvent::Kind::kExec, pid, -1, -1, 0); }
ProcEvent Exit(int pid, int status = -1) { return Ev(ProcEvent::Kind::kExit, pid, -1, status, 0); }
ProcEvent Uid(int pid, uint32_t ruid) { return Ev(ProcEvent::Kind::kUid, pid, -1, -1, ruid); }

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest() {
    env_.SetFile("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n");
    AddProc(env_, {100, 1, 1001, "/bin/bash", "-bash\0"s, "/home/alice"});
  }

  ProcessTracker& tracker(TrackerOptions opts = {}) {
    if (!tracker_) {
      emitter_ = std::make_unique<HashingEmitter>(env_, hashes_, stats_, opts.hash_max_size, 64,
                                                  [this](Event&& e) { events_.push_back(std::move(e)); });
      tracker_ = std::make_unique<ProcessTracker>(env_, stats_, users_, hashes_, *emitter_, opts);
    }
    return *tracker_;
  }

  const Json& Only(const std::string& action) {
    const Json* found = nullptr;
    for (const Event& e : events_) {
      if (e.action == action) {
        EXPECT_EQ(found, nullptr) << "more than one " << action;
        found = &e.data;
      }
    }
    static const Json kNull;
    EXPECT_NE(found, nullptr) << "no " << action << " event";
    return found ? *found : kNull;
  }

  FakeEnv env_;
  CollectorStats stats_{"process"};
  common::UserNames users_{env_, stats_};
  HashCache hashes_{16};
  std::unique_ptr<HashingEmitter> emitter_;
  std::unique_ptr<ProcessTracker> tracker_;
  std::vector<Event> events_;
};

TEST_F(TrackerTest, ExecEventCarriesEveryField) {
  AddProc(env_, {200, 100, 1001, "/usr/bin/curl", "curl\0-s\0http://example.test/a b\0"s, "/tmp"});
  tracker().Handle(Fork(200, 100), 0);
  tracker().Handle(Exec(200), 1'700'000'000'123);
  ASSERT_EQ(events_.size(), 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.type, "process");
  EXPECT_EQ(e.action, "exec");
  EXPECT_EQ(e.ts_ms, 1'700'000'000'123);
  const Json& d = e.data;
  EXPECT_EQ(d["pid"], 200);
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["uid"], 1001);
  EXPECT_EQ(d["user"], "alice");
  EXPECT_EQ(d["exe"], "/usr/bin/curl");
  EXPECT_EQ(d["cmdline"], "curl -s http://example.test/a b");
  EXPECT_EQ(d["argv"], Json::array({"curl", "-s", "http://example.test/a b"}));
  EXPECT_EQ(d["cwd"], "/tmp");
  EXPECT_EQ(d["comm"], "curl");
  EXPECT_EQ(d["sha256"], *env_.Sha256File("/usr/bin/curl", 1 << 20));
  EXPECT_EQ(d["parent_exe"], "/bin/bash");
  EXPECT_EQ(d["parent_cmdline"], "-bash");
  EXPECT_FALSE(d.contains("partial"));
  EXPECT_FALSE(d.contains("exit_code"));
  EXPECT_EQ(e.agg_key,
            "process\x1f"
            "exec\x1f/usr/bin/curl\x1f"
            "curl -s http://example.test/a b\x1f"
            "alice");
  EXPECT_EQ(stats_.count("partial"), 0u);
}

ProcEvent KernelExec(int pid, int ppid, uint32_t uid, std::string exe, std::string args, std::string cwd) {
  ProcEvent ev = Ev(ProcEvent::Kind::kExec, pid, ppid, -1, uid);
  ev.from_kernel = true;
  ev.euid = uid;
  ev.comm = exe.substr(exe.rfind('/') + 1);
  ev.filename = exe;
  ev.exe = std::move(exe);
  ev.args = std::move(args);
  ev.cwd = std::move(cwd);
  return ev;
}

TEST_F(TrackerTest, KernelExecNeedsNoProcRead) {
  env_.SetFile("/usr/bin/wget", "ELF image of wget");
  env_.DenyPrefix("/proc/400");  // gone before anything could be read
  tracker().Handle(KernelExec(400, 100, 1001, "/usr/bin/wget", "wget\0-q\0http://192.0.2.9/x\0"s, "/tmp"), 7);
  const Json& d = Only("exec");
  EXPECT_EQ(d["pid"], 400);
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["uid"], 1001);
  EXPECT_EQ(d["user"], "alice");
  EXPECT_EQ(d["exe"], "/usr/bin/wget");
  EXPECT_EQ(d["cmdline"], "wget -q http://192.0.2.9/x");
  EXPECT_EQ(d["cwd"], "/tmp");
  EXPECT_EQ(d["comm"], "wget");
  EXPECT_EQ(d["parent_exe"], "/bin/bash");
  EXPECT_EQ(d["sha256"], *env_.Sha256File("/usr/bin/wget", 1 << 20));  // hashed from its path
  EXPECT_FALSE(d.contains("partial"));
}

TEST_F(TrackerTest, KernelExitOfAnUnseenProcessUsesTheKernelsNameAndUid) {
  env_.DenyPrefix("/proc/401");
  ProcEvent ev = Ev(ProcEvent::Kind::kExit, 401, 100, 3 << 8, 0);
  ev.from_kernel = true;
  ev.comm = "sleep";
  tracker().Handle(ev, 9);
  const Json& d = Only("exit");
  EXPECT_EQ(d["comm"], "sleep");
  EXPECT_EQ(d["uid"], 0);
  EXPECT_EQ(d["user"], "root");
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["exit_code"], 3);
  EXPECT_EQ(d["partial"], true);
}

TEST_F(TrackerTest, KernelForkGivesTheChildItsUid) {
  ProcEvent fork = Ev(ProcEvent::Kind::kFork, 402, 100, -1, 1001);
  fork.from_kernel = true;
  tracker().Handle(fork, 0);
  ProcEvent exit = Ev(ProcEvent::Kind::kExit, 402, 100, 0, 1001);
  tracker().Handle(exit, 1);  // a netlink-style exit: the uid comes from the table
  EXPECT_EQ(Only("exit")["user"], "alice");
}

TEST_F(TrackerTest, ExecWithoutForkReadsPpidAndUidFromProc) {
  AddProc(env_, {201, 100, 0, "/bin/ls", "ls\0-l\0"s});
  tracker().Handle(Exec(201), 5);
  const Json& d = Only("exec");
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["uid"], 0);
  EXPECT_EQ(d["user"], "root");
  EXPECT_EQ(d["parent_exe"], "/bin/bash");
}

TEST_F(TrackerTest, ForkTeachesUidSoStatusIsNotRead) {
  tracker().Handle(Exec(100), 0);  // bash: uid 1001 read from its status
  events_.clear();
  AddProc(env_, {300, 100, 0, "/bin/cat", "cat\0"s});
  env_.DenyPrefix("/proc/300/status");
  tracker().Handle(Fork(300, 100), 0);
  tracker().Handle(Exec(300), 0);
  const Json& d = Only("exec");
  EXPECT_EQ(d["uid"], 1001);
  EXPECT_EQ(d["user"], "alice");
  EXPECT_FALSE(d.contains("partial"));
}

TEST_F(TrackerTest, AfterAForkExecReadsCommInsteadOfStat) {
  tracker().Handle(Exec(100), 0);
  events_.clear();
  AddProc(env_, {303, 100, 1001, "/usr/bin/env", "env\0"s});
  env_.DenyPrefix("/proc/303/stat");  // stat and status: neither is needed
  tracker().Handle(Fork(303, 100), 0);
  tracker().Handle(Exec(303), 0);
  const Json& d = Only("exec");
  EXPECT_EQ(d["comm"], "env");
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["user"], "alice");
  EXPECT_FALSE(d.contains("partial"));
}

TEST_F(TrackerTest, UidChangeIsTracked) {
  tracker().Handle(Exec(100), 0);
  events_.clear();
  AddProc(env_, {301, 100, 1001, "/usr/bin/id", "id\0"s});
  env_.DenyPrefix("/proc/301/status");
  tracker().Handle(Fork(301, 100), 0);
  tracker().Handle(Uid(301, 0), 0);
  tracker().Handle(Exec(301), 0);
  EXPECT_EQ(Only("exec")["user"], "root");
}

TEST_F(TrackerTest, AfterAnOverrunUidsFromForksAreReadAgain) {
  tracker().Handle(Exec(100), 0);
  events_.clear();
  AddProc(env_, {302, 100, 0, "/usr/bin/sudo", "sudo\0"s});
  tracker().Handle(Fork(302, 100), 0);
  tracker().OnOverrun();
  tracker().Handle(Exec(302), 0);
  EXPECT_EQ(Only("exec")["uid"], 0);  // from status, not the (possibly stale) fork
}

TEST_F(TrackerTest, VanishedProcessYieldsPartialEventWithWhatIsKnown) {
  tracker().Handle(Exec(100), 0);
  events_.clear();
  tracker().Handle(Fork(400, 100), 0);
  tracker().Handle(Exec(400), 77);  // nothing in /proc/400
  ASSERT_EQ(events_.size(), 1u);
  const Json& d = events_[0].data;
  EXPECT_EQ(d["pid"], 400);
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["user"], "alice");
  EXPECT_EQ(d["partial"], true);
  EXPECT_FALSE(d.contains("exe"));  // bash's image is the parent's, not what 400 ran
  EXPECT_FALSE(d.contains("cmdline"));
  EXPECT_EQ(d["parent_exe"], "/bin/bash");
  EXPECT_EQ(stats_.count("partial"), 1u);
}

TEST_F(TrackerTest, ZombieYieldsCommFromStat) {
  env_.SetFile("/proc/401/stat", StatText(401, "true", 'Z', 100, 4194304));
  env_.SetFile("/proc/401/cmdline", "");
  tracker().Handle(Exec(401), 0);
  ASSERT_EQ(events_.size(), 1u);
  const Json& d = events_[0].data;
  EXPECT_EQ(d["partial"], true);
  EXPECT_EQ(d["comm"], "true");
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(events_[0].agg_key,
            "process\x1f"
            "exec\x1ftrue\x1f\x1f");
}

TEST_F(TrackerTest, EmptyCommandLineOfALiveProcessIsNotPartial) {
  AddProc(env_, {402, 100, 0, "/usr/bin/pkexec", ""});
  tracker().Handle(Exec(402), 0);
  const Json& d = Only("exec");
  EXPECT_FALSE(d.contains("partial"));
  EXPECT_EQ(d["cmdline"], "");
  EXPECT_EQ(d["argv"], Json::array());
}

TEST_F(TrackerTest, ExitCarriesWhatTheTableKnewAndTheExitCode) {
  AddProc(env_, {200, 100, 1001, "/usr/bin/make", "make\0all\0"s, "/src"});
  tracker().Handle(Fork(200, 100), 0);
  tracker().Handle(Exec(200), 0);
  env_.RemovePath("/proc/200");  // reaped: nothing left to read
  tracker().Handle(Exit(200, 3 << 8), 9);
  const Json& d = Only("exit");
  EXPECT_EQ(d["pid"], 200);
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["exit_code"], 3);
  EXPECT_FALSE(d.contains("signal"));
  EXPECT_EQ(d["exe"], "/usr/bin/make");
  EXPECT_EQ(d["cmdline"], "make all");
  EXPECT_EQ(d["cwd"], "/src");
  EXPECT_EQ(d["user"], "alice");
  EXPECT_EQ(d["sha256"], Only("exec")["sha256"]);
  EXPECT_EQ(d["parent_exe"], "/bin/bash");
  EXPECT_FALSE(d.contains("partial"));
  EXPECT_EQ(tracker().table().size(), 1u);  // 200 is gone, bash (read as the parent) stays
}

TEST_F(TrackerTest, ExitBySignalReportsShellStyleCode) {
  AddProc(env_, {200, 100, 0, "/bin/sleep",
                 "sleep\0"
                 "9\0"s});
  tracker().Handle(Exec(200), 0);
  tracker().Handle(Exit(200, 9), 0);
  const Json& d = Only("exit");
  EXPECT_EQ(d["exit_code"], 137);
  EXPECT_EQ(d["signal"], 9);
}

TEST_F(TrackerTest, ExitOfAnUnknownProcessIsPartial) {
  env_.SetFile("/proc/555/stat", StatText(555, "worker", 'Z', 1, 4194304));
  tracker().Handle(Exit(555, 0), 0);
  const Json& d = Only("exit");
  EXPECT_EQ(d["pid"], 555);
  EXPECT_EQ(d["comm"], "worker");
  EXPECT_EQ(d["ppid"], 1);
  EXPECT_EQ(d["exit_code"], 0);
  EXPECT_EQ(d["partial"], true);
  EXPECT_EQ(stats_.count("partial"), 1u);
}

TEST_F(TrackerTest, ForkedChildThatNeverExecsExitsWithItsParentsImage) {
  tracker().Handle(Exec(100), 0);
  events_.clear();
  tracker().Handle(Fork(500, 100), 0);
  tracker().Handle(Exit(500, 0), 0);
  const Json& d = Only("exit");
  EXPECT_EQ(d["exe"], "/bin/bash");
  EXPECT_EQ(d["user"], "alice");
  EXPECT_FALSE(d.contains("partial"));
}

TEST_F(TrackerTest, ShaCacheHitAvoidsHashingAgain) {
  AddProc(env_, {600, 100, 0, "/bin/true", "true\0"s});
  AddProc(env_, {601, 100, 0, "/bin/true", "true\0"s});
  tracker().Handle(Exec(600), 0);
  tracker().Handle(Exec(601), 0);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(stats_.count("hash_cache_misses"), 1u);
  EXPECT_EQ(stats_.count("hash_cache_hits"), 1u);
  EXPECT_EQ(stats_.count("hashed"), 1u);
  EXPECT_EQ(events_[0].data["sha256"], events_[1].data["sha256"]);

  // A replaced binary is another file version: hashed again, with its new digest.
  env_.SetFile("/bin/true", "a new build");
  AddProc(env_, {602, 100, 0, "/bin/true", "true\0"s});
  tracker().Handle(Exec(602), 0);
  EXPECT_EQ(stats_.count("hash_cache_misses"), 2u);
  EXPECT_EQ(stats_.count("hashed"), 2u);
  EXPECT_NE(events_[2].data["sha256"], events_[0].data["sha256"]);
}

TEST_F(TrackerTest, FilesOverTheSizeLimitAreNotHashed) {
  AddProc(env_, {610, 100, 0, "/opt/big", "big\0"s});
  env_.SetFile("/opt/big", std::string(100, 'x'));
  TrackerOptions o;
  o.hash_max_size = 99;
  tracker(o).Handle(Exec(610), 0);
  const Json& d = Only("exec");
  EXPECT_FALSE(d.contains("sha256"));
  EXPECT_EQ(d["exe"], "/opt/big");
  EXPECT_EQ(stats_.count("hash_skipped_size"), 1u);
}

TEST_F(TrackerTest, HashMaxSizeZeroDisablesHashing) {
  AddProc(env_, {611, 100, 0, "/bin/true", "true\0"s});
  TrackerOptions o;
  o.hash_max_size = 0;
  tracker(o).Handle(Exec(611), 0);
  EXPECT_FALSE(Only("exec").contains("sha256"));
  EXPECT_EQ(stats_.count("hash_cache_misses") + stats_.count("hash_cache_hits"), 0u);
}

TEST_F(TrackerTest, KernelThreadsYieldNoEvents) {
  AddProc(env_, {2, 0, 0, "", "", "/", "kthreadd", 'S', 2129984});
  AddProc(env_, {700, 2, 0, "", "", "/", "kworker/0:1", 'I', 69238880});
  tracker().Seed();
  tracker().Handle(Exec(700), 0);     // what the poll source reports for a new kworker
  tracker().Handle(Fork(701, 2), 0);  // a kernel thread started by kthreadd
  tracker().Handle(Exit(701, 0), 0);
  tracker().Handle(Exit(700, 0), 0);
  EXPECT_TRUE(events_.empty());
}

TEST_F(TrackerTest, UserModeHelperForkedByKthreaddIsReportedOnceItExecs) {
  AddProc(env_, {702, 2, 0, "/sbin/modprobe", "/sbin/modprobe\0-q\0dummy\0"s});
  tracker().Handle(Fork(702, 2), 0);
  tracker().Handle(Exec(702), 0);
  tracker().Handle(Exit(702, 0), 0);
  EXPECT_EQ(Only("exec")["exe"], "/sbin/modprobe");
  EXPECT_EQ(Only("exit")["cmdline"], "/sbin/modprobe -q dummy");
}

TEST_F(TrackerTest, SeedMakesExitsOfEarlierProcessesComplete) {
  AddProc(env_, {800, 1, 0, "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D\0\0\0\0"s});
  tracker().Seed();
  EXPECT_TRUE(events_.empty());
  env_.RemovePath("/proc/800");
  tracker().Handle(Exit(800, 0), 0);
  const Json& d = Only("exit");
  EXPECT_EQ(d["exe"], "/usr/sbin/sshd");
  EXPECT_EQ(d["cmdline"], "sshd: /usr/sbin/sshd -D");
  EXPECT_EQ(d["user"], "root");
  EXPECT_FALSE(d.contains("partial"));
}

TEST_F(TrackerTest, ScanReportsAProcessWhoseFileWasDeletedOnce) {
  AddProc(env_, {900, 100, 1001, "/tmp/.x/bot", "bot\0-s\0"s, "/tmp"});
  tracker().Handle(Fork(900, 100), 0);
  tracker().Handle(Exec(900), 0);
  tracker().ScanDeletedExes(1'000);
  EXPECT_EQ(events_.size(), 1u);  // the exec only: the file is still there
  events_.clear();

  env_.SetLink("/proc/900/exe", "/tmp/.x/bot (deleted)");
  tracker().ScanDeletedExes(2'000);
  ASSERT_EQ(events_.size(), 1u);
  const Event& e = events_[0];
  EXPECT_EQ(e.type, "process");
  EXPECT_EQ(e.action, "exe_deleted");
  EXPECT_EQ(e.ts_ms, 2'000);
  const Json& d = e.data;
  EXPECT_EQ(d["pid"], 900);
  EXPECT_EQ(d["ppid"], 100);
  EXPECT_EQ(d["uid"], 1001);
  EXPECT_EQ(d["user"], "alice");
  EXPECT_EQ(d["exe"], "/tmp/.x/bot (deleted)");
  EXPECT_EQ(d["cmdline"], "bot -s");
  EXPECT_EQ(d["argv"], Json::array({"bot", "-s"}));
  EXPECT_EQ(d["comm"], "bot");
  EXPECT_EQ(d["parent_exe"], "/bin/bash");
  EXPECT_FALSE(d.contains("partial"));
  EXPECT_EQ(e.agg_key,
            "process\x1f"
            "exe_deleted\x1f/tmp/.x/bot (deleted)\x1f"
            "bot -s\x1f"
            "alice");

  events_.clear();
  tracker().ScanDeletedExes(3'000);
  tracker().Handle(Fork(901, 900), 0);  // a child running the same, already reported image
  tracker().ScanDeletedExes(4'000);
  EXPECT_TRUE(events_.empty());
}

TEST_F(TrackerTest, ScanSkipsProgramsRunFromADeletedFileAndKernelThreads) {
  // The exec event says it already (exec_deleted_or_memfd_program).
  AddProc(env_, {910, 100, 0, "/memfd:x (deleted)", "x\0"s});
  AddProc(env_, {2, 0, 0, "", "", "/", "kthreadd", 'S', 2129984});
  tracker().Seed();
  tracker().Handle(Exec(910), 0);
  EXPECT_EQ(Only("exec")["exe"], "/memfd:x (deleted)");
  events_.clear();
  tracker().ScanDeletedExes(0);
  EXPECT_TRUE(events_.empty());
}

TEST_F(TrackerTest, ScanReportsProcessesThatRanADeletedFileBeforeTheAgentStarted) {
  AddProc(env_, {920, 1, 0, "/var/run/.d (deleted)", "dvrHelper\0"s, "/", "dvrHelper"});
  AddProc(env_, {921, 1, 0, "/usr/sbin/dropbear", "dropbear\0-R\0"s});
  tracker().Seed();
  tracker().ScanDeletedExes(5);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].action, "exe_deleted");
  EXPECT_EQ(events_[0].data["pid"], 920);
  EXPECT_EQ(events_[0].data["exe"], "/var/run/.d (deleted)");
  EXPECT_EQ(events_[0].data["comm"], "dvrHelper");
  EXPECT_EQ(events_[0].data["user"], "root");
  events_.clear();
  env_.RemovePath("/proc/920");  // gone without its exit being seen: nothing to read, no event
  tracker().ScanDeletedExes(10);
  EXPECT_TRUE(events_.empty());
}

TEST_F(TrackerTest, ScanReadsAProcessTheTableKnowsOnlyFromAFork) {
  AddProc(env_, {930, 4000, 1001, "/tmp/worker (deleted)", "worker\0"s});
  tracker().Handle(Fork(930, 4000), 0);  // its parent is not in the table: no image
  tracker().ScanDeletedExes(7);
  const Json& d = Only("exe_deleted");
  EXPECT_EQ(d["pid"], 930);
  EXPECT_EQ(d["exe"], "/tmp/worker (deleted)");
  EXPECT_EQ(d["cmdline"], "worker");
  EXPECT_EQ(d["uid"], 1001);
  EXPECT_EQ(d["ppid"], 4000);
}

TEST_F(TrackerTest, ParentIsReadFromProcOnceThenFromTheTable) {
  AddProc(env_, {900, 100, 1001, "/bin/ls", "ls\0"s});
  tracker().Handle(Exec(900), 0);
  EXPECT_EQ(Only("exec")["parent_cmdline"], "-bash");
  events_.clear();
  // The parent's /proc entry is now unreadable; its fields still come from the table.
  env_.DenyPrefix("/proc/100");
  AddProc(env_, {901, 100, 1001, "/bin/ls", "ls\0"s});
  tracker().Handle(Exec(901), 0);
  EXPECT_EQ(Only("exec")["parent_exe"], "/bin/bash");
}

TEST_F(TrackerTest, LongCommandLinesAreCutAndMarked) {
  AddProc(env_, {910, 100, 0, "/bin/echo", "echo\0"s + std::string(100, 'a') + "\0"s});
  TrackerOptions o;
  o.cmdline_max = 16;
  tracker(o).Handle(Exec(910), 0);
  const Json& d = Only("exec");
  EXPECT_EQ(d["cmdline"], "echo " + std::string(11, 'a'));
  EXPECT_EQ(d["cmdline_truncated"], true);
}

TEST_F(TrackerTest, TableStaysWithinItsBound) {
  TrackerOptions o;
  o.table_entries = 8;
  ProcessTracker& t = tracker(o);
  for (int pid = 1000; pid < 1100; ++pid) t.Handle(Fork(pid, 100), 0);
  EXPECT_LE(t.table().size(), 8u);
  EXPECT_GE(stats_.count("table_evictions"), 92u);
}

TEST_F(TrackerTest, MalformedProcFilesDoNotStopEnrichment) {
  AddProc(env_, {920, 100, 0, "/bin/odd", "odd\0"s});
  env_.SetFile("/proc/920/stat", "920 (odd");            // cut short
  env_.SetFile("/proc/920/status", "Uid:\tnonsense\n");  // unparseable
  tracker().Handle(Exec(920), 0);
  const Json& d = Only("exec");
  EXPECT_EQ(d["exe"], "/bin/odd");
  EXPECT_FALSE(d.contains("uid"));
  EXPECT_FALSE(d.contains("comm"));
}

}  // namespace
}  // namespace vigil::process
