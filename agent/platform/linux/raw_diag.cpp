#include "agent/platform/linux/raw_diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/packet_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <string>

namespace vigil::rawdiag {
namespace {

// Names differ from sock_diag.cpp's helpers: both files are in one library.
template <typename T>
T LoadRaw(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

Status RawMalformed(size_t offset, const std::string& what) {
  return Status::InvalidArgument("raw socket diag reply, offset " + std::to_string(offset) + ": " + what);
}

// Walks the rtattr list at data[off, len): fn(type, payload, payload_len) for each.
template <typename Fn>
Status ForEachAttribute(const uint8_t* data, size_t off, size_t len, size_t base, Fn&& fn) {
  while (off + sizeof(rtattr) <= len) {
    const auto rta = LoadRaw<rtattr>(data + off);
    if (rta.rta_len < sizeof(rtattr) || rta.rta_len > len - off)
      return RawMalformed(base + off, "attribute length " + std::to_string(rta.rta_len) + " outside its message");
    fn(rta.rta_type, data + off + RTA_LENGTH(0), static_cast<size_t>(rta.rta_len - RTA_LENGTH(0)));
    off += RTA_ALIGN(rta.rta_len);
  }
  return Status::Ok();
}

Status ParseRawIpSocket(const uint8_t* data, size_t len, size_t base, std::vector<RawSocketInfo>* out) {
  if (len < sizeof(inet_diag_msg))
    return RawMalformed(base, "inet_diag_msg needs " + std::to_string(sizeof(inet_diag_msg)) +
                                  " bytes, message has " + std::to_string(len));
  const auto msg = LoadRaw<inet_diag_msg>(data);
  RawSocketInfo s;
  if (msg.idiag_family == AF_INET) {
    s.family = RawSocketInfo::Family::kIpv4;
  } else if (msg.idiag_family == AF_INET6) {
    s.family = RawSocketInfo::Family::kIpv6;
  } else {
    return RawMalformed(base, "address family " + std::to_string(msg.idiag_family) + " is neither AF_INET nor AF_INET6");
  }
  s.type = RawSocketInfo::Type::kRaw;
  s.protocol = ntohs(msg.id.idiag_sport);  // the kernel's inet_num: the protocol, for raw sockets
  s.inode = msg.idiag_inode;
  s.uid = msg.idiag_uid;
  VIGIL_RETURN_IF_ERROR(ForEachAttribute(data, NLMSG_ALIGN(sizeof(inet_diag_msg)), len, base,
                                         [&](uint16_t type, const uint8_t* payload, size_t payload_len) {
                                           if (type == INET_DIAG_PROTOCOL && payload_len >= 1) s.protocol = payload[0];
                                         }));
  out->push_back(s);
  return Status::Ok();
}

Status ParsePacketSocket(const uint8_t* data, size_t len, size_t base, std::vector<RawSocketInfo>* out) {
  if (len < sizeof(packet_diag_msg))
    return RawMalformed(base, "packet_diag_msg needs " + std::to_string(sizeof(packet_diag_msg)) +
                                  " bytes, message has " + std::to_string(len));
  const auto msg = LoadRaw<packet_diag_msg>(data);
  if (msg.pdiag_family != AF_PACKET)
    return RawMalformed(base, "address family " + std::to_string(msg.pdiag_family) + " is not AF_PACKET");
  RawSocketInfo s;
  s.family = RawSocketInfo::Family::kPacket;
  s.type = msg.pdiag_type == SOCK_DGRAM ? RawSocketInfo::Type::kDgram : RawSocketInfo::Type::kRaw;
  s.protocol = msg.pdiag_num;  // host order already (packet_diag converts it)
  s.inode = msg.pdiag_ino;
  VIGIL_RETURN_IF_ERROR(ForEachAttribute(data, NLMSG_ALIGN(sizeof(packet_diag_msg)), len, base,
                                         [&](uint16_t type, const uint8_t* payload, size_t payload_len) {
                                           if (type == PACKET_DIAG_UID && payload_len >= sizeof(uint32_t))
                                             s.uid = LoadRaw<uint32_t>(payload);
                                         }));
  out->push_back(s);
  return Status::Ok();
}

// The whitespace-separated fields of one line.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

template <typename T>
bool ParseNumber(std::string_view text, int base, T* value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *value, base);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Calls fn(line) for each line after the header.
template <typename Fn>
void ForEachDataLine(std::string_view text, Fn&& fn) {
  bool header = true;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (header) {
      header = false;
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    fn(line);
  }
}

}  // namespace

std::vector<uint8_t> BuildRawRequest(uint8_t family, uint32_t seq) {
  struct {
    nlmsghdr nh;
    inet_diag_req_raw req;
  } msg{};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nh.nlmsg_seq = seq;
  msg.req.sdiag_family = family == 6 ? AF_INET6 : AF_INET;
  msg.req.sdiag_protocol = IPPROTO_RAW;
  msg.req.sdiag_raw_protocol = 0;
  msg.req.idiag_states = ~0u;
  std::vector<uint8_t> bytes(sizeof(msg));
  std::memcpy(bytes.data(), &msg, sizeof(msg));
  return bytes;
}

std::vector<uint8_t> BuildPacketRequest(uint32_t seq) {
  struct {
    nlmsghdr nh;
    packet_diag_req req;
  } msg{};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nh.nlmsg_seq = seq;
  msg.req.sdiag_family = AF_PACKET;
  msg.req.pdiag_show = PACKET_SHOW_INFO;  // PACKET_DIAG_UID comes with the info
  msg.req.pdiag_cookie[0] = ~0u;          // INET_DIAG_NOCOOKIE: any socket
  msg.req.pdiag_cookie[1] = ~0u;
  std::vector<uint8_t> bytes(sizeof(msg));
  std::memcpy(bytes.data(), &msg, sizeof(msg));
  return bytes;
}

Status ParseReply(std::span<const uint8_t> data, DumpKind kind, uint32_t seq, std::vector<RawSocketInfo>* out,
                  sockdiag::ParseOutcome* outcome) {
  return sockdiag::WalkDumpReply(data, seq, "raw socket diag", outcome,
                                 [&](const uint8_t* payload, size_t len, size_t offset) {
                                   return kind == DumpKind::kRawIp ? ParseRawIpSocket(payload, len, offset, out)
                                                                   : ParsePacketSocket(payload, len, offset, out);
                                 });
}

void ParseProcNetRaw(std::string_view text, RawSocketInfo::Family family, std::vector<RawSocketInfo>* out,
                     size_t* skipped) {
  ForEachDataLine(text, [&](std::string_view line) {
    const std::vector<std::string_view> f = Fields(line);
    RawSocketInfo s;
    s.family = family;
    s.type = RawSocketInfo::Type::kRaw;
    const size_t colon = f.size() > 1 ? f[1].rfind(':') : std::string_view::npos;
    uint32_t uid = 0;
    if (f.size() < 10 || colon == std::string_view::npos || !ParseNumber(f[1].substr(colon + 1), 16, &s.protocol) ||
        !ParseNumber(f[7], 10, &uid) || !ParseNumber(f[9], 10, &s.inode)) {
      ++*skipped;
      return;
    }
    s.uid = uid;
    out->push_back(s);
  });
}

void ParseProcNetPacket(std::string_view text, std::vector<RawSocketInfo>* out, size_t* skipped) {
  ForEachDataLine(text, [&](std::string_view line) {
    const std::vector<std::string_view> f = Fields(line);
    RawSocketInfo s;
    s.family = RawSocketInfo::Family::kPacket;
    int type = 0;
    uint32_t uid = 0;
    if (f.size() < 9 || !ParseNumber(f[2], 10, &type) || !ParseNumber(f[3], 16, &s.protocol) ||
        !ParseNumber(f[7], 10, &uid) || !ParseNumber(f[8], 10, &s.inode)) {
      ++*skipped;
      return;
    }
    s.type = type == SOCK_DGRAM ? RawSocketInfo::Type::kDgram : RawSocketInfo::Type::kRaw;
    s.uid = uid;
    out->push_back(s);
  });
}

namespace {

// NETLINK_SOCK_DIAG while the kernel has the handler for a kind, /proc/net after it said it
// has none (or when no netlink socket could be opened at all).
class RawDiagTable final : public RawSocketTable {
 public:
  RawDiagTable(int fd, Env& env, std::string proc_root)
      : fd_(fd), env_(env), proc_root_(std::move(proc_root)), buffer_(64 << 10) {
    raw_from_proc_ = packet_from_proc_ = fd_ < 0;
  }
  ~RawDiagTable() override {
    if (fd_ >= 0) close(fd_);
  }

