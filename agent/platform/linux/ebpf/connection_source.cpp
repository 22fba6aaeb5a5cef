// The eBPF ConnectionSource: loads conn.bpf.c (its skeleton, vigil_conn.skel.h), attaches
// what this kernel offers and reads the ring buffer. What is attached, and what a kernel
// without some of it loses, is in README.md.
#include <bpf/libbpf.h>
#include <sys/random.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/platform/ebpf.h"
#include "agent/platform/linux/ebpf/decode.h"
#include "agent/platform/linux/ebpf/elf_bytes.h"
#include "agent/platform/linux/ebpf/loader.h"
#include "vigil_conn.skel.h"

namespace vigil {
namespace {

using ebpf::AttachError;

class EbpfConnectionSource final : public ConnectionSource {
 public:
  ~EbpfConnectionSource() override {
    reader_.reset();
    for (bpf_link* link : links_) bpf_link__destroy(link);
    if (cgroup_fd_ >= 0) close(cgroup_fd_);
    vigil_conn__destroy(skel_);
  }

  Status Open(const EbpfOptions& options) {
    Result<size_t> ring_bytes = ebpf::RingBufferSize(options.ring_buffer_bytes);
    if (!ring_bytes.ok()) return ring_bytes.status();

    // The UDP programs need Linux 6.1 (process helpers in cgroup programs); without them the
    // TCP part still loads.
    Status loaded = Load(*ring_bytes, /*with_udp=*/true);
    if (!loaded.ok() && loaded.code() != Status::Code::kPermissionDenied) {
      Status tcp_only = Load(*ring_bytes, /*with_udp=*/false);
      if (tcp_only.ok()) notes_.push_back("no UDP (" + std::string(loaded.message()) + ")");
      loaded = std::move(tcp_only);
    }
    VIGIL_RETURN_IF_ERROR(loaded);

    AttachAccept();
    if (with_udp_) AttachUdp();
    // Last, so that everything the TCP program relies on is in place when it starts.
    VIGIL_RETURN_IF_ERROR(Attach(skel_->progs.vigil_tcp_state, "raw tracepoint inet_sock_set_state"));

    Result<std::unique_ptr<ebpf::RingReader>> reader =
        ebpf::RingReader::Open(bpf_map__fd(skel_->maps.events), bpf_map__fd(skel_->maps.lost));
    if (!reader.ok()) return reader.status();
    reader_ = std::move(*reader);

    std::string summary;
    for (const std::string& n : notes_) summary += "; " + n;
    spdlog::info("ebpf: connection source attached (TCP{}{}){}", skel_->bss->accept_hooked ? ", accepting process" : "",
                 with_udp_ ? (skel_->bss->udp_bytes_hooked ? ", UDP with bytes" : ", UDP") : "", summary);
    return Status::Ok();
  }

  std::string_view name() const override { return "ebpf"; }

  Status Read(int timeout_ms, std::vector<ConnectionRecord>* out, uint64_t* lost) override {
    const ebpf::RingReader::Sink sink = [&](std::span<const uint8_t> bytes) {
      Result<ConnectionRecord> rec = ebpf::DecodeConnectionRecord(bytes);
      if (rec.ok()) {
        out->push_back(std::move(*rec));
      } else {
        ++*lost;  // cannot happen with matching programs; counted rather than hidden
        spdlog::debug("ebpf: {}", rec.status().message());
      }
    };
    return reader_->Poll(timeout_ms, sink, lost);
  }

  void Interrupt() override { reader_->Interrupt(); }

 private:
  std::vector<bpf_program*> UdpPrograms() const {
    auto& p = skel_->progs;
    return {p.vigil_udp_connect4, p.vigil_udp_connect6, p.vigil_udp_sendmsg4, p.vigil_udp_sendmsg6,
            p.vigil_udp_recvmsg4, p.vigil_udp_recvmsg6, p.vigil_udp_bind4,    p.vigil_udp_bind6,
            p.vigil_udp_create,   p.vigil_udp_release,  p.vigil_udp_sent,     p.vigil_udp_received};
  }

