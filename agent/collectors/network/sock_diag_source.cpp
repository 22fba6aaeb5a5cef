#include "agent/collectors/network/sock_diag_source.h"

#include <algorithm>
#include <chrono>

namespace vigil::network {
namespace {

using Kind = ConnectionRecord::Kind;
using Protocol = ConnectionRecord::Protocol;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// TCP states in which a socket is a connection its process may still hold. TIME_WAIT and
// SYN_RECV sockets never have a file; CLOSE ones are neither connected nor listening.
constexpr uint32_t kTcpStates = StateBit(SocketState::kEstablished) | StateBit(SocketState::kSynSent) |
                                StateBit(SocketState::kFinWait1) | StateBit(SocketState::kFinWait2) |
                                StateBit(SocketState::kCloseWait) | StateBit(SocketState::kLastAck) |
                                StateBit(SocketState::kClosing) | StateBit(SocketState::kListen);

bool SamePeer(const SocketInfo& a, const SocketInfo& b) {
  return a.remote.port == b.remote.port && a.remote.addr == b.remote.addr && a.local.port == b.local.port;
}

}  // namespace

SockDiagConnectionSource::SockDiagConnectionSource(std::unique_ptr<SocketTable> table, Env& env, int64_t interval_ms,
                                                   std::string proc_root)
    : table_(std::move(table)),
      owners_(env, std::move(proc_root)),
      interval_ms_(std::max<int64_t>(interval_ms, 1)),
      query_{.tcp_states = kTcpStates, .udp = true, .tcp_bytes = true} {}

SockDiagConnectionSource::Role SockDiagConnectionSource::RoleOf(const SocketInfo& s) {
  if (s.inode == 0 || s.local.port == 0) return Role::kNone;
  if (s.protocol == Protocol::kTcp) {
    if (s.state == SocketState::kListen) return Role::kListener;
    return (kTcpStates & StateBit(s.state)) != 0 ? Role::kConnection : Role::kNone;
  }
  return s.remote.port != 0 ? Role::kConnection : Role::kListener;
}

bool SockDiagConnectionSource::IsAccept(const SocketInfo& s) const {
  if (s.protocol == Protocol::kTcp)
    return s.state != SocketState::kSynSent && tcp_listen_ports_.count(s.local.port) > 0;
  return udp_bound_ports_.count(s.local.port) > 0;
}

ConnectionRecord SockDiagConnectionSource::MakeRecord(Kind kind, const Tracked& t) const {
  ConnectionRecord r;
  r.kind = kind;
  r.protocol = t.info.protocol;
  r.family = t.info.family;
  r.local = t.info.local;
  if (kind != Kind::kListen) r.remote = t.info.remote;
  r.pid = t.pid;
  r.uid = t.info.uid;
  r.socket_id = t.info.inode;
  if (kind == Kind::kClose && t.info.bytes_known) {
    r.bytes_known = true;
    r.bytes_in = t.info.bytes_in;
    r.bytes_out = t.info.bytes_out;
  }
  return r;
}

Status SockDiagConnectionSource::Baseline() { return Dump(/*baseline=*/true, nullptr); }

Status SockDiagConnectionSource::Scan(std::vector<ConnectionRecord>* out) { return Dump(!baseline_, out); }

Status SockDiagConnectionSource::Dump(bool baseline, std::vector<ConnectionRecord>* out) {
  last_scan_ms_ = SteadyMs();
  VIGIL_RETURN_IF_ERROR(table_->Dump(query_, &dump_));

  tcp_listen_ports_.clear();
  udp_bound_ports_.clear();
  for (const SocketInfo& s : dump_) {
    if (RoleOf(s) != Role::kListener) continue;
    (s.protocol == Protocol::kTcp ? tcp_listen_ports_ : udp_bound_ports_).insert(s.local.port);
  }

  std::vector<ConnectionRecord> closes;
  std::vector<Pending> opens;
  std::unordered_map<uint64_t, Tracked> next;
  next.reserve(dump_.size());
  for (const SocketInfo& s : dump_) {
    const Role role = RoleOf(s);
    if (role == Role::kNone || next.count(s.inode) > 0) continue;
    Tracked t;
    if (auto it = known_.find(s.inode); it != known_.end()) {
      if (it->second.info.cookie == s.cookie) {
        t = it->second;
      } else if (it->second.role == Role::kConnection) {  // the inode was reused: the old socket closed
        closes.push_back(MakeRecord(Kind::kClose, it->second));
      }
      known_.erase(it);
    }
    const Role was = t.role;
    if (role == Role::kConnection) {
      if (was != Role::kConnection || !SamePeer(t.info, s)) {
        if (was == Role::kConnection) closes.push_back(MakeRecord(Kind::kClose, t));
        opens.push_back({IsAccept(s) ? Kind::kAccept : Kind::kConnect, s.inode});
      }
    } else {
      if (was == Role::kConnection) closes.push_back(MakeRecord(Kind::kClose, t));
      if (was != Role::kListener) opens.push_back({Kind::kListen, s.inode});
    }
    t.info = s;
    t.role = role;
    next.emplace(s.inode, t);
  }
  for (const auto& [inode, t] : known_) {
    if (t.role == Role::kConnection) closes.push_back(MakeRecord(Kind::kClose, t));
  }
  known_.swap(next);

  // Owners: of every new socket that makes a record, and at the baseline of every connection
  // (so that its close can name its process).
  std::vector<uint64_t> unresolved;
  if (baseline) {
    for (const auto& [inode, t] : known_)
      if (t.role == Role::kConnection && !t.owner_known) unresolved.push_back(inode);
  } else {
    for (const Pending& p : opens)
      if (!known_[p.inode].owner_known) unresolved.push_back(p.inode);
  }
  if (!unresolved.empty()) {
    const auto found = owners_.Find(unresolved);
    for (uint64_t inode : unresolved) {
      Tracked& t = known_[inode];
      t.owner_known = true;
      if (auto f = found.find(inode); f != found.end()) t.pid = f->second;
    }
  }

  if (baseline) {
    baseline_ = true;
    return Status::Ok();
  }
  out->insert(out->end(), closes.begin(), closes.end());
  std::stable_sort(opens.begin(), opens.end(), [](const Pending& a, const Pending& b) {
    return (a.kind == Kind::kListen) > (b.kind == Kind::kListen);
  });
  for (const Pending& p : opens) out->push_back(MakeRecord(p.kind, known_[p.inode]));
  return Status::Ok();
}

Status SockDiagConnectionSource::Read(int timeout_ms, std::vector<ConnectionRecord>* out, uint64_t* /*lost*/) {
  const int64_t now = SteadyMs();
  const int64_t due = baseline_ ? last_scan_ms_ + interval_ms_ : now;
  const int64_t wait_until = std::min(due, now + std::max(timeout_ms, 0));
  {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wait_until - now, 0)), [&] { return interrupted_; });
    if (interrupted_) return Status::Ok();
  }
  if (SteadyMs() < due) return Status::Ok();  // the caller's timeout came first
  return Scan(out);
}

void SockDiagConnectionSource::Interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

}  // namespace vigil::network