  Status Dump(std::vector<RawSocketInfo>* out) override {
    out->clear();
    if (!raw_from_proc_) {
      Status st = DumpOne(DumpKind::kRawIp, 4, out);
      if (st.ok()) st = DumpOne(DumpKind::kRawIp, 6, out);
      if (st.code() == Status::Code::kUnavailable) {
        raw_from_proc_ = true;  // no raw_diag in this kernel: it will not appear later
        out->clear();
      } else if (!st.ok()) {
        return st;
      }
    }
    if (raw_from_proc_) {
      VIGIL_RETURN_IF_ERROR(ReadProc("raw", [&](const std::string& text, size_t* skipped) {
        ParseProcNetRaw(text, RawSocketInfo::Family::kIpv4, out, skipped);
      }));
      VIGIL_RETURN_IF_ERROR(ReadProc("raw6", [&](const std::string& text, size_t* skipped) {
        ParseProcNetRaw(text, RawSocketInfo::Family::kIpv6, out, skipped);
      }));
    }
    const size_t keep = out->size();
    if (!packet_from_proc_) {
      Status st = DumpOne(DumpKind::kPacket, 0, out);
      if (st.code() == Status::Code::kUnavailable) {
        packet_from_proc_ = true;
        out->resize(keep);
      } else if (!st.ok()) {
        return st;
      }
    }
    if (packet_from_proc_) {
      VIGIL_RETURN_IF_ERROR(ReadProc("packet", [&](const std::string& text, size_t* skipped) {
        ParseProcNetPacket(text, out, skipped);
      }));
    }
    return Status::Ok();
  }

