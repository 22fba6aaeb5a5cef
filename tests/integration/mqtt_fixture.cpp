#include "tests/integration/mqtt_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

extern char** environ;

namespace vigil::testing {
namespace {

constexpr std::chrono::milliseconds kBrokerStartTimeout = std::chrono::seconds(10);
constexpr std::chrono::milliseconds kBrokerStopTimeout = std::chrono::seconds(5);
constexpr std::chrono::milliseconds kPollInterval = std::chrono::milliseconds(5);
constexpr size_t kRecentLogLines = 20;

// The extensions of every certificate the PKI issues. The [req] part only keeps `openssl req`
// from reading the system's openssl.cnf; subjects are always given with -subj.
constexpr const char* kOpensslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    ADD_FAILURE() << "cannot write " << path;
    return false;
  }
  return true;
}

std::string MakeTempDir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    return "";
  }
  return tmpl;
}

// Removes a helper's directory, or keeps it (and says where) when the current test failed.
void RemoveDirUnlessFailed(const std::string& dir, const char* what) {
  if (dir.empty()) return;
  if (::testing::Test::HasFailure()) {
    std::cerr << "kept the " << what << " directory for inspection: " << dir << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

bool ValidName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return name[0] != '.';
}

// A free TCP port on 127.0.0.1: bound with port 0, read, closed. Another process could take it
// before the broker binds it; the broker then exits at start and the test says so.
int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool PortAcceptsConnections(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// Whether a socket is listening on 127.0.0.1:port (or any address), from /proc/net/tcp: no
// connection is made, so the broker's log and counters see only the test's own clients. Where
// /proc/net/tcp cannot be read, a TCP connection is tried instead.
bool PortListening(int port) {
  std::ifstream in("/proc/net/tcp");
  if (!in) return PortAcceptsConnections(port);
  constexpr unsigned kTcpListen = 0x0A;
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    unsigned address = 0, local_port = 0, state = 0;
    if (std::sscanf(line.c_str(), " %*u: %8X:%4X %*8X:%*4X %2X", &address, &local_port, &state) != 3) continue;
    // The address is printed as the network-order word read in host order.
    if (static_cast<int>(local_port) == port && state == kTcpListen &&
        (address == htonl(INADDR_LOOPBACK) || address == htonl(INADDR_ANY))) {
      return true;
    }
  }
  return false;
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// Spawns argv with stdin from /dev/null and stdout and stderr to out_fd (or inherited when -1).
// SIGPIPE gets its default action back in the child, whatever the test process does with it.
pid_t SpawnWithOutput(const std::vector<std::string>& argv, int out_fd, std::string* error) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDERR_FILENO);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t no_mask;
  sigemptyset(&no_mask);
  posix_spawnattr_setsigmask(&attr, &no_mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = argv[0].find('/') == std::string::npos ? posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ)
                                                  : posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *error = "cannot start " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

std::string JoinArgs(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// Blocks SIGPIPE in the calling thread for its lifetime. libmosquitto writes TLS records with
// SSL_write, which raises SIGPIPE when the broker has closed the connection; the network thread
// inherits the mask from the thread that starts it, and a SIGPIPE raised here while blocked is
// taken back before the old mask returns. The process's dispositions stay as they are, so
// processes the test spawns are not affected.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~ScopedSigpipeBlock() {
    if (!sigismember(&old_, SIGPIPE)) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE)) {
        timespec zero{};
        sigtimedwait(&pipe_set, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
};

std::once_flag g_mosquitto_init;

}  // namespace

