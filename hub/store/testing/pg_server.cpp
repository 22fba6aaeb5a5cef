#include "hub/store/testing/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace vigil::testing {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin/";

std::string Tail(const std::string& text, size_t n = 4000) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Forks and runs argv[0] with argv, stdin from /dev/null, stdout and stderr appended to
// `log`; the child switches to uid/gid first when `switch_user`.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log, bool switch_user, uid_t uid,
                    gid_t gid) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    if (switch_user && (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(125);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

Result<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IoError(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return Status::IoError(std::string("finding a free port: ") + strerror(errno));
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace

Result<std::unique_ptr<PgServer>> PgServer::Start() {
  std::unique_ptr<PgServer> server(new PgServer());
  for (const char* tool : {"initdb", "postgres"}) {
    if (access((std::string(kBinDir) + tool).c_str(), X_OK) != 0) {
      return Status::NotFound(std::string(kBinDir) + tool + " not found: install the Debian package postgresql");
    }
  }
  char tmpl[] = "/tmp/vigil-pg-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Status::IoError(std::string("mkdtemp: ") + strerror(errno));
  server->dir_ = tmpl;
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return Status::NotFound(
          "running as root, and there is no postgres user to run PostgreSQL as "
          "(install the Debian package postgresql)");
    }
    server->switch_user_ = true;
    server->uid_ = pw->pw_uid;
    server->gid_ = pw->pw_gid;
    if (chown(server->dir_.c_str(), server->uid_, server->gid_) != 0) {
      return Status::IoError("chown " + server->dir_ + ": " + strerror(errno));
    }
  }
  std::string initdb_log = server->dir_ + "/initdb.log";
  auto pid = Spawn({std::string(kBinDir) + "initdb", "-D", server->dir_ + "/data", "-U", "postgres", "-A", "trust",
                    "--locale=C", "-E", "UTF8", "--no-sync"},
                   initdb_log, server->switch_user_, server->uid_, server->gid_);
  if (!pid.ok()) return pid.status();
  int wstatus = 0;
  waitpid(*pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Status::Internal("initdb failed (status " + std::to_string(wstatus) + "):\n" + Tail(ReadFile(initdb_log)));
  }
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {  // another process may take the free port first
    last = server->Launch();
    if (last.ok()) return server;
  }
  return last;
}

Status PgServer::Launch() {
  auto port = FreePort();
  if (!port.ok()) return port.status();
  port_ = *port;
  std::string log = dir_ + "/server.log";
  auto pid = Spawn({std::string(kBinDir) + "postgres",
                    "-D",
                    dir_ + "/data",
                    "-p",
                    std::to_string(port_),
                    "-k",
                    dir_,
                    "-h",
                    "127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "max_connections=50",
                    "-c",
                    "logging_collector=off"},
                   log, switch_user_, uid_, gid_);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=postgres user=postgres connect_timeout=2";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable("postgres exited at start (status " + std::to_string(wstatus) + "); its log:\n" +
                                 Tail(ReadFile(log)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Unavailable("postgres did not answer on port " + std::to_string(port_) + " within 60 s; its log:\n" +
                             Tail(ReadFile(log)));
}

PgServer::~PgServer() {
  if (pid_ > 0) {
    kill(pid_, SIGINT);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int wstatus = 0;
    while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &wstatus, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string PgServer::Url(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string PgServer::Log() const { return ReadFile(dir_ + "/server.log"); }

Status PgServer::Execute(const std::string& sql, const std::string& db) {
  PGconn* c = PQconnectdb(Url(db).c_str());
  Status status;
  if (PQstatus(c) != CONNECTION_OK) {
    status = Status::Unavailable("connect to " + Url(db) + ": " + PQerrorMessage(c));
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      status = Status::IoError(sql + ": " + PQresultErrorMessage(r));
    }
    PQclear(r);
  }
  PQfinish(c);
  return status;
}

Result<std::string> PgServer::CreateDatabase(const std::string& name) {
  for (char ch : name) {
    if (!isalnum(static_cast<unsigned char>(ch)) && ch != '_') {
      return Status::InvalidArgument("database name " + name + ": letters, digits and '_' only");
    }
  }
  VIGIL_RETURN_IF_ERROR(Execute("CREATE DATABASE " + name));
  return Url(name);
}

}  // namespace vigil::testing
