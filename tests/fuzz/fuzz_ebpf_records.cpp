// Fuzzes the decoder of the eBPF ring-buffer records (agent/platform/linux/ebpf/decode.h):
// no input may crash it or make it read past the record, and what it accepts keeps the
// documented limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/platform/linux/ebpf/decode.h"
#include "agent/platform/linux/ebpf/records.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);

  if (auto rec = vigil::ebpf::DecodeConnectionRecord(in); rec.ok()) {
    Check(size == sizeof(vigil_conn_rec));
    Check(rec->family == 4 || rec->family == 6);
    Check(rec->comm.size() <= 16);
    Check(rec->pid == -1 || rec->pid > 0);
    if (!rec->bytes_known) Check(rec->bytes_in == 0 && rec->bytes_out == 0);
    if (rec->family == 4) {
      for (size_t i = 4; i < 16; ++i) Check(rec->local.addr[i] == 0 && rec->remote.addr[i] == 0);
    }
  }

  if (auto ev = vigil::ebpf::DecodeProcRecord(in); ev.ok()) {
    Check(ev->from_kernel);
    Check(ev->pid > 0);
    Check(ev->ppid == -1 || ev->ppid > 0);
    Check(ev->comm.size() <= 16);
    Check(ev->filename.size() <= VIGIL_PROC_FILENAME_MAX);
    Check(ev->args.size() <= VIGIL_PROC_ARGS_MAX);
    Check(ev->exe.size() <= VIGIL_PROC_PATH_MAX && ev->cwd.size() <= VIGIL_PROC_PATH_MAX);
    Check(sizeof(vigil_proc_rec) + ev->filename.size() + ev->args.size() + ev->exe.size() + ev->cwd.size() == size);
    if (ev->kind != vigil::ProcEvent::Kind::kExec) {
      Check(ev->filename.empty() && ev->args.empty() && ev->exe.empty() && ev->cwd.empty());
    }
    if (ev->kind != vigil::ProcEvent::Kind::kExit) Check(ev->exit_status == -1);
  }
  return 0;
}
