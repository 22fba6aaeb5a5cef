// The eBPF sources of a build without VIGIL_WITH_EBPF: always Unavailable.
#include "agent/platform/ebpf.h"

namespace vigil {

Result<std::unique_ptr<ConnectionSource>> OpenEbpfConnectionSource(const EbpfOptions&) {
  return Status::Unavailable("eBPF support is not compiled into this build (VIGIL_WITH_EBPF=OFF)");
}

Result<std::unique_ptr<ProcessSource>> OpenEbpfProcessSource(const EbpfOptions&) {
  return Status::Unavailable("eBPF support is not compiled into this build (VIGIL_WITH_EBPF=OFF)");
}

}  // namespace vigil
