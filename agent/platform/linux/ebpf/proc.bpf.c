// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Process records (struct vigil_proc_rec, records.h) for the eBPF ProcessSource, from three
// raw tracepoints (no tracefs needed):
//   sched_process_fork  (parent, child)          a new process; threads are left out
//   sched_process_exec  (task, old_pid, bprm)    the new program: path given, argv, the
//                                                executable's and the working directory's
//                                                absolute paths, uids, parent, name
//   sched_process_exit  (task, ...)              the last thread of a process, with the
//                                                wait(2) status
// process_source.cpp loads and attaches them; README.md describes the record.
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "agent/platform/linux/ebpf/records.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGNAL_GROUP_EXIT 0x00000004  // signal_struct.flags: exit_group(2) or a fatal signal
#define PATH_DEPTH_MAX 40             // path components walked for exe and cwd
#define NAME_LEN_MASK 255             // a path component is at most NAME_MAX (255) bytes

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

// An exec record is assembled here (too big for the BPF stack): the header, then its strings
// packed back to back, then sent with one bpf_ringbuf_output of just the bytes used. `path`
// is where a path is built, from its end backwards, before it is copied into `data`.
#define DATA_BYTES 8192  // > FILENAME_MAX + ARGS_MAX + 2 * PATH_MAX: room for masked offsets
#define PATH_BYTES (2 * VIGIL_PROC_PATH_MAX)

struct scratch {
  struct vigil_proc_rec rec;
  char data[DATA_BYTES];
  char path[PATH_BYTES];
  __u32 path_off;  // where the path being built starts in `path`
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline void count_lost(void) {
  __u32 key = 0;
  __u64 *n = bpf_map_lookup_elem(&lost, &key);
  if (n) __sync_fetch_and_add(n, 1);
}

// The fields every record has, from `task`.
static __always_inline void fill_task(struct vigil_proc_rec *r, struct task_struct *task, __u8 kind) {
  __builtin_memset(r, 0, sizeof(*r));
  r->type = VIGIL_REC_PROC;
  r->size = sizeof(*r);
  r->kind = kind;
  r->pid = BPF_CORE_READ(task, tgid);
  r->ppid = BPF_CORE_READ(task, real_parent, tgid);
  r->uid = BPF_CORE_READ(task, real_cred, uid.val);
  r->euid = BPF_CORE_READ(task, real_cred, euid.val);
  r->exit_status = -1;
  r->ts_ns = bpf_ktime_get_ns();
  bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), &task->comm);
}

SEC("raw_tracepoint/sched_process_fork")
int vigil_fork(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *child = (struct task_struct *)ctx->args[1];
  if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) return 0;  // a thread
  struct vigil_proc_rec r;
  fill_task(&r, child, VIGIL_PROC_FORK);
  if (bpf_ringbuf_output(&events, &r, sizeof(r), 0) != 0) count_lost();
  return 0;
}

SEC("raw_tracepoint/sched_process_exit")
int vigil_exit(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *task = (struct task_struct *)ctx->args[0];
  struct signal_struct *signal = BPF_CORE_READ(task, signal);
  // do_exit() counts the thread out of signal->live before this tracepoint: 0 means this is
  // the last thread, and the process ends with it.
  if (BPF_CORE_READ(signal, live.counter) != 0) return 0;
  struct vigil_proc_rec r;
  fill_task(&r, task, VIGIL_PROC_EXIT);
  // The process's status: that of the group exit when there was one (exit_group(2), a fatal
  // signal), else the thread's own (do_exit() sets it before this tracepoint).
  if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT) {
    r.exit_status = BPF_CORE_READ(signal, group_exit_code);
  } else {
    r.exit_status = BPF_CORE_READ(task, exit_code);
  }
  if (bpf_ringbuf_output(&events, &r, sizeof(r), 0) != 0) count_lost();
  return 0;
}