  Status Load(size_t ring_bytes, bool with_udp) {
    if (skel_ != nullptr) vigil_conn__destroy(skel_);
    const ebpf::ElfBytesScope object(ebpf::VigilConnObject());  // libbpf is done with it after the load
    skel_ = vigil_conn__open();
    if (skel_ == nullptr)
      return Status::Unavailable(std::string("eBPF: opening the connection programs: ") + std::strerror(errno));
    bpf_map__set_max_entries(skel_->maps.events, static_cast<uint32_t>(ring_bytes));
    uint64_t secret = 0;
    if (getrandom(&secret, sizeof(secret), 0) != sizeof(secret))
      secret = static_cast<uint64_t>(getpid()) * 0x2545F4914F6CDD1DULL;
    skel_->rodata->id_secret = secret;
    if (!with_udp) {
      for (bpf_program* p : UdpPrograms()) bpf_program__set_autoload(p, false);
    }
    with_udp_ = with_udp;
    return ebpf::LoadWithLog("connection programs", [this] { return vigil_conn__load(skel_); });
  }

  Status Attach(bpf_program* prog, const std::string& what) {
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) return AttachError(what, errno);
    links_.push_back(link);
    return Status::Ok();
  }

  // accept(2) and accept4(2) name the accepting process. Without them (no syscall
  // tracepoints) accepts are still reported, at the end of the handshake, with no process.
  void AttachAccept() {
    if (Status st = ebpf::EnsureTracefs(); !st.ok()) {
      notes_.push_back("accepts without their process (" + std::string(st.message()) + ")");
      return;
    }
    Status accept4 = Attach(skel_->progs.vigil_accept4_exit, "tracepoint syscalls:sys_exit_accept4");
    // Not every architecture has accept(2) besides accept4(2).
    Status accept = Attach(skel_->progs.vigil_accept_exit, "tracepoint syscalls:sys_exit_accept");
    if (accept4.ok()) {
      skel_->bss->accept_hooked = 1;
    } else {
      notes_.push_back("accepts without their process (" + std::string(accept4.message()) + ")");
    }
    (void)accept;
  }

  // The UDP programs, on the root of the cgroup v2 hierarchy (so for every process). All or
  // none: a partial set would report opens without closes.
  void AttachUdp() {
    Result<int> cgroup = ebpf::OpenCgroup2Root();
    if (!cgroup.ok()) {
      notes_.push_back("no UDP (" + std::string(cgroup.status().message()) + ")");
      with_udp_ = false;
      return;
    }
    cgroup_fd_ = *cgroup;
    const size_t first = links_.size();
    auto& p = skel_->progs;
    for (bpf_program* prog : {p.vigil_udp_create, p.vigil_udp_release, p.vigil_udp_bind4, p.vigil_udp_bind6,
                              p.vigil_udp_connect4, p.vigil_udp_connect6, p.vigil_udp_sendmsg4, p.vigil_udp_sendmsg6,
                              p.vigil_udp_recvmsg4, p.vigil_udp_recvmsg6}) {
      bpf_link* link = bpf_program__attach_cgroup(prog, cgroup_fd_);
      if (link == nullptr) {
        const Status st = AttachError(std::string("cgroup hook ") + bpf_program__section_name(prog), errno);
        while (links_.size() > first) {
          bpf_link__destroy(links_.back());
          links_.pop_back();
        }
        notes_.push_back("no UDP (" + std::string(st.message()) + ")");
        with_udp_ = false;
        return;
      }
      links_.push_back(link);
    }
    // Byte counts need the sock_send_length/sock_recv_length tracepoints (Linux 6.3).
    const size_t counted = links_.size();
    Status sent = Attach(p.vigil_udp_sent, "raw tracepoint sock_send_length");
    Status received = sent.ok() ? Attach(p.vigil_udp_received, "raw tracepoint sock_recv_length") : sent;
    if (sent.ok() && received.ok()) {
      skel_->bss->udp_bytes_hooked = 1;
    } else {
      while (links_.size() > counted) {
        bpf_link__destroy(links_.back());
        links_.pop_back();
      }
      notes_.push_back("UDP without byte counts (" + std::string(received.message()) + ")");
    }
  }

  vigil_conn* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  int cgroup_fd_ = -1;
  bool with_udp_ = false;
  std::vector<std::string> notes_;  // what this kernel does not offer, for the log
  std::unique_ptr<ebpf::RingReader> reader_;
};

}  // namespace

Result<std::unique_ptr<ConnectionSource>> OpenEbpfConnectionSource(const EbpfOptions& options) {
  auto source = std::make_unique<EbpfConnectionSource>();
  VIGIL_RETURN_IF_ERROR(source->Open(options));
  return std::unique_ptr<ConnectionSource>(std::move(source));
}

}  // namespace vigil
