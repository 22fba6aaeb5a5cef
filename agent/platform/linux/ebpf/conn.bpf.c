// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Connection records (struct vigil_conn_rec, records.h) for the eBPF ConnectionSource. The
// programs, their attach points and what each reports are described in README.md beside
// this file; connection_source.cpp loads and attaches them.
//
// TCP   raw_tracepoint/inet_sock_set_state   connect, listen, accept (handshake done), close
//       tracepoint/syscalls/sys_exit_accept*  the accepting process (optional)
// UDP   cgroup/connect4|6, sendmsg4|6         first datagram (or connect) to a peer
//       cgroup/recvmsg4|6                     first datagram from a peer
//       cgroup/post_bind4|6                   bind
//       cgroup/sock_create, sock_release      birth and close of a socket
//       raw_tracepoint/sock_send|recv_length  bytes per socket (optional, Linux 6.3)
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "agent/platform/linux/ebpf/records.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10
#define MSG_PEEK 2

// Set by the loader before load: a random key that scrambles kernel addresses into TCP
// socket ids, so no kernel address reaches userspace.
const volatile __u64 id_secret = 0;

// Set by the loader after attaching (0 until then).
__u8 accept_hooked = 0;    // the accept syscall tracepoints are attached
__u8 udp_bytes_hooked = 0; // sock_send_length/sock_recv_length are attached

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);  // the loader sets EbpfOptions::ring_buffer_bytes
} events SEC(".maps");

// Records that did not fit in the ring buffer, per CPU.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

struct owner {
  __u32 pid;
  __u32 uid;
  char comm[16];
};

#define TCP_F_OWNER 1           // owner is known
#define TCP_F_PENDING_ACCEPT 2  // handshake done, accept(2) not seen yet
#define TCP_F_LISTENER 4

struct tcp_entry {
  struct owner owner;
  __u32 flags;
};

// TCP sockets seen opening, keyed by kernel address; removed when they reach TCP_CLOSE.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, struct tcp_entry);
} tcp_socks SEC(".maps");

#define UDP_F_OWNER 1
#define UDP_F_FROM_BIRTH 2  // seen since socket(2): the byte counts cover its whole life
#define UDP_F_REPORTED 4    // a record was sent for it, so its close is reported too

struct udp_entry {
  struct owner owner;
  __u32 flags;
  __u64 bytes_in;
  __u64 bytes_out;
  // connect(2) seen, its record not sent yet (see udp_connect): when, and the peer.
  __u64 pending_ts;
  __u8 pending_addr[16];
  __u16 pending_port;
  __u8 pending_family;
  __u8 pad[5];
};

// UDP sockets, keyed by socket cookie (never reused); removed when released.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 2048);
  __type(key, __u64);
  __type(value, struct udp_entry);
} udp_socks SEC(".maps");

struct udp_peer_key {
  __u64 cookie;
  __u8 addr[16];
  __u16 port;
  __u8 family;
  __u8 pad[5];
};

// (socket, peer) pairs already reported, so only the first datagram of each is.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct udp_peer_key);
  __type(value, __u8);
} udp_peers SEC(".maps");

static __always_inline void count_lost(void) {
  __u32 key = 0;
  __u64 *n = bpf_map_lookup_elem(&lost, &key);
  if (n) __sync_fetch_and_add(n, 1);
}

static __always_inline struct vigil_conn_rec *reserve(__u8 kind, __u8 protocol) {
  struct vigil_conn_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
  if (!r) {
    count_lost();
    return 0;
  }
  __builtin_memset(r, 0, sizeof(*r));
  r->type = VIGIL_REC_CONN;
  r->size = sizeof(*r);
  r->kind = kind;
  r->protocol = protocol;
  r->ts_ns = bpf_ktime_get_ns();
  return r;
}

// The calling task as owner: its process id, effective uid (read from its credentials, so
// a setuid program shows as the user it acts as) and name.
static __always_inline void current_owner(struct owner *o) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  o->pid = bpf_get_current_pid_tgid() >> 32;
  o->uid = BPF_CORE_READ(task, cred, euid.val);
  bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline void set_owner(struct vigil_conn_rec *r, const struct owner *o) {
  r->flags |= VIGIL_CONN_F_OWNER;
  r->pid = o->pid;
  r->uid = o->uid;
  __builtin_memcpy(r->comm, o->comm, sizeof(r->comm));
}

