#include "agent/collectors/network/tracker.h"

#include <algorithm>
#include <climits>

#include "agent/collectors/common/procfs.h"
#include "agent/platform/socket_address.h"

namespace vigil::network {
namespace {

using Kind = ConnectionRecord::Kind;
using Protocol = ConnectionRecord::Protocol;

const char* ProtocolName(Protocol p) { return p == Protocol::kUdp ? "udp" : "tcp"; }

// How long an owner's exe read from /proc is used again for the same pid and task name.
constexpr int64_t kExeCacheMs = 100;
constexpr size_t kExeCacheEntries = 1024;

// Aggregation keys are internal: the raw bytes of what identifies an aggregate, no text.
enum class KeyPart : char {
  kListen = 'l',
  kConnect = 'c',
  kAccept = 'a',
  kCloseOut = 'o',
  kCloseIn = 'i',
  kClose = '?',
};

class Key {
 public:
  Key(KeyPart part, const std::string& image, Protocol protocol, uint8_t family) {
    key_.reserve(image.size() + 48);
    key_.push_back(static_cast<char>(part));
    key_.push_back(static_cast<char>(protocol));
    key_.push_back(static_cast<char>(family));
    key_.append(image);
    key_.push_back('\0');
  }
  Key& Address(const std::array<uint8_t, 16>& a) {
    key_.append(reinterpret_cast<const char*>(a.data()), a.size());
    return *this;
  }
  Key& Port(uint16_t port) {
    key_.push_back(static_cast<char>(port >> 8));
    key_.push_back(static_cast<char>(port & 0xff));
    return *this;
  }
  std::string Take() { return std::move(key_); }

