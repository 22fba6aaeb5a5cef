#include "agent/collectors/listening_ports/port_watcher.h"

#include <climits>
#include <cstdint>

#include "agent/platform/socket_address.h"

namespace vigil::listening_ports {
namespace {

using Protocol = ConnectionRecord::Protocol;

bool IsListening(const SocketInfo& s) {
  if (s.inode == 0 || s.local.port == 0) return false;
  if (s.protocol == Protocol::kTcp) return s.state == SocketState::kListen;
  return s.remote.port == 0 && IsUnspecifiedAddress(s.remote.addr);
}

}  // namespace

SocketQuery ListeningQuery() { return SocketQuery{.tcp_states = StateBit(SocketState::kListen), .udp = true}; }

PortWatcher::PortWatcher(Env& env, CollectorStats& stats, common::UserNames& users, size_t max_ports,
                         bool include_loopback, std::string proc_root)
    : env_(env),
      stats_(stats),
      users_(users),
      max_ports_(max_ports),
      include_loopback_(include_loopback),
      proc_root_(proc_root),
      owners_(env, std::move(proc_root)) {}

std::map<PortWatcher::PortKey, PortWatcher::Port> PortWatcher::Group(const std::vector<SocketInfo>& sockets) {
  std::map<PortKey, Port> out;
  for (const SocketInfo& s : sockets) {
    if (!IsListening(s)) continue;
    if (!include_loopback_ && IsLoopbackAddress(s.family, s.local.addr)) continue;
    Port& p = out[PortKey{static_cast<uint8_t>(s.protocol), s.local.port, s.family,
                          FormatSocketAddress(s.family, s.local.addr)}];
    if (p.inodes.empty()) p.uid = s.uid;
    p.inodes.insert(s.inode);
  }
  return out;
}

void PortWatcher::Resolve(std::map<PortKey, Port>& ports, const std::vector<PortKey>& keys) {
  std::vector<uint64_t> inodes;
  for (const PortKey& k : keys) {
    const Port& p = ports.at(k);
    inodes.insert(inodes.end(), p.inodes.begin(), p.inodes.end());
  }
  const auto owners = owners_.Find(inodes);
  for (const PortKey& k : keys) {
    Port& p = ports.at(k);
    for (uint64_t inode : p.inodes) {  // the first socket with a known owner
      if (auto it = owners.find(inode); it != owners.end()) {
        p.pid = it->second;
        break;
      }
    }
    if (p.pid > 0) {
      const std::string dir = proc_root_ + "/" + std::to_string(p.pid);
      if (auto exe = env_.ReadLink(dir + "/exe"); exe.ok()) {
        p.exe = std::move(*exe);
      } else if (auto comm = env_.ReadFile(dir + "/comm", 64); comm.ok()) {
        p.comm = std::move(*comm);
        while (!p.comm.empty() && p.comm.back() == '\n') p.comm.pop_back();
      }
    }
    if (p.exe.empty()) {
      p.partial = true;
      stats_.Count("partial");
    }
  }
}

Json PortWatcher::PortData(const PortKey& key, const Port& port) {
  const auto& [protocol, number, family, address] = key;
  Json d = Json::object();
  d["protocol"] = protocol == static_cast<uint8_t>(Protocol::kUdp) ? "udp" : "tcp";
  d["family"] = family == 6 ? "ipv6" : "ipv4";
  d["local_ip"] = address;
  d["local_port"] = number;
  if (port.pid > 0) d["pid"] = port.pid;
  if (!port.exe.empty()) d["exe"] = port.exe;
  if (port.exe.empty() && !port.comm.empty()) d["comm"] = port.comm;
  if (port.uid >= 0 && port.uid <= UINT32_MAX) {
    d["uid"] = port.uid;
    d["user"] = users_.Name(static_cast<uint32_t>(port.uid));
  }
  if (port.partial) d["partial"] = true;
  return d;
}

Event PortWatcher::MakeEvent(std::string action, Json data) {
  Event e;
  e.type = "listening_ports";
  e.action = std::move(action);
  e.ts_ms = env_.clock().NowMs();
  e.data = std::move(data);
  return e;
}

Event PortWatcher::Snapshot(const std::vector<SocketInfo>& sockets) {
  ports_ = Group(sockets);
  std::vector<PortKey> keys;
  keys.reserve(ports_.size());
  for (const auto& [k, _] : ports_) keys.push_back(k);
  Resolve(ports_, keys);
  Json list = Json::array();
  size_t omitted = 0;
  for (const auto& [k, p] : ports_) {
    if (list.size() >= max_ports_) {
      ++omitted;
      continue;
    }
    list.push_back(PortData(k, p));
  }
  Json data = {{"ports", std::move(list)}};
  if (omitted > 0) data["ports_omitted"] = omitted;
  return MakeEvent("snapshot", std::move(data));
}

void PortWatcher::Update(const std::vector<SocketInfo>& sockets, std::vector<Event>* out) {
  std::map<PortKey, Port> now = Group(sockets);
  std::vector<PortKey> fresh;     // ports not open before
  std::vector<PortKey> replaced;  // open before, but every socket is new
  for (auto& [k, p] : now) {
    auto old = ports_.find(k);
    if (old == ports_.end()) {
      fresh.push_back(k);
      continue;
    }
    bool shared = false;
    for (uint64_t inode : p.inodes) shared = shared || old->second.inodes.count(inode) > 0;
    if (shared) {
      p.pid = old->second.pid;
      p.uid = old->second.uid;
      p.exe = old->second.exe;
      p.comm = old->second.comm;
      p.partial = old->second.partial;
    } else {
      replaced.push_back(k);
    }
  }
  std::vector<PortKey> lookup = fresh;
  lookup.insert(lookup.end(), replaced.begin(), replaced.end());
  if (!lookup.empty()) Resolve(now, lookup);

  for (const auto& [k, p] : ports_) {
    if (now.count(k) == 0) out->push_back(MakeEvent("closed", PortData(k, p)));
  }
  for (const PortKey& k : replaced) {
    const Port& before = ports_.at(k);
    const Port& after = now.at(k);
    const bool same_program = before.exe == after.exe && before.comm == after.comm;
    if (same_program) continue;
    out->push_back(MakeEvent("closed", PortData(k, before)));
    out->push_back(MakeEvent("opened", PortData(k, after)));
  }
  for (const PortKey& k : fresh) out->push_back(MakeEvent("opened", PortData(k, now.at(k))));
  ports_ = std::move(now);
}

}  // namespace vigil::listening_ports
