// The netlink proc connector (NETLINK_CONNECTOR, group CN_IDX_PROC): the kernel's stream of
// process notifications, as a ProcessSource.
//
// Two subscribed sockets (both: socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR), receive
// buffer raised with SO_RCVBUFFORCE, or SO_RCVBUF when that is refused, bound to group
// CN_IDX_PROC, PROC_CN_MCAST_LISTEN sent and its acknowledgement awaited; the kernel accepts
// it only from CAP_NET_ADMIN in the initial user and pid namespaces and says so in the
// acknowledgement, or does not answer at all from other namespaces). Each has a classic BPF
// socket filter, so the kernel drops what it does not need before it is queued:
//   exec channel  execs. The receive thread sleeps on it and wakes at once, since the
//                 /proc files of a short process vanish within a millisecond.
//   lazy channel  forks of processes (not threads), exits of thread group leaders, uid
//                 changes. Read only when the thread is awake anyway, or every 50 ms while
//                 they keep coming, so a fork+exec+exit costs one wake-up instead of three.
// The two are merged in kernel timestamp order without breaking cause and effect (a process's
// fork before its exec, its exec before its exit): see TakeProcEventsBefore and the comment on
// ProcConnectorSource in the .cpp. On close each socket sends PROC_CN_MCAST_IGNORE (older
// kernels count listeners).
//
// Receiving: one blocking recvmmsg(2) (MSG_WAITFORONE, SO_RCVTIMEO as the timeout) per
// wake-up takes up to 64 datagrams; more rounds without blocking while the queue is full.
// Interrupt wakes a blocked Read by sending a datagram to the exec socket's own port, which
// Read ignores (only the kernel's are parsed). ENOBUFS means the kernel dropped notifications
// because a socket buffer was full: it is reported as one overrun, and reading goes on.
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

// Moves the notifications stamped before `before_ns` (ProcEvent::ts_ns) out of *a and *b and
// appends them to *out in timestamp order (on a tie, *a's first, each list's own order kept);
// the later ones stay where they were, in order.
void TakeProcEventsBefore(uint64_t before_ns, std::vector<ProcEvent>* a, std::vector<ProcEvent>* b,
                          std::vector<ProcEvent>* out);

}  // namespace vigil