// ---- TCP ----

static __always_inline __u64 tcp_socket_id(__u64 sk) {
  __u64 id = (sk ^ id_secret) * 0x9E3779B97F4A7C15ULL;  // odd multiplier: one id per address
  return id ? id : 1;
}

// Fills family, addresses, ports and socket id from a TCP socket; false for other families.
static __always_inline int tcp_endpoints(struct sock *sk, struct vigil_conn_rec *r) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family == AF_INET) {
    r->family = 4;
    bpf_core_read(r->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
    bpf_core_read(r->remote_addr, 4, &sk->__sk_common.skc_daddr);
  } else if (family == AF_INET6) {
    if (!bpf_core_field_exists(sk->__sk_common.skc_v6_daddr)) return 0;  // kernel without IPv6
    r->family = 6;
    bpf_core_read(r->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
    bpf_core_read(r->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
  } else {
    return 0;
  }
  // The bound port; by the time the state is TCP_CLOSE it has been released (0), and the
  // copy in the header template, inet_sport, is what is left.
  r->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  if (!r->local_port) r->local_port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
  r->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
  r->socket_id = tcp_socket_id((__u64)sk);
  return 1;
}

static __always_inline void tcp_emit(struct sock *sk, __u8 kind, const struct owner *o, int with_remote,
                                     int with_bytes) {
  struct vigil_conn_rec *r = reserve(kind, IPPROTO_TCP);
  if (!r) return;
  if (!tcp_endpoints(sk, r)) {
    bpf_ringbuf_discard(r, 0);
    return;
  }
  if (with_remote) r->flags |= VIGIL_CONN_F_HAS_REMOTE;
  if (o) set_owner(r, o);
  if (with_bytes) {
    // Payload only. bytes_received counts the peer's FIN too (one sequence number), which
    // tcp_fin() marks with SOCK_DONE; bytes_sent counts retransmissions again.
    struct tcp_sock *tp = (struct tcp_sock *)sk;
    __u64 in = BPF_CORE_READ(tp, bytes_received);
    unsigned long sk_flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
    if (in && (sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE)))) in--;
    __u64 sent = BPF_CORE_READ(tp, bytes_sent);
    __u64 retrans = BPF_CORE_READ(tp, bytes_retrans);
    r->bytes_in = in;
    r->bytes_out = sent > retrans ? sent - retrans : 0;
    r->flags |= VIGIL_CONN_F_BYTES;
  }
  bpf_ringbuf_submit(r, 0);
}

static __always_inline int is_tcp(struct sock *sk) {
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  return BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP && (family == AF_INET || family == AF_INET6);
}

