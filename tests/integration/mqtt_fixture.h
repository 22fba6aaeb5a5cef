// A real Mosquitto broker, a test PKI and a small MQTT v5 client, for integration tests of the
// uplink and the hub.
//
//   TestPki          a CA, a server certificate for localhost and client certificates, made with
//                    the openssl command-line tool (EC P-256 keys, valid for two days).
//   MosquittoBroker  /usr/sbin/mosquitto on 127.0.0.1 and a port of its own, plain TCP or TLS,
//                    with optional users, ACL and extra configuration; stop, kill and restart on
//                    the same port; its log.
//   MqttClient       libmosquitto (MQTT v5) with its own network thread; every call waits for the
//                    broker's answer (CONNACK, SUBACK, PUBACK), and received messages are kept so
//                    a test waits for them with WaitFor.
//
// Errors: a helper that cannot do its job (openssl or mosquitto missing or failing, no free
// port, the broker exiting at start) fails the current test with ADD_FAILURE and returns
// nullptr, std::nullopt or false. What the broker refuses is not a test failure: Connect,
// Subscribe and Publish return false and say why in last_error(), so tests can expect refusals.
//
// Files: each TestPki and each MosquittoBroker works in a temporary directory of its own
// (/tmp/vigil-pki-XXXXXX, /tmp/vigil-mqtt-XXXXXX) removed by its destructor, except when the
// current test has failed: then it is kept for inspection and its path is printed.
//
// Privileges: mosquitto 2.0 started as root switches to the `mosquitto` user before it opens
// its log file and reads certificates, keys, the password file and the ACL file, so files in a
// root-owned 0700 directory would be out of its reach. When the test runs as root the broker's
// configuration says `user root`, and it keeps root's access; as another user, the broker runs
// as that user and reads the files as their owner.
//
// Threads: TestPki and MosquittoBroker belong to the test's thread. MqttClient's methods may be
// called from any one thread at a time; its callbacks run on its own network thread and only
// touch state under its mutex.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct mosquitto;

namespace vigil::testing {

// Runs argv[0] (looked up in PATH when it has no slash) with argv, without a shell, stdin from
// /dev/null and stdout and stderr captured. Returns true when it exits with status 0; otherwise
// fails the current test, showing the command and its output, and returns false.
bool RunCommand(const std::vector<std::string>& argv, std::string* output = nullptr);

class TestPki {
 public:
  struct CertAndKey {
    std::string cert;  // PEM certificate
    std::string key;   // PEM private key (unencrypted)
  };

  // Makes the CA (ca.crt, ca.key) and the server certificate (server.crt, server.key: CN=localhost,
  // subjectAltName DNS:localhost and IP:127.0.0.1) in `dir`, which must exist; with dir empty, in
  // a fresh temporary directory that the destructor removes. Fails the test and returns nullptr
  // on error.
  static std::unique_ptr<TestPki> Create(std::string dir = "");
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  // A client certificate with CN=name (extendedKeyUsage clientAuth) signed by the CA, written as
  // client-<name>.crt and client-<name>.key. `name` goes into file names: letters, digits, '-',
  // '_', '.' only. Fails the test and returns std::nullopt on error.
  std::optional<CertAndKey> ClientCert(const std::string& name);
  // The same, signed by a second CA that the broker does not know (made on first use:
  // rogue-ca.crt, rogue-ca.key), written as rogue-client-<name>.crt and .key.
  std::optional<CertAndKey> RogueClientCert(const std::string& name);

  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string ca_key_file() const { return dir_ + "/ca.key"; }
  std::string server_cert_file() const { return dir_ + "/server.crt"; }
  std::string server_key_file() const { return dir_ + "/server.key"; }
  std::string rogue_ca_file() const { return dir_ + "/rogue-ca.crt"; }

 private:
  TestPki() = default;
  bool MakeCa(const std::string& stem, const std::string& common_name);
  std::optional<CertAndKey> Issue(const std::string& ca_stem, const std::string& stem, const std::string& common_name,
                                  const std::string& extensions);

