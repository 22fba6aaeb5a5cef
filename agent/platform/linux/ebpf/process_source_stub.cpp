#include "agent/platform/ebpf.h"

namespace vigil {

Result<std::unique_ptr<ProcessSource>> OpenEbpfProcessSource(const EbpfOptions&) {
  return Status::Unavailable("eBPF process source: not written yet");
}

}  // namespace vigil