// Every TCP state change: (struct sock *sk, int oldstate, int newstate).
SEC("raw_tracepoint/inet_sock_set_state")
int vigil_tcp_state(struct bpf_raw_tracepoint_args *ctx) {
  struct sock *sk = (struct sock *)ctx->args[0];
  int oldstate = (int)ctx->args[1];
  int newstate = (int)ctx->args[2];
  __u64 key = (__u64)sk;

  if (oldstate == newstate || !is_tcp(sk)) return 0;

  if (newstate == TCP_SYN_SENT) {
    // connect(2), in the connecting task; the source port is not chosen yet, so the record
    // waits for the handshake's end.
    struct tcp_entry e = {.flags = TCP_F_OWNER};
    current_owner(&e.owner);
    bpf_map_update_elem(&tcp_socks, &key, &e, BPF_ANY);
    return 0;
  }
  if (newstate == TCP_LISTEN) {  // listen(2), in the listening task
    struct tcp_entry e = {.flags = TCP_F_OWNER | TCP_F_LISTENER};
    current_owner(&e.owner);
    bpf_map_update_elem(&tcp_socks, &key, &e, BPF_ANY);
    tcp_emit(sk, VIGIL_CONN_LISTEN, &e.owner, 0, 0);
    return 0;
  }
  if (oldstate == TCP_SYN_SENT && (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE)) {
    // The end of an active open (often in softirq: the owner comes from the map). A failed
    // attempt is reported too, as a connect followed by a close.
    struct tcp_entry *e = bpf_map_lookup_elem(&tcp_socks, &key);
    const struct owner *o = (e && (e->flags & TCP_F_OWNER)) ? &e->owner : 0;
    tcp_emit(sk, VIGIL_CONN_CONNECT, o, 1, 0);
    if (newstate == TCP_CLOSE) {
      tcp_emit(sk, VIGIL_CONN_CLOSE, o, 1, 1);
      bpf_map_delete_elem(&tcp_socks, &key);
    }
    return 0;
  }
  if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
    // A passive open completed (softirq, no owner yet). With the accept tracepoints the
    // record waits for accept(2), which names the process; a socket closed before anyone
    // accepts it is reported at its close.
    struct tcp_entry e = {};
    if (accept_hooked) {
      e.flags = TCP_F_PENDING_ACCEPT;
    } else {
      tcp_emit(sk, VIGIL_CONN_ACCEPT, 0, 1, 0);
    }
    bpf_map_update_elem(&tcp_socks, &key, &e, BPF_NOEXIST);
    return 0;
  }
  if (newstate == TCP_CLOSE) {
    struct tcp_entry *e = bpf_map_lookup_elem(&tcp_socks, &key);
    if (!e && oldstate == TCP_SYN_RECV) return 0;  // a handshake that never completed
    const struct owner *o = (e && (e->flags & TCP_F_OWNER)) ? &e->owner : 0;
    int listener = (e && (e->flags & TCP_F_LISTENER)) || oldstate == TCP_LISTEN;
    if (e && (e->flags & TCP_F_PENDING_ACCEPT)) tcp_emit(sk, VIGIL_CONN_ACCEPT, 0, 1, 0);
    tcp_emit(sk, VIGIL_CONN_CLOSE, o, !listener, !listener);
    if (e) bpf_map_delete_elem(&tcp_socks, &key);
  }
  return 0;
}

// The socket behind file descriptor `fd` of the current task, or 0.
static __always_inline struct sock *current_fd_sock(long fd) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
  if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds)) return 0;
  struct file **fds = BPF_CORE_READ(fdt, fd);
  struct file *f = 0;
  bpf_core_read(&f, sizeof(f), &fds[fd]);
  if (!f) return 0;
  struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
  if (!sock || BPF_CORE_READ(sock, file) != f) return 0;  // not a socket (or replaced meanwhile)
  return BPF_CORE_READ(sock, sk);
}

// accept(2)/accept4(2) returned `ret` (a descriptor, or -errno), in the accepting task.
static __always_inline int on_accept(long ret) {
  if (ret < 0) return 0;
  struct sock *sk = current_fd_sock(ret);
  if (!sk || !is_tcp(sk)) return 0;
  __u64 key = (__u64)sk;
  struct tcp_entry *e = bpf_map_lookup_elem(&tcp_socks, &key);
  if (e && !(e->flags & TCP_F_PENDING_ACCEPT)) return 0;  // reported already
  struct tcp_entry fresh = {.flags = TCP_F_OWNER};
  current_owner(&fresh.owner);
  bpf_map_update_elem(&tcp_socks, &key, &fresh, BPF_ANY);
  tcp_emit(sk, VIGIL_CONN_ACCEPT, &fresh.owner, 1, 0);
  return 0;
}

// The layout of syscalls:sys_exit_* (tracefs events/syscalls/sys_exit_accept4/format).
struct sys_exit_args {
  __u64 common;
  __s32 syscall_nr;
  __s32 pad;
  __s64 ret;
};

