// A throwaway PostgreSQL 15 server for tests.
//
// PgServer::Start() makes a fresh temporary directory (/tmp/vigil-pg-XXXXXX), runs
// /usr/lib/postgresql/15/bin/initdb in it (user postgres, trust authentication, locale C,
// UTF-8) and starts /usr/lib/postgresql/15/bin/postgres on 127.0.0.1 and a free port, with
// its Unix socket in the same directory and settings for speed over durability (fsync off,
// synchronous_commit off, full_page_writes off, shared_buffers 32 MB). It waits until the
// server answers PQping (polling every 50 ms, at most 60 s; it stops waiting at once when the
// server process exits). The destructor stops the server (SIGINT: fast shutdown, then SIGKILL
// after 10 s) and removes the directory.
//
// Privileges: PostgreSQL refuses to run as root. When the test runs as root, the directory is
// handed to the `postgres` system user (created by the Debian postgresql package) and initdb
// and the server run as that user (setgid/setuid in the forked child). Otherwise they run as
// the calling user.
//
// Errors: Start() returns a non-OK Status (never skips) when the binaries, the postgres user
// or a free port are missing, when initdb fails, or when the server does not come up; its
// message carries the tail of the command's output or of the server log, so a test that
// asserts on it fails showing why.
//
// Threads: a PgServer may be used from any thread; CreateDatabase and Execute open a
// connection of their own per call.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "agent/core/status.h"

namespace vigil::testing {

class PgServer {
 public:
  static Result<std::unique_ptr<PgServer>> Start();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/DB (trust authentication: no password).
  std::string Url(const std::string& db = "postgres") const;
  // CREATE DATABASE `name` (letters, digits and '_' only); returns its URL.
  Result<std::string> CreateDatabase(const std::string& name);
  // Runs one SQL command in database `db` (e.g. pg_terminate_backend in tests).
  Status Execute(const std::string& sql, const std::string& db = "postgres");
  // The server's log so far.
  std::string Log() const;

 private:
  PgServer() = default;
  Status Launch();

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;
};

}  // namespace vigil::testing