bool RunCommand(const std::vector<std::string>& argv, std::string* output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return false;
  }
  std::string error;
  pid_t pid = SpawnWithOutput(argv, fds[1], &error);
  close(fds[1]);
  std::string captured;
  if (pid > 0) {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fds[0], buf, sizeof(buf));
      if (n > 0) {
        captured.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        break;
      }
    }
  }
  close(fds[0]);
  if (output) *output = captured;
  if (pid < 0) {
    ADD_FAILURE() << error;
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << JoinArgs(argv) << ": " << DescribeStatus(status) << "\n" << captured;
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// TestPki

std::unique_ptr<TestPki> TestPki::Create(std::string dir) {
  std::unique_ptr<TestPki> pki(new TestPki());
  if (dir.empty()) {
    dir = MakeTempDir("vigil-pki");
    if (dir.empty()) return nullptr;
    pki->owns_dir_ = true;
  }
  pki->dir_ = std::move(dir);
  if (!WriteFile(pki->dir_ + "/openssl.cnf", kOpensslConfig)) return nullptr;
  if (!pki->MakeCa("ca", "Vigil Test CA")) return nullptr;
  if (!pki->Issue("ca", "server", "localhost", "server_ext")) return nullptr;
  return pki;
}

TestPki::~TestPki() {
  if (owns_dir_) RemoveDirUnlessFailed(dir_, "test PKI");
}

// The openssl command lines read best as option-value pairs.
// clang-format off
bool TestPki::MakeCa(const std::string& stem, const std::string& common_name) {
  const std::string base = dir_ + "/" + stem;
  return RunCommand({"openssl", "req", "-x509", "-config", dir_ + "/openssl.cnf", "-extensions", "v3_ca",
                     "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", base + ".key", "-out", base + ".crt", "-days", "2", "-subj", "/CN=" + common_name});
}

std::optional<TestPki::CertAndKey> TestPki::Issue(const std::string& ca_stem, const std::string& stem,
                                                  const std::string& common_name, const std::string& extensions) {
  const std::string ca = dir_ + "/" + ca_stem;
  const std::string base = dir_ + "/" + stem;
  if (!RunCommand({"openssl", "req", "-new", "-config", dir_ + "/openssl.cnf",
                   "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                   "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + common_name})) {
    return std::nullopt;
  }
  if (!RunCommand({"openssl", "x509", "-req", "-in", base + ".csr",
                   "-CA", ca + ".crt", "-CAkey", ca + ".key", "-CAserial", ca + ".srl", "-CAcreateserial",
                   "-days", "2", "-extfile", dir_ + "/openssl.cnf", "-extensions", extensions,
                   "-out", base + ".crt"})) {
    return std::nullopt;
  }
  return CertAndKey{base + ".crt", base + ".key"};
}
// clang-format on

std::optional<TestPki::CertAndKey> TestPki::ClientCert(const std::string& name) {
  if (!ValidName(name)) {
    ADD_FAILURE() << "TestPki::ClientCert: '" << name << "' is not a usable name (letters, digits, - _ . only)";
    return std::nullopt;
  }
  return Issue("ca", "client-" + name, name, "client_ext");
}

std::optional<TestPki::CertAndKey> TestPki::RogueClientCert(const std::string& name) {
  if (!ValidName(name)) {
    ADD_FAILURE() << "TestPki::RogueClientCert: '" << name << "' is not a usable name (letters, digits, - _ . only)";
    return std::nullopt;
  }
  if (!have_rogue_ca_) {
    if (!MakeCa("rogue-ca", "Vigil Rogue CA")) return std::nullopt;
    have_rogue_ca_ = true;
  }
  return Issue("rogue-ca", "rogue-client-" + name, name, "client_ext");
}

// ---------------------------------------------------------------------------------------------
// MosquittoBroker

MosquittoBroker::MosquittoBroker() : MosquittoBroker(Options()) {}

MosquittoBroker::MosquittoBroker(Options options) : options_(std::move(options)) {}

MosquittoBroker::~MosquittoBroker() {
  Stop();
  own_pki_.reset();  // lives inside dir_, removed with it
  RemoveDirUnlessFailed(dir_, "broker");
}

std::string MosquittoBroker::url() const {
  return (options_.tls ? "mqtts://localhost:" : "mqtt://127.0.0.1:") + std::to_string(port_);
}

int MosquittoBroker::FreePort() { return PickFreePort(); }

std::string MosquittoBroker::ca_file() const {
  TestPki* p = pki();
  return p ? p->ca_file() : "";
}

bool MosquittoBroker::Prepare() {
  if (!dir_.empty()) return true;
  std::string dir = MakeTempDir("vigil-mqtt");
  if (dir.empty()) return false;
  dir_ = dir;
  if (options_.tls && !options_.pki && options_.config_file.empty()) {
    std::error_code ec;
    std::filesystem::create_directory(dir_ + "/pki", ec);
    own_pki_ = TestPki::Create(dir_ + "/pki");
    if (!own_pki_) return false;
  }
  port_ = options_.port > 0 ? options_.port : PickFreePort();
  if (port_ == 0) {
    ADD_FAILURE() << "no free TCP port on 127.0.0.1";
    return false;
  }
  return true;
}

bool MosquittoBroker::WriteFiles() {
  std::ostringstream conf;
  conf << "# MosquittoBroker test configuration (tests/integration/mqtt_fixture.cpp)\n";
  // Started as root, mosquitto 2.0 otherwise becomes the `mosquitto` user before it opens the log
  // and reads certificates, passwords and ACL from this root-only directory.
  if (geteuid() == 0) conf << "user root\n";
  conf << "per_listener_settings false\n"
       << "persistence false\n"
       << "log_dest file " << log_file() << "\n"
       << "log_type all\n"
       << "log_timestamp_format %Y-%m-%dT%H:%M:%S\n"
       << "connection_messages true\n"
       // Without it, Nagle's algorithm holds the CONNACK behind TLS session tickets until the
       // client's delayed ACK, some 40 ms per TLS connection.
       << "set_tcp_nodelay true\n"
       << "allow_anonymous " << (options_.allow_anonymous ? "true" : "false") << "\n";
  if (!options_.users.empty()) {
    const std::string password_file = dir_ + "/passwd";
    if (!WriteFile(password_file, "")) return false;
    for (const auto& [user, password] : options_.users) {
      if (!RunCommand({"mosquitto_passwd", "-b", password_file, user, password})) return false;
    }
    conf << "password_file " << password_file << "\n";
  }
  if (!options_.acl_file_text.empty()) {
    const std::string acl_file = dir_ + "/acl";
    if (!WriteFile(acl_file, options_.acl_file_text)) return false;
    conf << "acl_file " << acl_file << "\n";
  }
  conf << "listener " << port_ << " 127.0.0.1\n";
  if (options_.tls) {
    TestPki* p = pki();
    if (!p) {
      ADD_FAILURE() << "MosquittoBroker: TLS without a PKI";
      return false;
    }
    conf << "cafile " << p->ca_file() << "\n"
         << "certfile " << p->server_cert_file() << "\n"
         << "keyfile " << p->server_key_file() << "\n"
         << "require_certificate " << (options_.require_certificate ? "true" : "false") << "\n"
         << "use_identity_as_username " << (options_.use_identity_as_username ? "true" : "false") << "\n";
  }
  conf << options_.extra_config << "\n";
  return WriteFile(config_file(), conf.str());
}

bool MosquittoBroker::Start() {
  if (pid_ > 0) {
    ADD_FAILURE() << "MosquittoBroker::Start: the broker is already running";
    return false;
  }
  if (!Prepare()) return false;
  if (options_.config_file.empty() && !WriteFiles()) return false;

  const std::string out_path = dir_ + "/mosquitto.out";
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) {
    ADD_FAILURE() << "open " << out_path << ": " << std::strerror(errno);
    return false;
  }
  std::string error;
  pid_t pid = SpawnWithOutput({options_.binary, "-c", config_file()}, out, &error);
  close(out);
  if (pid < 0) {
    ADD_FAILURE() << error;
    return false;
  }
  pid_ = pid;

  // Mosquitto says nothing to its parent when it is ready; the listening port is the sign.
  const auto deadline = std::chrono::steady_clock::now() + kBrokerStartTimeout;
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "mosquitto exited at start (" << DescribeStatus(status) << "); its log:\n" << Log();
      return false;
    }
    if (PortListening(port_)) return true;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "mosquitto did not open port " << port_ << " within " << kBrokerStartTimeout.count()
                    << " ms; its log:\n"
                    << Log();
      Kill();
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

