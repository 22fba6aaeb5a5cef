// eBPF event sources: process and connection activity captured in the kernel by eBPF programs
// (CO-RE, libbpf), read from a ring buffer. Preferred over the netlink connector, /proc
// polling and sock_diag polling where the kernel allows them.
//
// Built only when VIGIL_WITH_EBPF is ON (platform/linux/ebpf/); otherwise both functions
// return Unavailable, and collectors fall back to their other sources.
#pragma once

#include <cstddef>
#include <memory>

#include "agent/core/status.h"
#include "agent/platform/connection_source.h"
#include "agent/platform/process_source.h"

namespace vigil {

struct EbpfOptions {
  // Size of the ring buffer the kernel side writes into (a power of two, at least 4096).
  size_t ring_buffer_bytes = 256 << 10;
};

// Loads and attaches the programs. Unavailable when compiled out or when the kernel lacks
// BTF or the attach points; PermissionDenied without CAP_BPF/CAP_SYS_ADMIN.
Result<std::unique_ptr<ConnectionSource>> OpenEbpfConnectionSource(const EbpfOptions& options);
Result<std::unique_ptr<ProcessSource>> OpenEbpfProcessSource(const EbpfOptions& options);

}  // namespace vigil
