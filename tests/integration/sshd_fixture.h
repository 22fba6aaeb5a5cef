// A real OpenSSH server on a loopback port for integration tests (root needed), a local test
// user with a known password, and password logins with sshpass.
//
// Sshd::Start writes a host key and an sshd_config into `dir` and starts `sshd -D -E LOG` on a
// free loopback port; sshd logs to `dir`/sshd.log, which the agent's login collector follows.
// The server is stopped when the Sshd is destroyed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vigil::testing {

// Runs a command to its end; returns its exit code (-1 when it did not exit normally).
int RunToEnd(const std::vector<std::string>& args);

// A free TCP port on 127.0.0.1 (0 when none could be had).
uint16_t FreeLoopbackPort();
// Waits until something accepts connections on 127.0.0.1:port (tries every 20 ms).
bool WaitForListener(uint16_t port, std::chrono::milliseconds timeout);

// A local user with a known password, removed at the end.
class TestUser {
 public:
  TestUser();
  ~TestUser();
  bool ok() const { return created_ && set_; }
  const std::string& name() const { return name_; }
  const std::string& password() const { return password_; }

 private:
  std::string name_;
  std::string password_;
  bool created_ = false;
  bool set_ = false;
};

class Sshd {
 public:
  // Fails the test (ADD_FAILURE) and returns nullptr when a tool is missing or sshd does not
  // listen within `timeout`. Only `allow_users` may log in (others are refused as invalid).
  static std::unique_ptr<Sshd> Start(const std::string& dir, const std::vector<std::string>& allow_users,
                                     std::chrono::milliseconds timeout);
  ~Sshd();
  uint16_t port() const { return port_; }
  const std::string& log() const { return log_; }
  // The log so far, for failure messages.
  std::string LogText() const;

 private:
  Sshd() = default;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// One ssh login with a password through sshpass (one password prompt, so a wrong password is
// exactly one failure in sshd's log); returns ssh's exit code (0: logged in and ran `true`).
int SshLogin(uint16_t port, const std::string& user, const std::string& password);

}  // namespace vigil::testing
