/* The records the eBPF programs write into their ring buffers, shared by the kernel side
 * (*.bpf.c, C compiled for the BPF target) and the decoder (decode.cpp). Plain C, fixed-width
 * fields in their natural alignment, no implicit padding: the layout is the same on both
 * sides of one machine. Integers are in the host's byte order except where a field says
 * otherwise. README.md beside this file draws the layouts out with offsets.
 *
 * Every record starts with `type` and `size` (the whole record, in bytes). The decoder rejects
 * a record whose type, size or lengths are not what this file says. */
#ifndef VIGIL_AGENT_PLATFORM_LINUX_EBPF_RECORDS_H_
#define VIGIL_AGENT_PLATFORM_LINUX_EBPF_RECORDS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

enum vigil_record_type {
  VIGIL_REC_CONN = 1, /* struct vigil_conn_rec */
  VIGIL_REC_PROC = 2, /* struct vigil_proc_rec followed by its strings */
};

/* ---- Connections (conn.bpf.c) ---- */

enum vigil_conn_kind {
  VIGIL_CONN_CONNECT = 0, /* TCP connection established by this host (or its attempt failed);
                             UDP: first datagram to a peer, or connect(2) of the socket */
  VIGIL_CONN_ACCEPT = 1,  /* TCP connection accepted; UDP: first datagram from a peer */
  VIGIL_CONN_LISTEN = 2,  /* TCP listen(2); UDP bind(2) */
  VIGIL_CONN_CLOSE = 3,   /* the socket is closed (TCP: reached TCP_CLOSE; UDP: released) */
};

enum vigil_conn_flags {
  VIGIL_CONN_F_OWNER = 1 << 0,       /* pid, uid and comm are those of the owning process */
  VIGIL_CONN_F_BYTES = 1 << 1,       /* bytes_in and bytes_out are the socket's life totals */
  VIGIL_CONN_F_HAS_REMOTE = 1 << 2,  /* remote_addr and remote_port are set */
};

struct vigil_conn_rec {
  __u16 type;            /*  0 VIGIL_REC_CONN */
  __u16 size;            /*  2 sizeof(struct vigil_conn_rec) = 104 */
  __u8 kind;             /*  4 enum vigil_conn_kind */
  __u8 protocol;         /*  5 6 (TCP) or 17 (UDP) */
  __u8 family;           /*  6 4 or 6; a socket of family AF_INET6 is 6 even for a v4-mapped peer */
  __u8 flags;            /*  7 enum vigil_conn_flags */
  __u32 pid;             /*  8 thread group id of the owner (VIGIL_CONN_F_OWNER) */
  __u32 uid;             /* 12 the owner's effective uid (VIGIL_CONN_F_OWNER) */
  __u64 ts_ns;           /* 16 CLOCK_MONOTONIC (bpf_ktime_get_ns) when it happened */
  __u64 socket_id;       /* 24 the same for every record of one socket while it lives; never 0 */
  __u64 bytes_in;        /* 32 payload bytes received (VIGIL_CONN_F_BYTES) */
  __u64 bytes_out;       /* 40 payload bytes sent and acknowledged (UDP: sent) */
  __u8 local_addr[16];   /* 48 network byte order; IPv4 in the first 4 bytes */
  __u8 remote_addr[16];  /* 64 network byte order; IPv4 in the first 4 bytes */
  __u16 local_port;      /* 80 host byte order; 0 when not bound yet */
  __u16 remote_port;     /* 82 host byte order */
  __u32 reserved;        /* 84 0 */
  char comm[16];         /* 88 the owner's task name, NUL-padded (VIGIL_CONN_F_OWNER) */
};                       /* 104 */

/* ---- Processes (proc.bpf.c) ---- */

enum vigil_proc_kind {
  VIGIL_PROC_FORK = 0, /* a new process (not a thread) */
  VIGIL_PROC_EXEC = 1, /* a process replaced its program */
  VIGIL_PROC_EXIT = 2, /* the last thread of a process ended */
};

enum vigil_proc_flags {
  VIGIL_PROC_F_ARGS_TRUNCATED = 1 << 0,     /* argv was longer than VIGIL_PROC_ARGS_MAX */
  VIGIL_PROC_F_FILENAME_TRUNCATED = 1 << 1, /* longer than VIGIL_PROC_FILENAME_MAX */
  VIGIL_PROC_F_EXE_TRUNCATED = 1 << 2,      /* deeper or longer than the walk covers */
  VIGIL_PROC_F_CWD_TRUNCATED = 1 << 3,
};

/* Caps of the strings an exec record carries (bytes, without a terminating NUL). */
#define VIGIL_PROC_FILENAME_MAX 512
#define VIGIL_PROC_ARGS_MAX 4096
#define VIGIL_PROC_PATH_MAX 1024 /* exe and cwd each */

struct vigil_proc_rec {
  __u16 type;          /*  0 VIGIL_REC_PROC */
  __u16 size;          /*  2 64 + filename_len + args_len + exe_len + cwd_len */
  __u8 kind;           /*  4 enum vigil_proc_kind */
  __u8 flags;          /*  5 enum vigil_proc_flags */
  __u16 filename_len;  /*  6 exec: bytes of the path given to execve (bprm->filename) */
  __u32 pid;           /*  8 thread group id */
  __u32 ppid;          /* 12 thread group id of the real parent */
  __u32 uid;           /* 16 real uid */
  __u32 euid;          /* 20 effective uid */
  __s32 exit_status;   /* 24 exit: wait(2) status (code << 8 | signal); otherwise -1 */
  __u16 args_len;      /* 28 exec: bytes of argv, NUL-separated as in /proc/PID/cmdline */
  __u16 exe_len;       /* 30 exec: bytes of the executable's absolute path (0: unknown) */
  __u16 cwd_len;       /* 32 exec: bytes of the working directory's absolute path (0: unknown) */
  __u16 reserved;      /* 34 0 */
  __u32 reserved2;     /* 36 0 */
  __u64 ts_ns;         /* 40 CLOCK_MONOTONIC when it happened */
  char comm[16];       /* 48 the task name, NUL-padded (after exec: the new one) */
  /* 64: filename, args, exe, cwd: the bytes of each, back to back, no terminators */
};

#define VIGIL_PROC_REC_HEADER 64
#define VIGIL_PROC_REC_MAX \
  (VIGIL_PROC_REC_HEADER + VIGIL_PROC_FILENAME_MAX + VIGIL_PROC_ARGS_MAX + 2 * VIGIL_PROC_PATH_MAX)

#endif /* VIGIL_AGENT_PLATFORM_LINUX_EBPF_RECORDS_H_ */
