#include "agent/platform/linux/sock_diag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

namespace vigil::sockdiag {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

Status Malformed(size_t offset, const std::string& what) {
  return Status::InvalidArgument("sock_diag reply, offset " + std::to_string(offset) + ": " + what);
}

constexpr size_t kTcpBytesAckedOffset = offsetof(tcp_info, tcpi_bytes_acked);
constexpr size_t kTcpBytesReceivedOffset = offsetof(tcp_info, tcpi_bytes_received);

// One SOCK_DIAG_BY_FAMILY payload (inet_diag_msg and its attributes) at data[0, len).
Status ParseSocket(const uint8_t* data, size_t len, size_t base, ConnectionRecord::Protocol protocol,
                   std::vector<SocketInfo>* out) {
  if (len < sizeof(inet_diag_msg))
    return Malformed(base, "inet_diag_msg needs " + std::to_string(sizeof(inet_diag_msg)) + " bytes, message has " +
                               std::to_string(len));
  const auto msg = Load<inet_diag_msg>(data);
  SocketInfo s;
  s.protocol = protocol;
  if (msg.idiag_family == AF_INET) {
    s.family = 4;
  } else if (msg.idiag_family == AF_INET6) {
    s.family = 6;
  } else {
    return Malformed(base, "address family " + std::to_string(msg.idiag_family) + " is neither AF_INET nor AF_INET6");
  }
  s.state = static_cast<SocketState>(msg.idiag_state);
  const size_t addr_len = s.family == 4 ? 4 : 16;
  std::memcpy(s.local.addr.data(), msg.id.idiag_src, addr_len);
  std::memcpy(s.remote.addr.data(), msg.id.idiag_dst, addr_len);
  s.local.port = ntohs(msg.id.idiag_sport);
  s.remote.port = ntohs(msg.id.idiag_dport);
  s.inode = msg.idiag_inode;
  s.uid = msg.idiag_uid;
  s.cookie = uint64_t{msg.id.idiag_cookie[0]} | (uint64_t{msg.id.idiag_cookie[1]} << 32);

  size_t off = NLMSG_ALIGN(sizeof(inet_diag_msg));
  while (off + sizeof(rtattr) <= len) {
    const auto rta = Load<rtattr>(data + off);
    if (rta.rta_len < sizeof(rtattr) || rta.rta_len > len - off)
      return Malformed(base + off, "attribute length " + std::to_string(rta.rta_len) + " outside its message");
    const uint8_t* payload = data + off + RTA_LENGTH(0);
    const size_t payload_len = rta.rta_len - RTA_LENGTH(0);
    if (rta.rta_type == INET_DIAG_INFO && protocol == ConnectionRecord::Protocol::kTcp &&
        payload_len >= kTcpBytesReceivedOffset + sizeof(uint64_t)) {
      s.bytes_known = true;
      s.bytes_out = Load<uint64_t>(payload + kTcpBytesAckedOffset);
      s.bytes_in = Load<uint64_t>(payload + kTcpBytesReceivedOffset);
    }
    off += RTA_ALIGN(rta.rta_len);
  }
  out->push_back(s);
  return Status::Ok();
}

}  // namespace