// Builds the absolute path of `p` at the end of s->path, walking dentries up to their mount's
// root and mounts up to the namespace's root. Returns its length (the path starts at
// VIGIL_PROC_PATH_MAX - length); 0 when there is nothing to walk. Sets *truncated when the
// path is deeper or longer than the walk covers (the leading part is then missing).
static __always_inline __u32 build_path(struct scratch *s, const struct path *p, int *truncated) {
  struct dentry *dentry = BPF_CORE_READ(p, dentry);
  struct vfsmount *vfsmnt = BPF_CORE_READ(p, mnt);
  if (!dentry || !vfsmnt) return 0;
  struct mount *mnt = (struct mount *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
  // The path is s->path[path_off, VIGIL_PROC_PATH_MAX). The offset lives in memory and is
  // read back through a volatile access each round, so the verifier does not track its value:
  // otherwise every combination of mount crossings and name lengths would be a state of its
  // own, and a walk of PATH_DEPTH_MAX rounds would exceed its budget.
  volatile __u32 *off_p = &s->path_off;
  *off_p = VIGIL_PROC_PATH_MAX;
  int done = 0;

  for (int i = 0; i < PATH_DEPTH_MAX; i++) {
    struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
    struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
    if (dentry == mnt_root || dentry == parent) {
      struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
      if (dentry != mnt_root || mnt == mnt_parent) {  // the root of the namespace
        done = 1;
        break;
      }
      dentry = BPF_CORE_READ(mnt, mnt_mountpoint);  // carry on above the mount point
      mnt = mnt_parent;
      vfsmnt = (struct vfsmount *)((char *)mnt + bpf_core_field_offset(struct mount, mnt));
      continue;
    }
    __u32 len = BPF_CORE_READ(dentry, d_name.len);
    const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
    __u32 off = *off_p;
    if (len > NAME_LEN_MASK || len + 1 > off || off > VIGIL_PROC_PATH_MAX) break;  // does not fit
    off -= len;
    bpf_probe_read_kernel(&s->path[off & (VIGIL_PROC_PATH_MAX - 1)], len & NAME_LEN_MASK, name);
    off -= 1;
    s->path[off & (VIGIL_PROC_PATH_MAX - 1)] = '/';
    *off_p = off;
    dentry = parent;
  }
  if (!done) *truncated = 1;
  __u32 off = *off_p;
  if (off > VIGIL_PROC_PATH_MAX) return 0;
  if (off == VIGIL_PROC_PATH_MAX) {  // the root itself
    off -= 1;
    s->path[off & (VIGIL_PROC_PATH_MAX - 1)] = '/';
  }
  return VIGIL_PROC_PATH_MAX - off;
}

// Appends the path of `p` to the record's strings at *pos; returns its length.
static __always_inline __u16 append_path(struct scratch *s, __u32 *pos, const struct path *p, __u8 truncated_flag) {
  int truncated = 0;
  __u32 len = build_path(s, p, &truncated);
  if (truncated) s->rec.flags |= truncated_flag;
  if (len == 0 || len > VIGIL_PROC_PATH_MAX) return 0;
  __u32 at = *pos;
  if (at > DATA_BYTES - VIGIL_PROC_PATH_MAX) return 0;
  if (bpf_probe_read_kernel(&s->data[at], len, &s->path[(VIGIL_PROC_PATH_MAX - len) & (VIGIL_PROC_PATH_MAX - 1)]) != 0) {
    return 0;
  }
  *pos = at + len;
  return len;
}

SEC("raw_tracepoint/sched_process_exec")
int vigil_exec(struct bpf_raw_tracepoint_args *ctx) {
  struct task_struct *task = (struct task_struct *)ctx->args[0];
  struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
  __u32 key = 0;
  struct scratch *s = bpf_map_lookup_elem(&scratch, &key);
  if (!s) return 0;
  fill_task(&s->rec, task, VIGIL_PROC_EXEC);
  __u32 pos = 0;

  // The path as given to execve(2).
  long n = bpf_probe_read_kernel_str(s->data, VIGIL_PROC_FILENAME_MAX + 1, BPF_CORE_READ(bprm, filename));
  if (n > 0) {
    __u32 len = n - 1;  // without the NUL
    if (len >= VIGIL_PROC_FILENAME_MAX) {
      len = VIGIL_PROC_FILENAME_MAX;
      s->rec.flags |= VIGIL_PROC_F_FILENAME_TRUNCATED;
    }
    s->rec.filename_len = len;
    pos = len;
  }

  // argv, from the new program's stack (set up by the time this tracepoint fires).
  struct mm_struct *mm = BPF_CORE_READ(task, mm);
  unsigned long arg_start = BPF_CORE_READ(mm, arg_start);
  unsigned long arg_end = BPF_CORE_READ(mm, arg_end);
  if (mm && arg_end > arg_start) {
    __u64 len = arg_end - arg_start;
    if (len > VIGIL_PROC_ARGS_MAX) {
      len = VIGIL_PROC_ARGS_MAX;
      s->rec.flags |= VIGIL_PROC_F_ARGS_TRUNCATED;
    }
    __u32 at = pos;
    if (at <= VIGIL_PROC_FILENAME_MAX && len <= VIGIL_PROC_ARGS_MAX &&
        bpf_probe_read_user(&s->data[at], len, (const void *)arg_start) == 0) {
      s->rec.args_len = len;
      pos = at + len;
    }
  }

  // The executable file, and the working directory, as absolute paths.
  struct file *file = BPF_CORE_READ(bprm, file);
  if (file) s->rec.exe_len = append_path(s, &pos, &file->f_path, VIGIL_PROC_F_EXE_TRUNCATED);
  struct fs_struct *fs = BPF_CORE_READ(task, fs);
  if (fs) s->rec.cwd_len = append_path(s, &pos, &fs->pwd, VIGIL_PROC_F_CWD_TRUNCATED);

  __u32 size = sizeof(struct vigil_proc_rec) + pos;
  if (size > sizeof(struct vigil_proc_rec) + DATA_BYTES) return 0;
  s->rec.size = size;
  if (bpf_ringbuf_output(&events, s, size, 0) != 0) count_lost();
  return 0;
}