bool MosquittoBroker::Stop() {
  if (pid_ <= 0) return true;
  // Mosquitto blocks signals while it waits for network events (100 ms at most), so it takes up
  // to a tenth of a second to act on SIGTERM.
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kBrokerStopTimeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return true;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    // A child's exit has no file descriptor to wait on here; poll its state.
    std::this_thread::sleep_for(kPollInterval);
  }
  ADD_FAILURE() << "mosquitto did not exit within " << kBrokerStopTimeout.count() << " ms of SIGTERM; killed";
  Kill();
  return false;
}

void MosquittoBroker::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

bool MosquittoBroker::Restart() {
  if (pid_ > 0 && !Stop()) return false;
  return Start();
}

std::string MosquittoBroker::Log() const {
  if (dir_.empty()) return "";
  std::string log = ReadFile(log_file());
  std::string out = ReadFile(dir_ + "/mosquitto.out");
  if (!out.empty()) log += "--- mosquitto stdout/stderr ---\n" + out;
  return log;
}

bool MosquittoBroker::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Log().find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// ---------------------------------------------------------------------------------------------
// MqttClient

// libmosquitto's callbacks; they run on the client's network thread.
struct MqttClientCallbacks {
  static void OnConnect(mosquitto* mosq, void* obj, int rc, int /*flags*/, const mosquitto_property* /*props*/) {
    auto* self = static_cast<MqttClient*>(obj);
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      if (rc == 0) {
        self->state_ = MqttClient::ConnState::kConnected;
      } else {
        self->state_ = MqttClient::ConnState::kFailed;
        self->last_error_ = std::string("the broker refused the connection: CONNACK reason code ") +
                            std::to_string(rc) + " (" + mosquitto_reason_string(rc) + ")";
      }
    }
    self->cv_.notify_all();
    // No automatic reconnection: the refusal is the answer.
    if (rc != 0) mosquitto_disconnect(mosq);
  }

  static void OnDisconnect(mosquitto* mosq, void* obj, int rc, const mosquitto_property* /*props*/) {
    auto* self = static_cast<MqttClient*>(obj);
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      if (self->state_ == MqttClient::ConnState::kPending) {
        self->state_ = MqttClient::ConnState::kFailed;
        self->last_error_ =
            std::string("the connection closed before a CONNACK: ") + mosquitto_strerror(rc) + self->RecentLogLocked();
      } else if (self->state_ == MqttClient::ConnState::kConnected) {
        self->state_ = MqttClient::ConnState::kLost;
      }
    }
    self->cv_.notify_all();
    // Stops mosquitto_loop_forever from reconnecting; a test reconnects with Connect.
    if (rc != 0) mosquitto_disconnect(mosq);
  }

  static void OnSubscribe(mosquitto* /*mosq*/, void* obj, int mid, int qos_count, const int* granted_qos,
                          const mosquitto_property* /*props*/) {
    auto* self = static_cast<MqttClient*>(obj);
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->subacks_[mid].assign(granted_qos, granted_qos + qos_count);
    }
    self->cv_.notify_all();
  }

  static void OnPublish(mosquitto* /*mosq*/, void* obj, int mid, int reason_code, const mosquitto_property* /*props*/) {
    auto* self = static_cast<MqttClient*>(obj);
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->pubacks_[mid] = reason_code;
    }
    self->cv_.notify_all();
  }

  static void OnMessage(mosquitto* /*mosq*/, void* obj, const mosquitto_message* message,
                        const mosquitto_property* props) {
    auto* self = static_cast<MqttClient*>(obj);
    MqttClient::Message m;
    m.topic = message->topic ? message->topic : "";
    if (message->payload && message->payloadlen > 0) {
      m.payload.assign(static_cast<const char*>(message->payload), static_cast<size_t>(message->payloadlen));
    }
    m.qos = message->qos;
    m.retain = message->retain;
    char* name = nullptr;
    char* value = nullptr;
    for (const mosquitto_property* p =
             mosquitto_property_read_string_pair(props, MQTT_PROP_USER_PROPERTY, &name, &value, false);
         p; p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &value, true)) {
      m.user_properties.emplace_back(name ? name : "", value ? value : "");
      free(name);
      free(value);
      name = value = nullptr;
    }
    {
      std::lock_guard<std::mutex> lock(self->mutex_);
      self->messages_.push_back(std::move(m));
    }
    self->cv_.notify_all();
  }

  static void OnLog(mosquitto* /*mosq*/, void* obj, int level, const char* text) {
    if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING | MOSQ_LOG_NOTICE)) || !text) return;
    auto* self = static_cast<MqttClient*>(obj);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->recent_log_.emplace_back(text);
    if (self->recent_log_.size() > kRecentLogLines) self->recent_log_.pop_front();
  }
};