  std::string source() const override {
    return std::string("raw:") + (raw_from_proc_ ? "proc" : "sock_diag") + ",packet:" +
           (packet_from_proc_ ? "proc" : "sock_diag");
  }

 private:
  // /proc/net/<name>; a missing file is a kernel without that protocol (no IPv6, no
  // AF_PACKET): no sockets of it.
  template <typename Fn>
  Status ReadProc(const char* name, Fn&& parse) {
    auto text = env_.ReadFile(proc_root_ + "/net/" + name, 4 << 20);
    if (!text.ok()) return text.status().code() == Status::Code::kNotFound ? Status::Ok() : text.status();
    size_t skipped = 0;
    parse(*text, &skipped);
    return Status::Ok();
  }

  // One dump; retried once from the start when the kernel says the table changed under it.
  Status DumpOne(DumpKind kind, uint8_t family, std::vector<RawSocketInfo>* out) {
    const size_t keep = out->size();
    for (int attempt = 0;; ++attempt) {
      sockdiag::ParseOutcome outcome;
      VIGIL_RETURN_IF_ERROR(RunDump(kind, family, out, &outcome));
      if (!outcome.interrupted || attempt == 1) return Status::Ok();
      out->resize(keep);
    }
  }

  Status RunDump(DumpKind kind, uint8_t family, std::vector<RawSocketInfo>* out, sockdiag::ParseOutcome* outcome) {
    const uint32_t seq = ++seq_;
    const std::vector<uint8_t> req = kind == DumpKind::kRawIp ? BuildRawRequest(family, seq) : BuildPacketRequest(seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
      return Status::IoError(std::string("raw socket diag: send: ") + std::strerror(errno));
    while (!outcome->done) {
      sockaddr_nl from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = recvfrom(fd_, buffer_.data(), buffer_.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          return Status::IoError("raw socket diag: no reply from the kernel in 5 s");
        return Status::IoError(std::string("raw socket diag: receive: ") + std::strerror(errno));
      }
      if (from.nl_pid != 0) continue;  // only the kernel answers dumps
      VIGIL_RETURN_IF_ERROR(
          ParseReply(std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n)), kind, seq, out, outcome));
    }
    return Status::Ok();
  }

  const int fd_;
  Env& env_;
  const std::string proc_root_;
  bool raw_from_proc_ = false;
  bool packet_from_proc_ = false;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buffer_;
};

}  // namespace

}  // namespace vigil::rawdiag

namespace vigil {

Result<std::unique_ptr<RawSocketTable>> OpenRawSocketTable(Env& env, std::string proc_root) {
  // Without a netlink socket, /proc/net alone (a kernel without sock_diag).
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd >= 0) {
    // A dump is answered at once; a kernel that does not answer must not hang the caller.
    timeval tv{};
    tv.tv_sec = 5;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  auto table = std::make_unique<rawdiag::RawDiagTable>(fd, env, std::move(proc_root));
  std::vector<RawSocketInfo> probe;
  if (Status st = table->Dump(&probe); !st.ok())
    return Status::Unavailable("raw sockets: cannot be listed: " + st.ToString());
  return std::unique_ptr<RawSocketTable>(std::move(table));
}

}  // namespace vigil
