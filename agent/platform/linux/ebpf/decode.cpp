#include "agent/platform/linux/ebpf/decode.h"

#include <cstddef>
#include <cstring>
#include <string>

#include "agent/platform/linux/ebpf/records.h"

namespace vigil::ebpf {
namespace {

static_assert(sizeof(vigil_conn_rec) == 104);
static_assert(offsetof(vigil_conn_rec, socket_id) == 24);
static_assert(offsetof(vigil_conn_rec, local_addr) == 48);
static_assert(offsetof(vigil_conn_rec, comm) == 88);
static_assert(sizeof(vigil_proc_rec) == VIGIL_PROC_REC_HEADER);
static_assert(offsetof(vigil_proc_rec, ts_ns) == 40);
static_assert(offsetof(vigil_proc_rec, comm) == 48);

// The NUL-padded task name, up to its first NUL.
std::string Comm(const char (&comm)[16]) {
  size_t n = 0;
  while (n < sizeof(comm) && comm[n] != '\0') ++n;
  return std::string(comm, n);
}

Status Bad(const char* kind, const std::string& what) {
  return Status::InvalidArgument(std::string("eBPF ") + kind + " record: " + what);
}

}  // namespace

Result<ConnectionRecord> DecodeConnectionRecord(std::span<const uint8_t> record) {
  vigil_conn_rec r;
  if (record.size() != sizeof(r)) {
    return Bad("connection", "size " + std::to_string(record.size()) + ", expected " + std::to_string(sizeof(r)));
  }
  std::memcpy(&r, record.data(), sizeof(r));
  if (r.type != VIGIL_REC_CONN) return Bad("connection", "type " + std::to_string(r.type));
  if (r.size != sizeof(r)) return Bad("connection", "size field " + std::to_string(r.size));

  ConnectionRecord out;
  switch (r.kind) {
    case VIGIL_CONN_CONNECT:
      out.kind = ConnectionRecord::Kind::kConnect;
      break;
    case VIGIL_CONN_ACCEPT:
      out.kind = ConnectionRecord::Kind::kAccept;
      break;
    case VIGIL_CONN_LISTEN:
      out.kind = ConnectionRecord::Kind::kListen;
      break;
    case VIGIL_CONN_CLOSE:
      out.kind = ConnectionRecord::Kind::kClose;
      break;
    default:
      return Bad("connection", "kind " + std::to_string(r.kind));
  }
  switch (r.protocol) {
    case 6:
      out.protocol = ConnectionRecord::Protocol::kTcp;
      break;
    case 17:
      out.protocol = ConnectionRecord::Protocol::kUdp;
      break;
    default:
      return Bad("connection", "protocol " + std::to_string(r.protocol));
  }
  if (r.family != 4 && r.family != 6) return Bad("connection", "family " + std::to_string(r.family));
  out.family = r.family;
  const size_t addr_len = r.family == 4 ? 4 : 16;
  std::memcpy(out.local.addr.data(), r.local_addr, addr_len);
  out.local.port = r.local_port;
  if (r.flags & VIGIL_CONN_F_HAS_REMOTE) {
    std::memcpy(out.remote.addr.data(), r.remote_addr, addr_len);
    out.remote.port = r.remote_port;
  }
  if (r.flags & VIGIL_CONN_F_OWNER) {
    out.pid = r.pid > 0 && r.pid <= INT32_MAX ? static_cast<int32_t>(r.pid) : -1;
    out.uid = r.uid;
    out.comm = Comm(r.comm);
  }
  if (r.flags & VIGIL_CONN_F_BYTES) {
    out.bytes_known = true;
    out.bytes_in = r.bytes_in;
    out.bytes_out = r.bytes_out;
  }
  out.socket_id = r.socket_id;
  out.ts_ns = r.ts_ns;
  return out;
}

Result<ProcEvent> DecodeProcRecord(std::span<const uint8_t> record) {
  vigil_proc_rec r;
  if (record.size() < sizeof(r)) {
    return Bad("process", "size " + std::to_string(record.size()) + ", shorter than the header (" +
                              std::to_string(sizeof(r)) + ")");
  }
  std::memcpy(&r, record.data(), sizeof(r));
  if (r.type != VIGIL_REC_PROC) return Bad("process", "type " + std::to_string(r.type));
  if (r.filename_len > VIGIL_PROC_FILENAME_MAX) return Bad("process", "filename_len " + std::to_string(r.filename_len));
  if (r.args_len > VIGIL_PROC_ARGS_MAX) return Bad("process", "args_len " + std::to_string(r.args_len));
  if (r.exe_len > VIGIL_PROC_PATH_MAX) return Bad("process", "exe_len " + std::to_string(r.exe_len));
  if (r.cwd_len > VIGIL_PROC_PATH_MAX) return Bad("process", "cwd_len " + std::to_string(r.cwd_len));
  const size_t want = sizeof(r) + r.filename_len + r.args_len + r.exe_len + r.cwd_len;
  if (r.size != want || record.size() != want) {
    return Bad("process", "size field " + std::to_string(r.size) + " for " + std::to_string(record.size()) +
                              " bytes, expected " + std::to_string(want));
  }

  ProcEvent out;
  switch (r.kind) {
    case VIGIL_PROC_FORK:
      out.kind = ProcEvent::Kind::kFork;
      break;
    case VIGIL_PROC_EXEC:
      out.kind = ProcEvent::Kind::kExec;
      break;
    case VIGIL_PROC_EXIT:
      out.kind = ProcEvent::Kind::kExit;
      break;
    default:
      return Bad("process", "kind " + std::to_string(r.kind));
  }
  if (r.pid == 0 || r.pid > INT32_MAX) return Bad("process", "pid " + std::to_string(r.pid));
  if ((r.filename_len | r.args_len | r.exe_len | r.cwd_len) != 0 && out.kind != ProcEvent::Kind::kExec) {
    return Bad("process", "strings in a record of kind " + std::to_string(r.kind));
  }
  out.pid = static_cast<int32_t>(r.pid);
  out.ppid = r.ppid > 0 && r.ppid <= INT32_MAX ? static_cast<int32_t>(r.ppid) : -1;
  out.exit_status = out.kind == ProcEvent::Kind::kExit ? r.exit_status : -1;
  out.ruid = r.uid;
  out.euid = r.euid;
  out.ts_ns = r.ts_ns;
  out.from_kernel = true;
  out.comm = Comm(r.comm);

  const char* p = reinterpret_cast<const char*>(record.data()) + sizeof(r);
  out.filename.assign(p, r.filename_len);
  p += r.filename_len;
  out.args.assign(p, r.args_len);
  p += r.args_len;
  out.exe.assign(p, r.exe_len);
  p += r.exe_len;
  out.cwd.assign(p, r.cwd_len);
  out.filename_truncated = (r.flags & VIGIL_PROC_F_FILENAME_TRUNCATED) != 0;
  out.args_truncated = (r.flags & VIGIL_PROC_F_ARGS_TRUNCATED) != 0;
  out.exe_truncated = (r.flags & VIGIL_PROC_F_EXE_TRUNCATED) != 0;
  out.cwd_truncated = (r.flags & VIGIL_PROC_F_CWD_TRUNCATED) != 0;
  return out;
}

}  // namespace vigil::ebpf
