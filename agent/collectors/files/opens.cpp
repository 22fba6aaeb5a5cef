#include "agent/collectors/files/opens.h"

#include <sys/stat.h>

#include <utility>

#include "agent/collectors/common/procfs.h"

namespace vigil::files {
namespace {

constexpr char kOpenKeySep = '\x1f';

const char* OpenedTypeName(const FileInfo& info) {
  if (info.is_dir || S_ISDIR(info.mode)) return "directory";
  if (S_ISREG(info.mode)) return "file";
  return "other";  // a device node (Stat follows symlinks)
}

}  // namespace

OpenReporter::OpenReporter(Env& env, common::UserNames& users, int32_t self_pid, std::string proc_root)
    : env_(env), users_(users), self_pid_(self_pid), proc_root_(std::move(proc_root)) {}

std::optional<Event> OpenReporter::Build(const OpenNotice& notice, int64_t ts_ms) {
  if (notice.pid == self_pid_) return std::nullopt;
  Event e;
  e.type = "file";
  e.action = "opened";
  e.ts_ms = ts_ms;
  Json& d = e.data;
  d["path"] = notice.path;
  d["root"] = notice.path;
  if (auto info = env_.Stat(notice.path); info.ok()) d["type"] = OpenedTypeName(*info);
  std::string program;
  std::string user;
  if (notice.pid > 0) {
    const std::string dir = proc_root_ + "/" + std::to_string(notice.pid);
    d["pid"] = notice.pid;
    if (auto exe = env_.ReadLink(dir + "/exe"); exe.ok()) {
      program = *exe;
      d["exe"] = std::move(*exe);
    }
    if (auto comm = env_.ReadFile(dir + "/comm", 64); comm.ok()) {
      std::string& c = *comm;
      if (!c.empty() && c.back() == '\n') c.pop_back();
      if (program.empty()) program = c;
      if (!c.empty()) d["comm"] = std::move(c);
    }
    if (auto text = env_.ReadFile(dir + "/status", 8192); text.ok()) {
      if (auto st = common::ParseProcStatus(*text); st.ok()) {
        user = users_.Name(st->ruid);
        d["uid"] = st->ruid;
        d["user"] = user;
      }
    }
  }
  e.agg_key.append("file").push_back(kOpenKeySep);
  e.agg_key.append("opened").push_back(kOpenKeySep);
  e.agg_key.append(notice.path).push_back(kOpenKeySep);
  e.agg_key.append(program).push_back(kOpenKeySep);
  e.agg_key.append(user);
  return e;
}

}  // namespace vigil::files