std::unique_ptr<MqttClient> MqttClient::Create() { return Create(Options()); }

std::unique_ptr<MqttClient> MqttClient::Create(Options options) {
  std::call_once(g_mosquitto_init, [] { mosquitto_lib_init(); });
  std::unique_ptr<MqttClient> client(new MqttClient(std::move(options)));
  const Options& o = client->options_;
  if (o.client_id.empty()) {
    static std::atomic<int> counter{0};
    client->client_id_ = "vigil-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
  } else {
    client->client_id_ = o.client_id;
  }
  client->mosq_ = mosquitto_new(client->client_id_.c_str(), o.clean_start, client.get());
  if (!client->mosq_) {
    ADD_FAILURE() << "mosquitto_new: " << std::strerror(errno);
    return nullptr;
  }
  mosquitto* mosq = client->mosq_;
  mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  // Small packets go out at once, not after the broker's delayed ACK (Nagle's algorithm).
  mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_v5_callback_set(mosq, &MqttClientCallbacks::OnConnect);
  mosquitto_disconnect_v5_callback_set(mosq, &MqttClientCallbacks::OnDisconnect);
  mosquitto_subscribe_v5_callback_set(mosq, &MqttClientCallbacks::OnSubscribe);
  mosquitto_publish_v5_callback_set(mosq, &MqttClientCallbacks::OnPublish);
  mosquitto_message_v5_callback_set(mosq, &MqttClientCallbacks::OnMessage);
  mosquitto_log_callback_set(mosq, &MqttClientCallbacks::OnLog);
  if (!o.username.empty()) {
    int rc = mosquitto_username_pw_set(mosq, o.username.c_str(), o.password.c_str());
    if (rc != MOSQ_ERR_SUCCESS) {
      ADD_FAILURE() << "mosquitto_username_pw_set: " << mosquitto_strerror(rc);
      return nullptr;
    }
  }
  if (!o.ca_file.empty()) {
    int rc = mosquitto_tls_set(mosq, o.ca_file.c_str(), nullptr, o.cert_file.empty() ? nullptr : o.cert_file.c_str(),
                               o.key_file.empty() ? nullptr : o.key_file.c_str(), nullptr);
    if (rc != MOSQ_ERR_SUCCESS) {
      ADD_FAILURE() << "mosquitto_tls_set (ca " << o.ca_file << ", cert " << o.cert_file << ", key " << o.key_file
                    << "): " << mosquitto_strerror(rc);
      return nullptr;
    }
  }
  return client;
}

