#include "tests/integration/sshd_fixture.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/agent_harness.h"

namespace vigil::testing {

using namespace std::chrono_literals;

int RunToEnd(const std::vector<std::string>& args) {
  const pid_t pid = Spawn(args);
  if (pid < 0) return -1;
  const int status = Reap(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint16_t FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

bool WaitForListener(uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(20ms);  // the server is starting: try again
  }
  return false;
}

TestUser::TestUser() {
  std::random_device rd;
  name_ = "vgl" + std::to_string(getpid() % 100000) + "x" + std::to_string(rd() % 10000);
  password_ = "Pw-" + std::to_string(rd()) + "-ok";
  created_ = RunToEnd({"/usr/sbin/useradd", "-M", "-N", "-s", "/bin/sh", "-d", "/nonexistent", name_}) == 0;
  if (created_) set_ = RunToEnd({"/bin/sh", "-c", "echo '" + name_ + ":" + password_ + "' | /usr/sbin/chpasswd"}) == 0;
}

TestUser::~TestUser() {
  if (created_) RunToEnd({"/usr/sbin/userdel", "-f", name_});
}

std::unique_ptr<Sshd> Sshd::Start(const std::string& dir, const std::vector<std::string>& allow_users,
                                  std::chrono::milliseconds timeout) {
  for (const char* tool : {"/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/bin/sshpass"}) {
    if (access(tool, X_OK) != 0) {
      ADD_FAILURE() << tool << " is missing: install openssh-server, openssh-client and sshpass (scripts/deps.sh test)";
      return nullptr;
    }
  }
  chmod(dir.c_str(), 0755);  // sshd reads its files as root; nobody else needs anything here
  if (RunToEnd({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/host_key"}) != 0) {
    ADD_FAILURE() << "ssh-keygen failed";
    return nullptr;
  }
  std::unique_ptr<Sshd> sshd(new Sshd());
  sshd->port_ = FreeLoopbackPort();
  if (sshd->port_ == 0) {
    ADD_FAILURE() << "no free loopback port";
    return nullptr;
  }
  std::string allow;
  for (const std::string& u : allow_users) allow += " " + u;
  std::ofstream(dir + "/sshd_config")
      << "Port " << sshd->port_ << "\nListenAddress 127.0.0.1\nHostKey " << dir << "/host_key\n"
      << "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication no\n"
         "UsePAM no\nUseDNS no\nPermitRootLogin no\nMaxAuthTries 10\nPidFile none\nLogLevel INFO\n"
      << "AllowUsers" << allow << "\n";
  mkdir("/run/sshd", 0755);  // the privilege separation directory sshd insists on
  sshd->log_ = dir + "/sshd.log";
  sshd->pid_ = Spawn({"/usr/sbin/sshd", "-D", "-E", sshd->log_, "-f", dir + "/sshd_config"});
  if (sshd->pid_ < 0) return nullptr;
  if (!WaitForListener(sshd->port_, timeout)) {
    ADD_FAILURE() << "sshd did not listen on port " << sshd->port_ << "; its log:\n" << sshd->LogText();
    return nullptr;
  }
  return sshd;
}

Sshd::~Sshd() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    Reap(pid_);
  }
}

std::string Sshd::LogText() const {
  std::ostringstream out;
  out << std::ifstream(log_).rdbuf();
  return out.str();
}

int SshLogin(uint16_t port, const std::string& user, const std::string& password) {
  return RunToEnd({"/usr/bin/sshpass", "-p", password, "/usr/bin/ssh", "-o", "StrictHostKeyChecking=no", "-o",
                   "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password", "-o",
                   "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=ERROR", "-o",
                   "BatchMode=no", "-p", std::to_string(port), user + "@127.0.0.1", "true"});
}

}  // namespace vigil::testing