  std::string dir_;
  bool owns_dir_ = false;
  bool have_rogue_ca_ = false;
};

class MosquittoBroker {
 public:
  struct Options {
    bool tls = false;                            // the listener speaks TLS (server.crt from the PKI)
    bool require_certificate = true;             // TLS: clients must present a certificate from the CA
    bool use_identity_as_username = true;        // TLS: the client certificate's CN is the username
    std::map<std::string, std::string> users{};  // username -> password; a password file when not empty
    bool allow_anonymous = true;                 // clients without a username are let in
    std::string acl_file_text{};                 // the ACL file's content (acl_file), when not empty
    std::string extra_config{};                  // appended to mosquitto.conf, after the listener's lines
    TestPki* pki = nullptr;                      // TLS: the PKI to use (not owned); null: one of its own
    std::string binary = "/usr/sbin/mosquitto";
    // When not empty, mosquitto runs this configuration file as it is (e.g. one the hub
    // generated): nothing is written, no PKI is made, and the options above other than `tls`
    // (which only chooses connect_host() and url()) and `binary` are unused. The file must put
    // its listener on 127.0.0.1:`port` and should log to stderr (no log_dest), so that Log()
    // shows it.
    std::string config_file{};
    int port = 0;  // the listener's port; 0: a free one, picked by the first Start
  };