MqttClient::MqttClient(Options options) : options_(std::move(options)) {}

MqttClient::~MqttClient() {
  StopLoop();
  if (mosq_) {
    ScopedSigpipeBlock no_sigpipe;
    mosquitto_destroy(mosq_);
  }
}

void MqttClient::StopLoop() {
  if (!loop_running_) return;
  ScopedSigpipeBlock no_sigpipe;
  // The disconnecting state ends mosquitto_loop_forever once the DISCONNECT is written (or at
  // once when the connection is already gone).
  mosquitto_disconnect(mosq_);
  mosquitto_loop_stop(mosq_, false);
  loop_running_ = false;
}

void MqttClient::SetError(std::string error) {
  std::lock_guard<std::mutex> lock(mutex_);
  last_error_ = std::move(error);
}

std::string MqttClient::RecentLogLocked() const {
  std::string s;
  for (const std::string& line : recent_log_) s += "\n  libmosquitto: " + line;
  return s;
}

bool MqttClient::Connect(const MosquittoBroker& broker) { return Connect(broker.connect_host(), broker.port()); }

bool MqttClient::Connect(const std::string& host, int port) {
  StopLoop();  // joins the network thread of an earlier connection, if any
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = ConnState::kPending;
    last_error_.clear();
    recent_log_.clear();
  }
  const std::string where = host + ":" + std::to_string(port);
  {
    ScopedSigpipeBlock no_sigpipe;  // the network thread started here inherits the blocked SIGPIPE
    errno = 0;
    mosquitto_property* props = nullptr;
    if (options_.session_expiry_seconds > 0)
      mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, options_.session_expiry_seconds);
    int rc = mosquitto_connect_bind_v5(mosq_, host.c_str(), port, options_.keepalive_seconds, nullptr, props);
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::string reason = rc == MOSQ_ERR_ERRNO ? std::strerror(errno) : mosquitto_strerror(rc);
      std::lock_guard<std::mutex> lock(mutex_);
      state_ = ConnState::kFailed;
      last_error_ = "cannot connect to " + where + ": " + reason + RecentLogLocked();
      return false;
    }
    rc = mosquitto_loop_start(mosq_);
    if (rc != MOSQ_ERR_SUCCESS) {
      ADD_FAILURE() << "mosquitto_loop_start: " << mosquitto_strerror(rc);
      SetError(std::string("mosquitto_loop_start: ") + mosquitto_strerror(rc));
      return false;
    }
    loop_running_ = true;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, options_.timeout, [&] { return state_ != ConnState::kPending; });
  if (state_ == ConnState::kConnected) return true;
  if (state_ == ConnState::kPending) {
    state_ = ConnState::kFailed;
    last_error_ =
        "no CONNACK from " + where + " within " + std::to_string(options_.timeout.count()) + " ms" + RecentLogLocked();
  }
  lock.unlock();
  StopLoop();
  return false;
}

