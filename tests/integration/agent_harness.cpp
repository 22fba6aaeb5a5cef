#include "tests/integration/agent_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "schema/schema.h"

namespace vigil::testing {

std::string AgentUnderTest() {
  const char* other = std::getenv("VIGIL_AGENT_UNDER_TEST");
  return other && *other ? other : VIGIL_AGENT_BIN;
}

std::unique_ptr<AgentProcess> AgentProcess::Start(Options options) {
  std::unique_ptr<AgentProcess> p(new AgentProcess());
  char tmpl[] = "/tmp/vigil-it-XXXXXX";
  if (!options.dir.empty()) {
    p->dir_ = options.dir;
    p->owns_dir_ = false;
  } else if (!mkdtemp(tmpl)) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  } else {
    p->dir_ = tmpl;
  }
  {
    std::ofstream cfg(p->dir_ + "/agent.yml");
    cfg << "agent:\n  state_dir: " << p->dir_ << "/state\n" << options.config_yaml;
  }
  {
    std::ofstream touch(p->output_path());  // exists before the agent starts, so inotify can watch it
  }
  p->inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  inotify_add_watch(p->inotify_fd_, p->output_path().c_str(), IN_MODIFY);

  std::string binary = options.binary.empty() ? AgentUnderTest() : options.binary;
  std::vector<std::string> args = {binary, "run", "--config", p->dir_ + "/agent.yml", "--output",
                                   options.output.empty() ? "jsonl:" + p->output_path() : options.output};
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  const std::string log_path = p->dir_ + "/agent.log";
  {
    std::ofstream truncate(log_path, std::ios::trunc);  // a reused directory's old log is gone before Log() reads
  }

  pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return nullptr;
  }
  if (pid == 0) {
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  p->pid_ = pid;
  return p;
}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) Stop(SIGKILL);
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (owns_dir_ && !dir_.empty() && !::testing::Test::HasFailure()) {
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
}

void AgentProcess::ReadNewLines() {
  std::ifstream in(output_path(), std::ios::binary);
  in.seekg(static_cast<std::streamoff>(read_offset_));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string chunk = buf.str();
  read_offset_ += chunk.size();
  partial_line_ += chunk;
  size_t start = 0;
  for (size_t nl; (nl = partial_line_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = partial_line_.substr(start, nl - start);
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "agent wrote a line that is not JSON: " << line;
      continue;
    }
    events_.push_back(std::move(j));
  }
  partial_line_.erase(0, start);
}

std::optional<nlohmann::json> AgentProcess::WaitFor(const std::function<bool(const nlohmann::json&)>& pred,
                                                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t checked = 0;
  for (;;) {
    ReadNewLines();
    for (; checked < events_.size(); ++checked)
      if (pred(events_[checked])) return events_[checked];
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    // Wake on the next write to the output (or when the agent exits, checked every 100 ms).
    pollfd pfd{inotify_fd_, POLLIN, 0};
    poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    char drain[4096];
    while (read(inotify_fd_, drain, sizeof(drain)) > 0) {
    }
    if (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ReadNewLines();
        for (; checked < events_.size(); ++checked)
          if (pred(events_[checked])) return events_[checked];
        ADD_FAILURE() << "the agent exited (status " << status << ") while a test waited; its log:\n" << Log();
        return std::nullopt;
      }
    }
  }
}

std::vector<nlohmann::json> AgentProcess::Events() {
  ReadNewLines();
  return events_;
}

void AgentProcess::Signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

int AgentProcess::Stop(int signal_number, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal_number);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      pid_ = -1;
      return -1;
    }
    // A child's exit has no file descriptor to wait on here; poll its state every 10 ms.
    usleep(10'000);
  }
  pid_ = -1;
  return status;
}

std::string AgentProcess::Log() {
  std::ifstream in(dir_ + "/agent.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vigil::testing

extern char** environ;

namespace vigil::testing {

void StopAndValidate(AgentProcess& agent) {
  const int status = agent.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "; log:\n" << agent.Log();
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (const nlohmann::json& e : agent.Events()) {
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(e)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << "invalid event:" << problems << "\nevent: " << e.dump();
  }
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = prefix + "XXXXXX";
  if (mkdtemp(tmpl.data())) path_ = tmpl;
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  if (!path_.empty() && !::testing::Test::HasFailure()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  EXPECT_EQ(rc, 0) << "posix_spawn " << args[0];
  return rc == 0 ? pid : -1;
}

int Reap(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

ShellRun Shell(const std::string& cmd) {
  ShellRun r;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return r;
  char buf[65536];
  while (size_t n = fread(buf, 1, sizeof(buf), f)) r.out.append(buf, n);
  const int status = pclose(f);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

bool AgentProcess::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Log().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    usleep(20'000);
  }
}

}  // namespace vigil::testing
