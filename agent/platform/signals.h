// Process-level OS services for the agent: signals and the terminal (main thread), and the C
// library's allocator.
// Implementation: platform/linux/signals_linux.cpp.
#pragma once

namespace vigil {

enum class AgentSignal { kNone, kStop, kReload };

// Blocks SIGTERM, SIGINT and SIGHUP. Call in main before any thread starts, so that every
// thread inherits the mask and only WaitForAgentSignal receives them. Ignores SIGPIPE.
void BlockAgentSignals();

// Waits up to timeout_ms for SIGTERM/SIGINT (kStop) or SIGHUP (kReload).
AgentSignal WaitForAgentSignal(int timeout_ms);

bool StdoutIsTerminal();
bool StderrIsTerminal();

// Keeps the C library's allocator small for a long-running agent: one malloc arena instead of
// one per thread (glibc), and freed memory returned to the kernel sooner. A no-op elsewhere.
void TuneAllocatorForSmallFootprint();

// Gives the kernel back the free pages the allocator still holds anywhere in the heap (glibc's
// malloc_trim; a no-op elsewhere: musl returns them by itself). Freed memory below the top
// of the heap otherwise stays resident: starting the collectors (libbpf parsing the kernel's
// BTF for each eBPF program, package databases read) leaves megabytes of it. Cheap enough to
// run every minute.
void ReturnFreeMemory();

}  // namespace vigil
