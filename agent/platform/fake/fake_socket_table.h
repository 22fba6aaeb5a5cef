// FakeSocketTable: a socket table the test sets by hand, for unit tests of the sock_diag
// source and the listening_ports collector. Dump returns what the query asks for from the
// sockets set now. Thread-safe.
#pragma once

#include <mutex>
#include <utility>
#include <vector>

#include "agent/platform/socket_table.h"

namespace vigil {

class FakeSocketTable : public SocketTable {
 public:
  void Set(std::vector<SocketInfo> sockets) {
    std::lock_guard l(mu_);
    sockets_ = std::move(sockets);
  }
  void Add(const SocketInfo& s) {
    std::lock_guard l(mu_);
    sockets_.push_back(s);
  }
  // Removes every socket with this inode.
  void Remove(uint64_t inode) {
    std::lock_guard l(mu_);
    std::erase_if(sockets_, [&](const SocketInfo& s) { return s.inode == inode; });
  }
  // Makes Dump fail with `s` (Status::Ok() to make it succeed again).
  void SetError(Status s) {
    std::lock_guard l(mu_);
    error_ = std::move(s);
  }
  int dumps() const {
    std::lock_guard l(mu_);
    return dumps_;
  }

  Status Dump(const SocketQuery& query, std::vector<SocketInfo>* out) override {
    std::lock_guard l(mu_);
    ++dumps_;
    out->clear();
    if (!error_.ok()) return error_;
    for (const SocketInfo& s : sockets_) {
      const bool tcp = s.protocol == ConnectionRecord::Protocol::kTcp;
      if (tcp && (query.tcp_states & StateBit(s.state)) == 0) continue;
      if (!tcp && !query.udp) continue;
      SocketInfo copy = s;
      if (tcp && !query.tcp_bytes) {
        copy.bytes_known = false;
        copy.bytes_in = copy.bytes_out = 0;
      }
      out->push_back(copy);
    }
    return Status::Ok();
  }

 private:
  mutable std::mutex mu_;
  std::vector<SocketInfo> sockets_;
  Status error_;
  int dumps_ = 0;
};

}  // namespace vigil
