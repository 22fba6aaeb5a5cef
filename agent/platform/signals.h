// Process-level OS services for the agent's main thread: signals and the terminal.
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

}  // namespace vigil