std::vector<uint8_t> BuildRequest(uint8_t family, ConnectionRecord::Protocol protocol, uint32_t states, bool tcp_info,
                                  uint32_t seq) {
  struct {
    nlmsghdr nh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.nh.nlmsg_seq = seq;
  msg.req.sdiag_family = family == 6 ? AF_INET6 : AF_INET;
  msg.req.sdiag_protocol = static_cast<uint8_t>(protocol);
  msg.req.idiag_states = states;
  if (tcp_info) msg.req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
  std::vector<uint8_t> bytes(sizeof(msg));
  std::memcpy(bytes.data(), &msg, sizeof(msg));
  return bytes;
}

Status WalkDumpReply(std::span<const uint8_t> data, uint32_t seq, std::string_view source, ParseOutcome* outcome,
                     const SocketMessage& on_socket) {
  const std::string name(source);
  auto malformed = [&](size_t offset, const std::string& what) {
    return Status::InvalidArgument(name + " reply, offset " + std::to_string(offset) + ": " + what);
  };
  auto kernel_error = [&](int error, const char* where) {
    const long e = error < 0 ? -static_cast<long>(error) : error;  // INT_MIN has no int negation
    std::string msg = name + ": " + where + ": " + std::strerror(static_cast<int>(e));
    if (e == ENOENT || e == EOPNOTSUPP) return Status::Unavailable(msg);
    if (e == EPERM || e == EACCES) return Status::PermissionDenied(msg);
    return Status::IoError(msg);
  };
  size_t off = 0;
  while (off < data.size()) {
    if (data.size() - off < sizeof(nlmsghdr))
      return malformed(off, std::to_string(data.size() - off) + " bytes left, less than a netlink header");
    const auto nh = Load<nlmsghdr>(data.data() + off);
    if (nh.nlmsg_len < sizeof(nlmsghdr) || nh.nlmsg_len > data.size() - off)
      return malformed(off, "message length " + std::to_string(nh.nlmsg_len) + " outside the datagram of " +
                                std::to_string(data.size()) + " bytes");
    const uint8_t* payload = data.data() + off + NLMSG_HDRLEN;
    const size_t payload_len = nh.nlmsg_len - NLMSG_HDRLEN;
    if (nh.nlmsg_seq == seq) {
      if ((nh.nlmsg_flags & NLM_F_DUMP_INTR) != 0) outcome->interrupted = true;
      if (nh.nlmsg_type == NLMSG_DONE) {
        outcome->done = true;
        if (payload_len >= sizeof(int)) {
          const int err = Load<int>(payload);
          if (err < 0) return kernel_error(err, "dump ended with an error");
        }
        return Status::Ok();
      }
      if (nh.nlmsg_type == NLMSG_ERROR) {
        if (payload_len < sizeof(int)) return malformed(off, "NLMSG_ERROR without an error code");
        const int err = Load<int>(payload);
        if (err == 0) {  // an acknowledgement
          off += NLMSG_ALIGN(nh.nlmsg_len);
          continue;
        }
        outcome->done = true;
        return kernel_error(err, "request refused");
      }
      if (nh.nlmsg_type == SOCK_DIAG_BY_FAMILY) VIGIL_RETURN_IF_ERROR(on_socket(payload, payload_len, off + NLMSG_HDRLEN));
    }
    off += NLMSG_ALIGN(nh.nlmsg_len);
  }
  return Status::Ok();
}

Status ParseReply(std::span<const uint8_t> data, ConnectionRecord::Protocol protocol, uint32_t seq,
                  std::vector<SocketInfo>* out, ParseOutcome* outcome) {
  return WalkDumpReply(data, seq, "sock_diag", outcome, [&](const uint8_t* payload, size_t len, size_t offset) {
    return ParseSocket(payload, len, offset, protocol, out);
  });
}

namespace {

class SockDiagTable final : public SocketTable {
 public:
  explicit SockDiagTable(int fd) : fd_(fd), buffer_(64 << 10) {}
  ~SockDiagTable() override { close(fd_); }

  Status Dump(const SocketQuery& query, std::vector<SocketInfo>* out) override {
    out->clear();
    for (uint8_t family : {uint8_t{4}, uint8_t{6}}) {
      if (query.tcp_states != 0)
        VIGIL_RETURN_IF_ERROR(
            DumpOne(family, ConnectionRecord::Protocol::kTcp, query.tcp_states, query.tcp_bytes, out));
      if (query.udp) VIGIL_RETURN_IF_ERROR(DumpOne(family, ConnectionRecord::Protocol::kUdp, 0xffffffffu, false, out));
    }
    return Status::Ok();
  }

 private:
  // One dump; retried once from the start when the kernel says the table changed under it.
  Status DumpOne(uint8_t family, ConnectionRecord::Protocol protocol, uint32_t states, bool tcp_info,
                 std::vector<SocketInfo>* out) {
    const size_t keep = out->size();
    for (int attempt = 0;; ++attempt) {
      ParseOutcome outcome;
      VIGIL_RETURN_IF_ERROR(RunDump(family, protocol, states, tcp_info, out, &outcome));
      if (!outcome.interrupted || attempt == 1) return Status::Ok();
      out->resize(keep);
    }
  }

  Status RunDump(uint8_t family, ConnectionRecord::Protocol protocol, uint32_t states, bool tcp_info,
                 std::vector<SocketInfo>* out, ParseOutcome* outcome) {
    const uint32_t seq = ++seq_;
    const std::vector<uint8_t> req = BuildRequest(family, protocol, states, tcp_info, seq);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0)
      return Status::IoError(std::string("sock_diag: send: ") + std::strerror(errno));
    while (!outcome->done) {
      sockaddr_nl from{};
      socklen_t from_len = sizeof(from);
      const ssize_t n = recvfrom(fd_, buffer_.data(), buffer_.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          return Status::IoError("sock_diag: no reply from the kernel in 5 s");
        return Status::IoError(std::string("sock_diag: receive: ") + std::strerror(errno));
      }
      if (from.nl_pid != 0) continue;  // only the kernel answers dumps
      VIGIL_RETURN_IF_ERROR(
          ParseReply(std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n)), protocol, seq, out, outcome));
    }
    return Status::Ok();
  }

  const int fd_;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buffer_;
};

}  // namespace

}  // namespace vigil::sockdiag

namespace vigil {

Result<std::unique_ptr<SocketTable>> OpenSocketTable() {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) {
    const int e = errno;
    const std::string msg = std::string("sock_diag: cannot open a NETLINK_SOCK_DIAG socket: ") + std::strerror(e);
    if (e == EPROTONOSUPPORT || e == EAFNOSUPPORT) return Status::Unavailable(msg);
    if (e == EPERM || e == EACCES) return Status::PermissionDenied(msg);
    return Status::IoError(msg);
  }
  // A dump is answered at once; a kernel that does not answer must not hang the caller.
  timeval tv{};
  tv.tv_sec = 5;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return std::unique_ptr<SocketTable>(std::make_unique<sockdiag::SockDiagTable>(fd));
}

}  // namespace vigil
