#include "agent/collectors/network/raw_sockets.h"

#include <utility>

namespace vigil::network {

RawSocketWatcher::RawSocketWatcher(std::unique_ptr<RawSocketTable> table, Env& env, CollectorStats& stats,
                                   common::UserNames& users, std::string proc_root)
    : table_(std::move(table)),
      env_(env),
      stats_(stats),
      users_(users),
      proc_root_(std::move(proc_root)),
      owners_(env, proc_root_) {}

Status RawSocketWatcher::Poll(int64_t ts_ms, std::vector<Event>* out) {
  VIGIL_RETURN_IF_ERROR(table_->Dump(&dump_));
  std::unordered_set<uint64_t> present;
  std::vector<const RawSocketInfo*> fresh;
  std::vector<uint64_t> inodes;
  for (const RawSocketInfo& s : dump_) {
    if (s.inode == 0 || !present.insert(s.inode).second) continue;  // closed, or listed twice
    if (reported_.count(s.inode)) continue;
    fresh.push_back(&s);
    inodes.push_back(s.inode);
  }
  reported_ = std::move(present);
  if (fresh.empty()) return Status::Ok();
  const auto owners = owners_.Find(inodes);  // one pass over /proc for all of them
  for (const RawSocketInfo* s : fresh) {
    auto owner = owners.find(s->inode);
    out->push_back(NewEvent(*s, owner == owners.end() ? -1 : owner->second, ts_ms));
  }
  return Status::Ok();
}

Event RawSocketWatcher::NewEvent(const RawSocketInfo& s, int32_t pid, int64_t ts_ms) {
  Event e;
  e.type = "network";
  e.action = "raw_socket";
  e.ts_ms = ts_ms;
  Json& d = e.data;
  bool partial = pid <= 0;
  if (pid > 0) {
    const std::string dir = proc_root_ + "/" + std::to_string(pid);
    d["pid"] = pid;
    if (auto exe = env_.ReadLink(dir + "/exe"); exe.ok()) {
      d["exe"] = std::move(*exe);
    } else {
      partial = true;
    }
    // The task name always, not only when exe is unreadable: allow lists of raw-socket users
    // are of names (BusyBox applets share one exe).
    if (auto comm = env_.ReadFile(dir + "/comm", 64); comm.ok()) {
      std::string& c = *comm;
      if (!c.empty() && c.back() == '\n') c.pop_back();
      if (!c.empty()) d["comm"] = std::move(c);
    }
  }
  if (s.uid >= 0) {
    d["uid"] = s.uid;
    d["user"] = users_.Name(static_cast<uint32_t>(s.uid));
  }
  if (partial) {
    d["partial"] = true;
    stats_.Count("partial");
  }
  switch (s.family) {
    case RawSocketInfo::Family::kIpv4:
      d["family"] = "ipv4";
      break;
    case RawSocketInfo::Family::kIpv6:
      d["family"] = "ipv6";
      break;
    case RawSocketInfo::Family::kPacket:
      d["family"] = "packet";
      break;
  }
  d["socket_type"] = s.type == RawSocketInfo::Type::kDgram ? "dgram" : "raw";
  d["ip_protocol"] = s.protocol;
  return e;
}

}  // namespace vigil::network