  // Constructing starts nothing; call Start().
  MosquittoBroker();
  explicit MosquittoBroker(Options options);
  ~MosquittoBroker();  // Stop(), then the temporary directory is removed
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Starts the broker and waits (up to 10 s) until its port accepts TCP connections (a socket in
  // LISTEN state, seen in /proc/net/tcp: no probe connection shows in the broker's log). The first
  // Start creates the temporary directory, the PKI when TLS needs one, and picks a free port on
  // 127.0.0.1; later Starts reuse all three. mosquitto.conf (and the password and ACL files) are
  // written afresh each time: `user root` (when run as root), persistence false, log_type all to
  // mosquitto.log, set_tcp_nodelay true, allow_anonymous, password_file and acl_file when given,
  // then `listener PORT 127.0.0.1` with its TLS lines, then extra_config (so a listener option
  // there applies to this listener). Fails the test, showing the broker's log, and returns false
  // if the broker exits or the port does not open in time. Starting a running broker is an error.
  bool Start();
  // SIGTERM, then waits for the exit (SIGKILL after 5 s). Returns true if it exited by itself.
  // Does nothing when the broker is not running.
  bool Stop();
  // SIGKILL and waits: the broker dies without a clean shutdown.
  void Kill();
  // Stop() (if running), then Start() on the same port.
  bool Restart();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  int port() const { return port_; }  // 0 until the first Start
  // A TCP port on 127.0.0.1 that was free a moment ago (0 if none could be found), for a
  // configuration file that names its port (Options::config_file).
  static int FreePort();
  std::string host() const { return "127.0.0.1"; }
  // The host a client should name: "localhost" for TLS (what the server certificate is for),
  // else "127.0.0.1". The listener is on 127.0.0.1 only.
  std::string connect_host() const { return options_.tls ? "localhost" : host(); }
  // "mqtt://127.0.0.1:PORT", or "mqtts://localhost:PORT" for TLS.
  std::string url() const;
  bool tls() const { return options_.tls; }

  // The broker's log file so far (every log type), followed by anything it wrote to stdout or
  // stderr (errors from before the log file was open). Across restarts the log accumulates.
  std::string Log() const;
  // Waits until Log() contains `needle` (checked every 10 ms), or the timeout.
  bool WaitForLog(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // The broker's files (valid after the first Start).
  const std::string& dir() const { return dir_; }
  std::string config_file() const {
    return options_.config_file.empty() ? dir_ + "/mosquitto.conf" : options_.config_file;
  }
  std::string log_file() const { return dir_ + "/mosquitto.log"; }
  // TLS: the CA clients must trust, and the PKI to issue client certificates from (the one in
  // Options, or the broker's own, made by the first Start).
  std::string ca_file() const;
  TestPki* pki() const { return options_.pki ? options_.pki : own_pki_.get(); }

 private:
  bool Prepare();
  bool WriteFiles();

  Options options_;
  std::unique_ptr<TestPki> own_pki_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class MqttClient {
 public:
  struct Options {
    std::string client_id{};              // empty: one made up, unique in this process
    std::string username{};               // empty: none
    std::string password{};               // sent only with a username
    std::string ca_file{};                // TLS when not empty: the CA to verify the broker with
    std::string cert_file{}, key_file{};  // TLS client certificate and its key (both or neither)
    bool clean_start = true;
    uint32_t session_expiry_seconds = 0;  // MQTT 5: how long the broker keeps the session (and
                                          // queues QoS 1 messages for it) after a disconnect
    int keepalive_seconds = 60;
    std::chrono::milliseconds timeout = std::chrono::seconds(5);  // for every wait on the broker
  };

  struct Message {
    std::string topic;
    std::string payload;  // the raw bytes, not necessarily text
    int qos = 0;
    bool retain = false;
    std::vector<std::pair<std::string, std::string>> user_properties;
  };

  // Fails the test and returns nullptr if libmosquitto cannot make a client.
  static std::unique_ptr<MqttClient> Create(Options options);
  static std::unique_ptr<MqttClient> Create();
  ~MqttClient();  // disconnects and stops the network thread
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Connects (MQTT v5) and waits for the CONNACK. Returns false, with the reason in last_error(),
  // if the TCP connection or the TLS handshake fails, the broker refuses (CONNACK reason code),
  // or no CONNACK comes within the timeout. After a refusal or a lost connection the client does
  // not reconnect by itself; Connect may be called again. The broker overload names
  // broker.connect_host().
  bool Connect(const MosquittoBroker& broker);
  bool Connect(const std::string& host, int port);
  // Sends DISCONNECT and stops the network thread.
  void Disconnect();
  bool connected() const;
  // Waits until the connection is gone (the broker closed it or stopped), or the timeout.
  bool WaitForDisconnect(std::chrono::milliseconds timeout);

  // Subscribes and waits for the SUBACK; false (last_error()) if refused or no answer in time.
  bool Subscribe(const std::string& topic, int qos = 1);
  // Publishes; for QoS 1 and 2 waits for the PUBACK (PUBCOMP) and returns false if its reason
  // code is an error (e.g. not authorized) or none comes in time. QoS 0 waits until the packet
  // is written to the socket.
  bool Publish(const std::string& topic, const std::string& payload, int qos = 1, bool retain = false);

  // Waits until pred, called under the lock with every message received so far, returns true;
  // false on timeout.
  bool WaitFor(const std::function<bool(const std::vector<Message>&)>& pred, std::chrono::milliseconds timeout);
  // Waits for a message on `topic` (exact match) and returns the first one.
  std::optional<Message> WaitForMessage(const std::string& topic, std::chrono::milliseconds timeout);
  std::vector<Message> Messages() const;
  void ClearMessages();

  // Why the last Connect, Subscribe or Publish failed (empty if it succeeded); includes
  // libmosquitto's own error log lines (e.g. OpenSSL's reasons) when there are any.
  std::string last_error() const;
  const std::string& client_id() const { return client_id_; }

 private:
  enum class ConnState { kIdle, kPending, kConnected, kFailed, kLost };

  explicit MqttClient(Options options);
  void StopLoop();
  void SetError(std::string error);
  std::string RecentLogLocked() const;

  friend struct MqttClientCallbacks;  // libmosquitto's callbacks, in mqtt_fixture.cpp

  Options options_;
  std::string client_id_;
  mosquitto* mosq_ = nullptr;
  bool loop_running_ = false;  // touched only by the caller's thread

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  ConnState state_ = ConnState::kIdle;
  std::string last_error_;
  std::deque<std::string> recent_log_;       // libmosquitto's error and warning lines
  std::map<int, std::vector<int>> subacks_;  // mid -> granted QoS / reason codes
  std::map<int, int> pubacks_;               // mid -> reason code
  std::vector<Message> messages_;
};

}  // namespace vigil::testing
