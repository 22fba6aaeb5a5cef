// Decoding of the records the eBPF programs write into their ring buffers (layouts in
// records.h and README.md) into the platform's ConnectionRecord and ProcEvent.
//
// The bytes come from the kernel, but are still checked as outside data: a record whose
// type, size, kind, family or string lengths do not match the layout is refused with
// InvalidArgument naming the field, never read past its end.
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <span>

#include "agent/core/status.h"
#include "agent/platform/connection_source.h"
#include "agent/platform/process_source.h"

namespace vigil::ebpf {

// One record of the connection programs (struct vigil_conn_rec).
Result<ConnectionRecord> DecodeConnectionRecord(std::span<const uint8_t> record);

// One record of the process programs (struct vigil_proc_rec and its strings). The event has
// from_kernel set.
Result<ProcEvent> DecodeProcRecord(std::span<const uint8_t> record);

}  // namespace vigil::ebpf
