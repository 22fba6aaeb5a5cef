// The netlink proc connector (NETLINK_CONNECTOR, group CN_IDX_PROC): the kernel's stream of
// process notifications, as a ProcessSource.
//
// Set-up (OpenKernelProcessSource in process_source.h):
//   socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR), receive buffer raised with
//   SO_RCVBUFFORCE (SO_RCVBUF when that is refused), a classic BPF socket filter that keeps only
//   process forks, execs, exits of thread group leaders and uid changes (so thread churn never
//   wakes the agent), bind to group CN_IDX_PROC, then PROC_CN_MCAST_LISTEN. The kernel accepts
//   the subscription only from CAP_NET_ADMIN in the initial user and pid namespaces.
//   On close the source sends PROC_CN_MCAST_IGNORE (older kernels count listeners).
//
// Receiving: poll(2) on the socket and an eventfd (Interrupt), then recvmmsg(2) in batches
// until the queue is empty. ENOBUFS means the kernel dropped notifications because the socket
// buffer was full: it is reported as one overrun, and reading goes on.
//
// Messages are accepted only from the kernel (sender port 0) and only with the connector id
// {CN_IDX_PROC, CN_VAL_PROC}; everything is parsed with bounds checks (see
// ParseProcConnectorDatagram), since a malformed message must not crash the agent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/platform/process_source.h"

namespace vigil {

// Parses one received datagram (one or more netlink messages, each an nlmsghdr, a cn_msg and a
// struct proc_event) and appends the process-level notifications it holds to *out. Thread
// forks and thread exits, other event kinds, foreign connector ids and truncated or
// malformed messages are skipped. Returns the number of notifications appended.
size_t ParseProcConnectorDatagram(const uint8_t* data, size_t size, std::vector<ProcEvent>* out);

}  // namespace vigil