SEC("tracepoint/syscalls/sys_exit_accept4")
int vigil_accept4_exit(struct sys_exit_args *ctx) {
  return on_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int vigil_accept_exit(struct sys_exit_args *ctx) {
  return on_accept(ctx->ret);
}

// ---- UDP ----

static __always_inline struct udp_entry *udp_entry_of(__u64 cookie) {
  struct udp_entry *e = bpf_map_lookup_elem(&udp_socks, &cookie);
  if (e) return e;
  struct udp_entry fresh = {};
  bpf_map_update_elem(&udp_socks, &cookie, &fresh, BPF_NOEXIST);
  return bpf_map_lookup_elem(&udp_socks, &cookie);
}

// The owner for a record made in the owner's own task: the task, remembered for the close.
static __always_inline void udp_claim(struct udp_entry *e, struct owner *o) {
  current_owner(o);
  if (!e) return;
  if (!(e->flags & UDP_F_OWNER)) e->owner = *o;
  e->flags |= UDP_F_OWNER | UDP_F_REPORTED;
}

// The local address and port of the socket of a sock_addr hook (ctx->sk).
static __always_inline void sock_local(struct bpf_sock *sk, struct vigil_conn_rec *r) {
  if (sk->family == AF_INET6) {
    __u32 a[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
    __builtin_memcpy(r->local_addr, a, 16);
  } else {
    __u32 a = sk->src_ip4;
    __builtin_memcpy(r->local_addr, &a, 4);
  }
  r->local_port = sk->src_port;
}

// The same for the context of a cgroup sock program, which may read src_ip4, src_ip6 and
// src_port only in the post_bind hooks: read from the kernel's struct sock behind it (CO-RE).
static __always_inline void ctx_sock_local(struct bpf_sock *ctx, struct vigil_conn_rec *r) {
  struct sock *sk = (struct sock *)ctx;
  if (BPF_CORE_READ(sk, __sk_common.skc_family) == AF_INET6) {
    bpf_core_read(r->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
  } else {
    bpf_core_read(r->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
  }
  r->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
}

// The (socket, peer) key of a cgroup sock_addr hook's address. `v6_hook`: the hook is one
// of the *6 ones (user_ip6 is valid).
static __always_inline void udp_peer_key(struct bpf_sock_addr *ctx, int v6_hook, struct udp_peer_key *k) {
  int sock6 = ctx->family == AF_INET6;
  k->cookie = bpf_get_socket_cookie(ctx);
  if (v6_hook) {
    __u32 a[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
    __builtin_memcpy(k->addr, a, 16);
  } else {
    __u32 a = ctx->user_ip4;
    if (sock6) {  // an IPv6 socket sending to a v4-mapped address: keep it mapped
      k->addr[10] = 0xff;
      k->addr[11] = 0xff;
      __builtin_memcpy(&k->addr[12], &a, 4);
    } else {
      __builtin_memcpy(k->addr, &a, 4);
    }
  }
  k->port = bpf_ntohs((__u16)ctx->user_port);
  k->family = sock6 ? 6 : 4;
}

// A datagram (or connect) to or from a peer, seen by a cgroup sock_addr hook in the task
// that sends or receives it: a record for the first of each (socket, peer).
static __always_inline void udp_peer(struct bpf_sock_addr *ctx, __u8 kind, int v6_hook) {
  struct bpf_sock *sk = ctx->sk;
  if (!sk) return;
  struct udp_peer_key k = {};
  udp_peer_key(ctx, v6_hook, &k);
  __u8 one = 1;
  if (bpf_map_update_elem(&udp_peers, &k, &one, BPF_NOEXIST) != 0) return;  // seen before

  struct owner o = {};
  udp_claim(udp_entry_of(k.cookie), &o);
  struct vigil_conn_rec *r = reserve(kind, IPPROTO_UDP);
  if (!r) return;
  r->family = k.family;
  r->socket_id = k.cookie;
  sock_local(sk, r);
  __builtin_memcpy(r->remote_addr, k.addr, 16);
  r->remote_port = k.port;
  r->flags |= VIGIL_CONN_F_HAS_REMOTE;
  set_owner(r, &o);
  bpf_ringbuf_submit(r, 0);
}

// connect(2) of a UDP socket. The hook runs before the kernel binds the socket and picks its
// source address, so when the send/receive tracepoints are attached the record waits in the
// socket's entry for the first send or receive (or the close), which see the socket bound;
// without them it is sent at once, with what is known then.
static __always_inline void udp_connect(struct bpf_sock_addr *ctx, int v6_hook) {
  if (!udp_bytes_hooked) {
    udp_peer(ctx, VIGIL_CONN_CONNECT, v6_hook);
    return;
  }
  struct udp_peer_key k = {};
  udp_peer_key(ctx, v6_hook, &k);
  __u8 one = 1;
  bpf_map_update_elem(&udp_peers, &k, &one, BPF_ANY);  // its datagrams need no record
  struct udp_entry *e = udp_entry_of(k.cookie);
  if (!e) return;
  current_owner(&e->owner);  // the connecting task owns the socket from here on
  e->flags |= UDP_F_OWNER | UDP_F_REPORTED;
  __builtin_memcpy(e->pending_addr, k.addr, 16);
  e->pending_port = k.port;
  e->pending_family = k.family;
  e->pending_ts = bpf_ktime_get_ns();
}

// Sends the connect record a UDP socket's entry holds, if any, with the local address and
// port the kernel has chosen by now (read from the socket, CO-RE).
static __always_inline void udp_flush_connect(struct sock *sk, struct udp_entry *e, __u64 cookie) {
  __u64 ts = __sync_lock_test_and_set(&e->pending_ts, 0);  // one record even if two CPUs race
  if (!ts) return;
  struct vigil_conn_rec *r = reserve(VIGIL_CONN_CONNECT, IPPROTO_UDP);
  if (!r) return;
  r->ts_ns = ts;
  r->family = e->pending_family == 6 ? 6 : 4;
  r->socket_id = cookie;
  if (r->family == 6) {
    bpf_core_read(r->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
  } else {
    bpf_core_read(r->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
  }
  r->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
  __builtin_memcpy(r->remote_addr, e->pending_addr, 16);
  r->remote_port = e->pending_port;
  r->flags |= VIGIL_CONN_F_HAS_REMOTE;
  if (e->flags & UDP_F_OWNER) set_owner(r, &e->owner);
  bpf_ringbuf_submit(r, 0);
}

SEC("cgroup/connect4")
int vigil_udp_connect4(struct bpf_sock_addr *ctx) {
  if (ctx->protocol == IPPROTO_UDP) udp_connect(ctx, 0);
  return 1;
}

SEC("cgroup/connect6")
int vigil_udp_connect6(struct bpf_sock_addr *ctx) {
  if (ctx->protocol == IPPROTO_UDP) udp_connect(ctx, 1);
  return 1;
}

SEC("cgroup/sendmsg4")
int vigil_udp_sendmsg4(struct bpf_sock_addr *ctx) {
  if (ctx->protocol == IPPROTO_UDP) udp_peer(ctx, VIGIL_CONN_CONNECT, 0);
  return 1;
}

SEC("cgroup/sendmsg6")
int vigil_udp_sendmsg6(struct bpf_sock_addr *ctx) {
  if (ctx->protocol == IPPROTO_UDP) udp_peer(ctx, VIGIL_CONN_CONNECT, 1);
  return 1;
}

SEC("cgroup/recvmsg4")
int vigil_udp_recvmsg4(struct bpf_sock_addr *ctx) {
  if (ctx->protocol == IPPROTO_UDP) udp_peer(ctx, VIGIL_CONN_ACCEPT, 0);
  return 1;
}

SEC("cgroup/recvmsg6")
int vigil_udp_recvmsg6(struct bpf_sock_addr *ctx) {
  if (ctx->protocol == IPPROTO_UDP) udp_peer(ctx, VIGIL_CONN_ACCEPT, 1);
  return 1;
}

static __always_inline int is_udp(struct bpf_sock *sk) {
  return sk->protocol == IPPROTO_UDP && (sk->family == AF_INET || sk->family == AF_INET6);
}

// bind(2) of a UDP socket, in the binding task.
static __always_inline void udp_bound(struct bpf_sock *sk) {
  __u64 cookie = bpf_get_socket_cookie(sk);
  struct owner o = {};
  udp_claim(udp_entry_of(cookie), &o);
  struct vigil_conn_rec *r = reserve(VIGIL_CONN_LISTEN, IPPROTO_UDP);
  if (!r) return;
  r->family = sk->family == AF_INET6 ? 6 : 4;
  r->socket_id = cookie;
  ctx_sock_local(sk, r);
  set_owner(r, &o);
  bpf_ringbuf_submit(r, 0);
}

SEC("cgroup/post_bind4")
int vigil_udp_bind4(struct bpf_sock *sk) {
  if (is_udp(sk)) udp_bound(sk);
  return 1;
}

SEC("cgroup/post_bind6")
int vigil_udp_bind6(struct bpf_sock *sk) {
  if (is_udp(sk)) udp_bound(sk);
  return 1;
}

// socket(2): from here on the socket's bytes are all counted.
SEC("cgroup/sock_create")
int vigil_udp_create(struct bpf_sock *sk) {
  if (!is_udp(sk)) return 1;
  __u64 cookie = bpf_get_socket_cookie(sk);
  struct udp_entry e = {.flags = UDP_F_OWNER | UDP_F_FROM_BIRTH};
  current_owner(&e.owner);
  bpf_map_update_elem(&udp_socks, &cookie, &e, BPF_ANY);
  return 1;
}

// The last close of a socket (in the closing task): reported when anything of it was.
SEC("cgroup/sock_release")
int vigil_udp_release(struct bpf_sock *sk) {
  if (!is_udp(sk)) return 1;
  __u64 cookie = bpf_get_socket_cookie(sk);
  struct udp_entry *e = bpf_map_lookup_elem(&udp_socks, &cookie);
  if (!e) return 1;
  udp_flush_connect((struct sock *)sk, e, cookie);  // connected, but never sent or received
  if (e->flags & UDP_F_REPORTED) {
    struct vigil_conn_rec *r = reserve(VIGIL_CONN_CLOSE, IPPROTO_UDP);
    if (r) {
      r->family = sk->family == AF_INET6 ? 6 : 4;
      r->socket_id = cookie;
      ctx_sock_local(sk, r);
      __u16 dport = sk->dst_port;
      if (dport) {  // connected: the peer
        if (sk->family == AF_INET6) {
          __u32 a[4] = {sk->dst_ip6[0], sk->dst_ip6[1], sk->dst_ip6[2], sk->dst_ip6[3]};
          __builtin_memcpy(r->remote_addr, a, 16);
        } else {
          __u32 a = sk->dst_ip4;
          __builtin_memcpy(r->remote_addr, &a, 4);
        }
        r->remote_port = bpf_ntohs(dport);
        r->flags |= VIGIL_CONN_F_HAS_REMOTE;
      }
      if (e->flags & UDP_F_OWNER) set_owner(r, &e->owner);
      if (udp_bytes_hooked && (e->flags & UDP_F_FROM_BIRTH)) {
        r->bytes_in = e->bytes_in;
        r->bytes_out = e->bytes_out;
        r->flags |= VIGIL_CONN_F_BYTES;
      }
      bpf_ringbuf_submit(r, 0);
    }
  }
  bpf_map_delete_elem(&udp_socks, &cookie);
  return 1;
}

// sock_sendmsg/sock_recvmsg returned, in the task: (struct sock *sk, int ret, int flags).
// Sends a connect record held back by udp_connect, and adds the bytes to the socket's entry;
// the cookie is set once any of the cgroup programs above asked for it.
static __always_inline int udp_count(struct bpf_raw_tracepoint_args *ctx, int in) {
  struct sock *sk = (struct sock *)ctx->args[0];
  int ret = (int)ctx->args[1];
  int flags = (int)ctx->args[2];
  if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP) return 0;
  __u64 cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
  if (!cookie) return 0;
  struct udp_entry *e = bpf_map_lookup_elem(&udp_socks, &cookie);
  if (!e) return 0;
  if (e->pending_ts) udp_flush_connect(sk, e, cookie);
  if (ret <= 0 || (in && (flags & MSG_PEEK))) return 0;
  if (in) {
    __sync_fetch_and_add(&e->bytes_in, ret);
  } else {
    __sync_fetch_and_add(&e->bytes_out, ret);
  }
  return 0;
}

SEC("raw_tracepoint/sock_send_length")
int vigil_udp_sent(struct bpf_raw_tracepoint_args *ctx) {
  return udp_count(ctx, 0);
}

SEC("raw_tracepoint/sock_recv_length")
int vigil_udp_received(struct bpf_raw_tracepoint_args *ctx) {
  return udp_count(ctx, 1);
}