 private:
  std::string key_;
};

}  // namespace

ConnectionTracker::ConnectionTracker(Env& env, CollectorStats& stats, common::UserNames& users, TrackerOptions options,
                                     Sink sink, Sink observe)
    : env_(env),
      stats_(stats),
      users_(users),
      options_(std::move(options)),
      sink_(std::move(sink)),
      observe_(std::move(observe)),
      window_start_ms_(env.clock().MonotonicMs()) {}

ConnectionTracker::Owner ConnectionTracker::Resolve(const ConnectionRecord& r) {
  Owner o;
  o.pid = r.pid;
  o.uid = r.uid;
  o.comm = r.comm;
  if (r.pid > 0) {
    // With the task name known (eBPF), the exe read for the same pid and name a moment ago is
    // used again: an exec changes the name, and a reused pid within kExeCacheMs is all but
    // impossible. Without it, /proc is read every time.
    const int64_t now = env_.clock().MonotonicMs();
    auto cached = r.comm.empty() ? exe_cache_.end() : exe_cache_.find(r.pid);
    if (cached != exe_cache_.end() && cached->second.comm == r.comm && now - cached->second.read_ms < kExeCacheMs) {
      o.exe = cached->second.exe;
    }
    if (!o.exe.empty() && o.uid >= 0) return o;
    const std::string dir = options_.proc_root + "/" + std::to_string(r.pid);
    if (o.exe.empty()) {
      if (auto exe = env_.ReadLink(dir + "/exe"); exe.ok()) o.exe = std::move(*exe);
      if (!o.exe.empty() && !r.comm.empty()) {
        if (exe_cache_.size() >= kExeCacheEntries) exe_cache_.clear();
        exe_cache_[r.pid] = CachedExe{r.comm, o.exe, now};
      }
    }
    if (o.uid < 0) {
      if (auto status = env_.ReadFile(dir + "/status", 4096); status.ok()) {
        if (auto parsed = common::ParseProcStatus(*status); parsed.ok()) o.uid = parsed->euid;
      }
    }
    if (o.exe.empty() && o.comm.empty()) {
      if (auto comm = env_.ReadFile(dir + "/comm", 64); comm.ok()) {
        o.comm = std::move(*comm);
        while (!o.comm.empty() && o.comm.back() == '\n') o.comm.pop_back();
      }
    }
  }
  if (o.exe.empty()) {
    o.partial = true;
    stats_.Count("partial");
  }
  return o;
}

Json ConnectionTracker::BaseData(const Owner& owner, const ConnectionRecord& r, bool with_remote) const {
  Json d = Json::object();
  if (owner.pid > 0) d["pid"] = owner.pid;
  if (!owner.exe.empty()) d["exe"] = owner.exe;
  if (owner.exe.empty() && !owner.comm.empty()) d["comm"] = owner.comm;
  if (owner.uid >= 0 && owner.uid <= UINT32_MAX) {
    d["uid"] = owner.uid;
    d["user"] = users_.Name(static_cast<uint32_t>(owner.uid));
  }
  if (owner.partial) d["partial"] = true;
  d["protocol"] = ProtocolName(r.protocol);
  d["family"] = r.family == 6 ? "ipv6" : "ipv4";
  d["local_ip"] = FormatSocketAddress(r.family, r.local.addr);
  d["local_port"] = r.local.port;
  if (with_remote) {
    d["remote_ip"] = FormatSocketAddress(r.family, r.remote.addr);
    d["remote_port"] = r.remote.port;
    if (options_.host_names) {
      std::string host = options_.host_names->Lookup(r.family, r.remote.addr, env_.clock().MonotonicMs());
      if (!host.empty()) d["remote_host"] = std::move(host);
    }
  }
  return d;
}

void ConnectionTracker::Handle(const ConnectionRecord& r) {
  const bool listen = r.kind == Kind::kListen;
  if (!options_.include_loopback &&
      (listen ? IsLoopbackAddress(r.family, r.local.addr) : IsLoopbackAddress(r.family, r.remote.addr))) {
    stats_.Count("loopback_skipped");
    if (r.kind == Kind::kClose) Forget(r.socket_id);
    return;
  }
  switch (r.kind) {
    case Kind::kListen: {
      Owner owner = Resolve(r);
      const std::string image = owner.exe.empty() ? owner.comm : owner.exe;
      std::string key =
          Key(KeyPart::kListen, image, r.protocol, r.family).Address(r.local.addr).Port(r.local.port).Take();
      if (!observing()) {
        if (Merge(key, r, false)) return;
        Add("listen", std::move(key), BaseData(owner, r, false), r, false);
        return;
      }
      Json data = BaseData(owner, r, false);
      Observe("listen", data);
      if (!Merge(key, r, false)) Add("listen", std::move(key), std::move(data), r, false);
      return;
    }
    case Kind::kConnect:
    case Kind::kAccept: {
      const bool outbound = r.kind == Kind::kConnect;
      Owner owner = Resolve(r);
      const std::string image = owner.exe.empty() ? owner.comm : owner.exe;
      std::string key =
          outbound
              ? Key(KeyPart::kConnect, image, r.protocol, r.family).Address(r.remote.addr).Port(r.remote.port).Take()
              : Key(KeyPart::kAccept, image, r.protocol, r.family).Port(r.local.port).Address(r.remote.addr).Take();
      if (r.socket_id != 0) Remember(r.socket_id, Open{key, generation_, outbound, owner, {}});
      // The common case under load, unless detection wants every occurrence: no event to build.
      if (!observing() && Merge(key, r, false)) return;
      Json data = BaseData(owner, r, true);
      data["direction"] = outbound ? "outbound" : "inbound";
      data["initiated"] = outbound;
      const char* action = outbound ? "connect" : "accept";
      if (observing()) {
        Observe(action, data);
        if (Merge(key, r, false)) return;
      }
      Add(action, std::move(key), std::move(data), r, false);
      return;
    }
    case Kind::kClose: {
      // A listening or unconnected socket going away is not a connection ending (an
      // unconnected UDP socket may have been remembered for its first datagram out).
      if (r.remote.port == 0 && IsUnspecifiedAddress(r.remote.addr)) {
        Forget(r.socket_id);
        return;
      }
      Owner owner;
      bool known = false;
      bool outbound = true;
      if (r.socket_id != 0) {
        if (auto it = open_.find(r.socket_id); it != open_.end()) {
          Open open = std::move(it->second);
          open_order_.erase(open.order);
          open_.erase(it);
          // Opened in this interval and still held: the close joins its aggregate.
          if (options_.interval_ms > 0 && open.generation == generation_) {
            if (auto h = index_.find(open.key); h != index_.end()) {
              Held& held = *h->second;
              held.closed++;
              if (r.bytes_known) {
                held.bytes_known = true;
                held.bytes_in += r.bytes_in;
                held.bytes_out += r.bytes_out;
              }
              return;
            }
          }
          owner = std::move(open.owner);
          outbound = open.outbound;
          known = true;
        }
      }
      if (!known) owner = Resolve(r);
      const std::string image = owner.exe.empty() ? owner.comm : owner.exe;
      std::string key;
      if (known && outbound) {
        key = Key(KeyPart::kCloseOut, image, r.protocol, r.family).Address(r.remote.addr).Port(r.remote.port).Take();
      } else if (known) {
        key = Key(KeyPart::kCloseIn, image, r.protocol, r.family).Port(r.local.port).Address(r.remote.addr).Take();
      } else {
        key = Key(KeyPart::kClose, image, r.protocol, r.family)
                  .Address(r.local.addr)
                  .Port(r.local.port)
                  .Address(r.remote.addr)
                  .Port(r.remote.port)
                  .Take();
      }
      if (Merge(key, r, true)) return;
      Json data = BaseData(owner, r, true);
      if (known) {
        data["direction"] = outbound ? "outbound" : "inbound";
        data["initiated"] = outbound;
      }
      Add("close", std::move(key), std::move(data), r, true);
      return;
    }
  }
}

void ConnectionTracker::Forget(uint64_t socket_id) {
  if (socket_id == 0) return;
  if (auto it = open_.find(socket_id); it != open_.end()) {
    open_order_.erase(it->second.order);
    open_.erase(it);
  }
}

void ConnectionTracker::Remember(uint64_t socket_id, Open open) {
  Forget(socket_id);  // a socket id seen again (UDP: a datagram to another peer): the newer wins
  if (open_.size() >= std::max<size_t>(options_.table_entries, 1)) {
    open_.erase(open_order_.front());
    open_order_.pop_front();
    stats_.Count("conn_table_evictions");
  }
  open_order_.push_back(socket_id);
  open.order = std::prev(open_order_.end());
  open_.emplace(socket_id, std::move(open));
}

void ConnectionTracker::Observe(std::string_view action, const Json& data) {
  Event e;
  e.type = "network";
  e.action = std::string(action);
  e.ts_ms = env_.clock().NowMs();
  e.data = data;
  observe_(std::move(e));
}

bool ConnectionTracker::Merge(const std::string& key, const ConnectionRecord& r, bool with_bytes) {
  if (options_.interval_ms <= 0) return false;
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  Held& h = *it->second;
  h.count++;
  h.event.last_ts_ms = std::max(h.event.last_ts_ms, env_.clock().NowMs());
  if (with_bytes && r.bytes_known) {
    h.bytes_known = true;
    h.bytes_in += r.bytes_in;
    h.bytes_out += r.bytes_out;
  }
  return true;
}

void ConnectionTracker::Add(std::string_view action, std::string key, Json data, const ConnectionRecord& r,
                            bool with_bytes) {
  const int64_t now = env_.clock().NowMs();
  if (options_.interval_ms <= 0) {
    Event e;
    e.type = "network";
    e.action = std::string(action);
    e.ts_ms = now;
    if (with_bytes && r.bytes_known) {
      data["bytes_in"] = r.bytes_in;
      data["bytes_out"] = r.bytes_out;
    }
    e.data = std::move(data);
    sink_(std::move(e));
    return;
  }
  if (index_.size() >= std::max<size_t>(options_.aggregate_entries, 1)) {
    stats_.flushed_early.fetch_add(1, std::memory_order_relaxed);
    Held oldest = std::move(held_.front());
    index_.erase(oldest.key);
    held_.pop_front();
    sink_(Finish(oldest));
  }
  Held h;
  h.key = key;
  h.event.type = "network";
  h.event.action = std::string(action);
  if (observing() && action != "close") h.event.inspection = Inspection::kSkip;
  h.event.ts_ms = now;
  h.event.last_ts_ms = now;
  h.event.data = std::move(data);
  h.count = 1;
  if (with_bytes && r.bytes_known) {
    h.bytes_known = true;
    h.bytes_in = r.bytes_in;
    h.bytes_out = r.bytes_out;
  }
  held_.push_back(std::move(h));
  index_.emplace(std::move(key), std::prev(held_.end()));
}

Event ConnectionTracker::Finish(Held& h) const {
  Event e = std::move(h.event);
  e.count = h.count;
  if (h.count <= 1) e.last_ts_ms = 0;
  if (h.closed > 0) e.data["closed"] = h.closed;
  if (h.bytes_known) {
    e.data["bytes_in"] = h.bytes_in;
    e.data["bytes_out"] = h.bytes_out;
  }
  return e;
}

void ConnectionTracker::Tick() {
  if (options_.interval_ms <= 0) return;
  const int64_t now = env_.clock().MonotonicMs();
  if (now - window_start_ms_ < options_.interval_ms) return;
  window_start_ms_ = now;
  FlushAll();
}

void ConnectionTracker::FlushAll() {
  while (!held_.empty()) {
    Held h = std::move(held_.front());
    held_.pop_front();
    index_.erase(h.key);
    sink_(Finish(h));
  }
  ++generation_;
}

int64_t ConnectionTracker::NextFlushMs() const {
  if (options_.interval_ms <= 0 || held_.empty()) return INT64_MAX;
  return window_start_ms_ + options_.interval_ms;
}

}  // namespace vigil::network
