// The eBPF ProcessSource: loads proc.bpf.c (its skeleton, vigil_proc.skel.h), attaches its
// three raw tracepoints and reads the ring buffer.
#include <bpf/libbpf.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/platform/ebpf.h"
#include "agent/platform/linux/ebpf/decode.h"
#include "agent/platform/linux/ebpf/elf_bytes.h"
#include "agent/platform/linux/ebpf/loader.h"
#include "vigil_proc.skel.h"

namespace vigil {
namespace {

class EbpfProcessSource final : public ProcessSource {
 public:
  ~EbpfProcessSource() override {
    reader_.reset();
    for (bpf_link* link : links_) bpf_link__destroy(link);
    vigil_proc__destroy(skel_);
  }

  Status Open(const EbpfOptions& options) {
    Result<size_t> ring_bytes = ebpf::RingBufferSize(options.ring_buffer_bytes);
    if (!ring_bytes.ok()) return ring_bytes.status();
    const ebpf::ElfBytesScope object(ebpf::VigilProcObject());  // libbpf is done with it after the load
    skel_ = vigil_proc__open();
    if (skel_ == nullptr) {
      return Status::Unavailable(std::string("eBPF: opening the process programs: ") + std::strerror(errno));
    }
    bpf_map__set_max_entries(skel_->maps.events, static_cast<uint32_t>(*ring_bytes));
    VIGIL_RETURN_IF_ERROR(ebpf::LoadWithLog("process programs", [this] { return vigil_proc__load(skel_); }));
    // Exits and forks before execs: an exec is never reported for a process whose exit
    // could then be missed.
    VIGIL_RETURN_IF_ERROR(Attach(skel_->progs.vigil_exit, "raw tracepoint sched_process_exit"));
    VIGIL_RETURN_IF_ERROR(Attach(skel_->progs.vigil_fork, "raw tracepoint sched_process_fork"));
    VIGIL_RETURN_IF_ERROR(Attach(skel_->progs.vigil_exec, "raw tracepoint sched_process_exec"));
    Result<std::unique_ptr<ebpf::RingReader>> reader =
        ebpf::RingReader::Open(bpf_map__fd(skel_->maps.events), bpf_map__fd(skel_->maps.lost));
    if (!reader.ok()) return reader.status();
    reader_ = std::move(*reader);
    spdlog::info("ebpf: process source attached (fork, exec, exit)");
    return Status::Ok();
  }

  std::string_view name() const override { return "ebpf"; }

  Status Read(int timeout_ms, std::vector<ProcEvent>* out, uint64_t* overruns) override {
    const ebpf::RingReader::Sink sink = [&](std::span<const uint8_t> bytes) {
      Result<ProcEvent> ev = ebpf::DecodeProcRecord(bytes);
      if (ev.ok()) {
        out->push_back(std::move(*ev));
      } else {
        ++*overruns;  // cannot happen with matching programs; counted rather than hidden
        spdlog::debug("ebpf: {}", ev.status().message());
      }
    };
    return reader_->Poll(timeout_ms, sink, overruns);
  }

  void Interrupt() override { reader_->Interrupt(); }

 private:
  Status Attach(bpf_program* prog, const std::string& what) {
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) return ebpf::AttachError(what, errno);
    links_.push_back(link);
    return Status::Ok();
  }

  vigil_proc* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::unique_ptr<ebpf::RingReader> reader_;
};

}  // namespace

Result<std::unique_ptr<ProcessSource>> OpenEbpfProcessSource(const EbpfOptions& options) {
  auto source = std::make_unique<EbpfProcessSource>();
  VIGIL_RETURN_IF_ERROR(source->Open(options));
  return std::unique_ptr<ProcessSource>(std::move(source));
}

}  // namespace vigil