void MqttClient::Disconnect() {
  StopLoop();
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = ConnState::kIdle;
}

bool MqttClient::connected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == ConnState::kConnected;
}

bool MqttClient::WaitForDisconnect(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return state_ != ConnState::kConnected; });
}

bool MqttClient::Subscribe(const std::string& topic, int qos) {
  SetError("");
  int mid = 0;
  int rc = mosquitto_subscribe_v5(mosq_, &mid, topic.c_str(), qos, 0, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    SetError("subscribe " + topic + ": " + mosquitto_strerror(rc));
    return false;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, options_.timeout, [&] { return subacks_.count(mid) > 0; })) {
    last_error_ = "no SUBACK for " + topic + " within " + std::to_string(options_.timeout.count()) + " ms";
    return false;
  }
  std::vector<int> granted = std::move(subacks_[mid]);
  subacks_.erase(mid);
  if (granted.empty() || granted[0] >= 0x80) {
    int code = granted.empty() ? -1 : granted[0];
    last_error_ = "the broker refused the subscription to " + topic + ": SUBACK reason code " + std::to_string(code) +
                  " (" + (code < 0 ? "none" : mosquitto_reason_string(code)) + ")";
    return false;
  }
  return true;
}

bool MqttClient::Publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  SetError("");
  int mid = 0;
  int rc = mosquitto_publish_v5(mosq_, &mid, topic.c_str(), static_cast<int>(payload.size()), payload.data(), qos,
                                retain, nullptr);
  if (rc != MOSQ_ERR_SUCCESS) {
    SetError("publish to " + topic + ": " + mosquitto_strerror(rc));
    return false;
  }
  // QoS 0: on_publish says the packet is written to the socket; QoS 1 and 2: the broker's answer.
  std::unique_lock<std::mutex> lock(mutex_);
  if (!cv_.wait_for(lock, options_.timeout, [&] { return pubacks_.count(mid) > 0; })) {
    last_error_ = std::string(qos == 0 ? "the message to " + topic + " was not sent" : "no PUBACK for " + topic) +
                  " within " + std::to_string(options_.timeout.count()) + " ms";
    return false;
  }
  int reason = pubacks_[mid];
  pubacks_.erase(mid);
  if (reason >= 0x80) {
    last_error_ = "the broker refused the message to " + topic + ": reason code " + std::to_string(reason) + " (" +
                  mosquitto_reason_string(reason) + ")";
    return false;
  }
  return true;
}

bool MqttClient::WaitFor(const std::function<bool(const std::vector<Message>&)>& pred,
                         std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return pred(messages_); });
}

std::optional<MqttClient::Message> MqttClient::WaitForMessage(const std::string& topic,
                                                              std::chrono::milliseconds timeout) {
  std::optional<Message> found;
  WaitFor(
      [&](const std::vector<Message>& messages) {
        for (const Message& m : messages) {
          if (m.topic == topic) {
            found = m;
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

std::vector<MqttClient::Message> MqttClient::Messages() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return messages_;
}

void MqttClient::ClearMessages() {
  std::lock_guard<std::mutex> lock(mutex_);
  messages_.clear();
}

std::string MqttClient::last_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

}  // namespace vigil::testing
