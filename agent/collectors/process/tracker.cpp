#include "agent/collectors/process/tracker.h"

#include <charconv>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/collectors/common/procfs.h"

namespace vigil::process {
namespace {

constexpr int32_t kKthreaddPid = 2;
constexpr char kKeySep = '\x1f';
// What the kernel appends to /proc/PID/exe once the file the process runs is unlinked.
constexpr std::string_view kDeletedSuffix = " (deleted)";

std::string AggKey(std::string_view action, const Image* image, std::string_view cmdline, std::string_view user) {
  std::string key;
  std::string_view exe;
  if (image) exe = image->exe.empty() ? image->comm : image->exe;
  key.reserve(16 + exe.size() + cmdline.size() + user.size());
  key.append("process").push_back(kKeySep);
  key.append(action).push_back(kKeySep);
  key.append(exe).push_back(kKeySep);
  key.append(cmdline).push_back(kKeySep);
  key.append(user);
  return key;
}

}  // namespace

ProcessTracker::ProcessTracker(Env& env, CollectorStats& stats, common::UserNames& users, HashCache& hashes, EventSink& sink,
                               TrackerOptions options)
    : env_(env),
      stats_(stats),
      users_(users),
      hashes_(hashes),
      sink_(sink),
      options_(std::move(options)),
      table_(options_.table_entries) {}

const std::string& ProcessTracker::PidPath(int32_t pid, std::string_view leaf) {
  // One buffer, rewritten in place: no allocation per path once it has grown.
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), pid);
  (void)ec;  // an int32 always fits
  path_.assign(options_.proc_root);
  path_.push_back('/');
  path_.append(digits, end);
  path_.push_back('/');
  path_.append(leaf);
  return path_;
}

ProcessTracker::Snapshot ProcessTracker::ReadProcess(int32_t pid, bool fast, bool want_status) {
  Snapshot snap;
  snap.image = std::make_shared<Image>();
  Image& img = *snap.image;

  bool exe_ok = false, cwd_ok = false;
  if (auto exe = env_.ReadLink(PidPath(pid, "exe")); exe.ok()) {
    img.exe = std::move(*exe);
    exe_ok = true;
  }
  if (auto raw = env_.ReadFile(PidPath(pid, "cmdline"), options_.cmdline_max + 1); raw.ok()) {
    std::string& text = *raw;
    if (text.size() > options_.cmdline_max) {
      text.resize(options_.cmdline_max);
      img.cmdline_truncated = true;
    }
    text.resize(common::TrimCmdline(text).size());
    img.cmdline_raw = std::move(text);
  }
  if (auto cwd = env_.ReadLink(PidPath(pid, "cwd")); cwd.ok()) {
    img.cwd = std::move(*cwd);
    cwd_ok = true;
  }
  char state = '?';
  if (!fast) {
    if (auto text = env_.ReadFile(PidPath(pid, "stat"), 1024); text.ok()) {
      if (auto st = common::ParseProcStat(*text); st.ok()) {
        img.comm = std::move(st->comm);
        snap.ppid = st->ppid > 0 ? st->ppid : -1;
        snap.kernel_thread = st->IsKernelThread();
        snap.alive = true;
        state = st->state;
      }
    }
  } else if (auto comm = env_.ReadFile(PidPath(pid, "comm"), 64); comm.ok()) {
    std::string& c = *comm;
    if (!c.empty() && c.back() == '\n') c.pop_back();
    img.comm = std::move(c);
    snap.alive = true;
  }
  if (want_status && !snap.kernel_thread) {
    if (auto text = env_.ReadFile(PidPath(pid, "status"), 8192); text.ok()) {
      if (auto st = common::ParseProcStatus(*text); st.ok()) {
        snap.ruid = st->ruid;
        if (img.comm.empty()) img.comm = std::move(st->name);
        if (snap.ppid <= 0 && st->ppid > 0) snap.ppid = st->ppid;
      }
    }
  }
  // Gone (or going) before we could read it: no executable, or an empty command line from a
  // process that has no cwd any more or is a zombie.
  const bool dying = !cwd_ok || !snap.alive || state == 'Z' || state == 'X';
  img.partial = !snap.kernel_thread && (!exe_ok || (img.cmdline_raw.empty() && dying));
  return snap;
}

std::optional<HashJob> ProcessTracker::ResolveHash(int32_t pid, Image* image) {
  if (options_.hash_max_size == 0 || image->partial || image->exe.empty()) return std::nullopt;
  auto fi = env_.Stat(PidPath(pid, "exe"));
  if (!fi.ok()) fi = env_.Stat(image->exe);  // gone already: the file it ran, if still there
  if (!fi.ok()) {
    stats_.Count("hash_failed");
    return std::nullopt;
  }
  FileKey key = FileKey::From(*fi);
  image->file = key;
  if (fi->size > options_.hash_max_size) {
    stats_.Count("hash_skipped_size");
    return std::nullopt;
  }
  if (auto sha = hashes_.Get(key)) {
    stats_.Count("hash_cache_hits");
    image->sha256 = std::move(*sha);
    return std::nullopt;
  }
  stats_.Count("hash_cache_misses");
  return HashJob{key, PidPath(pid, "exe"), image->exe};
}

void ProcessTracker::PutEntry(int32_t pid, ProcEntry entry) {
  if (table_.Put(pid, std::move(entry))) stats_.Count("table_evictions");
}

std::shared_ptr<const Image> ProcessTracker::ParentImage(int32_t ppid) {
  if (ppid <= 0) return nullptr;
  ProcEntry* entry = table_.Find(ppid);
  if (entry && entry->image && !entry->image->partial) return entry->image;
  if (entry && entry->kernel_thread) return nullptr;
  // Not known (or known only from a fork): read it once and remember it.
  Snapshot snap = ReadProcess(ppid, /*fast=*/false, /*want_status=*/false);
  if (!snap.alive || snap.kernel_thread) return nullptr;  // gone, or not a user process
  if (snap.image->file == std::nullopt && !snap.image->partial && options_.hash_max_size > 0) {
    if (auto fi = env_.Stat(PidPath(ppid, "exe")); fi.ok()) {
      snap.image->file = FileKey::From(*fi);
      if (auto sha = hashes_.Get(*snap.image->file)) snap.image->sha256 = std::move(*sha);
    }
  }
  std::shared_ptr<const Image> image = snap.image;
  if (entry) {
    entry->image = image;
  } else {
    ProcEntry e;
    e.ppid = snap.ppid;
    e.epoch = epoch_;
    e.image = image;
    PutEntry(ppid, std::move(e));
  }
  return image->partial ? nullptr : image;
}

Event ProcessTracker::NewEvent(const char* action, int64_t ts_ms, int32_t pid, int32_t ppid,
                               std::optional<uint32_t> uid, const Image& image, std::string* user) {
  Event e;
  e.type = "process";
  e.action = action;
  e.ts_ms = ts_ms;
  e.data["pid"] = pid;
  if (ppid > 0) e.data["ppid"] = ppid;
  if (uid) AddUser(*uid, &e.data, user);
  AddImageFields(image, &e.data);
  return e;
}

void ProcessTracker::SetAggKey(Event* e, const Image* image, const std::string& user) {
  auto cmdline = e->data.find("cmdline");
  e->agg_key = AggKey(e->action, image, cmdline != e->data.end() ? cmdline->get_ref<const std::string&>() : "", user);
}

void ProcessTracker::AddImageFields(const Image& image, Json* data) const {
  Json& d = *data;
  if (!image.exe.empty()) d["exe"] = image.exe;
  if (!image.partial || !image.cmdline_raw.empty()) {
    d["cmdline"] = common::JoinCmdline(image.cmdline_raw);
    Json argv = Json::array();
    for (std::string& a : common::SplitCmdline(image.cmdline_raw)) argv.push_back(std::move(a));
    d["argv"] = std::move(argv);
    if (image.cmdline_truncated) d["cmdline_truncated"] = true;
  }
  if (!image.cwd.empty()) d["cwd"] = image.cwd;
  if (!image.comm.empty()) d["comm"] = image.comm;
}

void ProcessTracker::AddUser(uint32_t uid, Json* data, std::string* user_out) {
  *user_out = users_.Name(uid);
  (*data)["uid"] = uid;
  (*data)["user"] = *user_out;
}

void ProcessTracker::AddParent(const std::shared_ptr<const Image>& parent, Json* data) const {
  if (!parent) return;
  if (!parent->exe.empty()) (*data)["parent_exe"] = parent->exe;
  (*data)["parent_cmdline"] = common::JoinCmdline(parent->cmdline_raw);
}

void ProcessTracker::Finish(Event&& e, std::optional<HashJob> job) {
  if (e.data.contains("partial")) stats_.Count("partial");
  sink_.Submit(std::move(e), std::move(job));
}

void ProcessTracker::Seed() {
  auto names = env_.ListDir(options_.proc_root);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    if (table_.size() >= table_.capacity()) break;
    const int32_t pid = common::ParsePid(name);
    if (pid <= 0 || table_.Find(pid)) continue;
    Snapshot snap = ReadProcess(pid, /*fast=*/false, /*want_status=*/true);
    if (!snap.alive) continue;  // gone already
    ProcEntry e;
    e.ppid = snap.ppid;
    e.epoch = epoch_;
    e.kernel_thread = snap.kernel_thread || pid == kKthreaddPid;
    if (snap.ruid) {
      e.uid = *snap.ruid;
      e.uid_known = true;
    }
    if (!e.kernel_thread) {
      if (!snap.image->partial && options_.hash_max_size > 0) {
        if (auto fi = env_.Stat(PidPath(pid, "exe")); fi.ok()) {
          snap.image->file = FileKey::From(*fi);
          if (auto sha = hashes_.Get(*snap.image->file)) snap.image->sha256 = std::move(*sha);
        }
      }
      e.image = std::move(snap.image);
    }
    table_.Put(pid, std::move(e));
  }
}

void ProcessTracker::Handle(const ProcEvent& ev, int64_t ts_ms) {
  if (ev.pid <= 0) return;
  switch (ev.kind) {
    case ProcEvent::Kind::kFork:
      HandleFork(ev);
      break;
    case ProcEvent::Kind::kExec:
      HandleExec(ev, ts_ms);
      break;
    case ProcEvent::Kind::kExit:
      HandleExit(ev, ts_ms);
      break;
    case ProcEvent::Kind::kUid:
      HandleUid(ev);
      break;
  }
}

void ProcessTracker::HandleFork(const ProcEvent& ev) {
  ProcEntry child;
  child.ppid = ev.ppid;
  child.epoch = epoch_;
  if (ev.ppid == kKthreaddPid) {
    child.kernel_thread = true;  // until it execs (user-mode helpers do)
  } else if (const ProcEntry* parent = table_.Find(ev.ppid)) {
    child.image = parent->image;
    child.kernel_thread = parent->kernel_thread;
    child.exe_deleted_known = parent->exe_deleted_known;  // the same image: reported once, for the parent
    if (parent->uid_known && parent->epoch == epoch_) {
      child.uid = parent->uid;
      child.uid_known = true;
    }
  }
  if (ev.from_kernel) {
    child.uid = ev.ruid;
    child.uid_known = true;
  }
  PutEntry(ev.pid, std::move(child));
}

void ProcessTracker::HandleUid(const ProcEvent& ev) {
  if (ProcEntry* e = table_.Find(ev.pid)) {
    e->uid = ev.ruid;
    e->uid_known = true;
    e->epoch = epoch_;
  }
}

void ProcessTracker::HandleExec(const ProcEvent& ev, int64_t ts_ms) {
  const int32_t pid = ev.pid;
  if (ev.from_kernel) {
    EmitExec(pid, ts_ms, ImageFromKernel(ev), ev.ppid, ev.ruid);
    return;
  }
  ProcEntry known;  // what a fork (or an earlier exec) told us
  if (const ProcEntry* e = table_.Find(pid)) known = *e;
  const bool uid_fresh = known.uid_known && known.epoch == epoch_;

  // A fork seen in this epoch gave the ppid (and maybe the uid): comm will do for the rest.
  const bool fork_seen = known.ppid > 0 && known.epoch == epoch_ && !known.kernel_thread;
  Snapshot snap = ReadProcess(pid, /*fast=*/fork_seen, /*want_status=*/!uid_fresh);
  if (snap.kernel_thread) {
    ProcEntry e;
    e.ppid = snap.ppid;
    e.epoch = epoch_;
    e.kernel_thread = true;
    PutEntry(pid, std::move(e));
    return;
  }
  const int32_t ppid = snap.ppid > 0 ? snap.ppid : (known.ppid > 0 ? known.ppid : ev.ppid);
  std::optional<uint32_t> uid;
  if (uid_fresh)
    uid = known.uid;
  else if (snap.ruid)
    uid = snap.ruid;
  EmitExec(pid, ts_ms, std::move(snap.image), ppid, uid);
}

std::shared_ptr<Image> ProcessTracker::ImageFromKernel(const ProcEvent& ev) {
  auto image = std::make_shared<Image>();
  image->exe = ev.exe;
  if (image->exe.empty() && ev.filename.starts_with('/') && !ev.filename_truncated) image->exe = ev.filename;
  image->cmdline_raw.assign(common::TrimCmdline(ev.args));
  image->cmdline_truncated = ev.args_truncated;
  image->cwd = ev.cwd;
  image->comm = ev.comm;
  image->partial = image->exe.empty() && image->cmdline_raw.empty();
  return image;
}

void ProcessTracker::EmitExec(int32_t pid, int64_t ts_ms, std::shared_ptr<Image> image, int32_t ppid,
                              std::optional<uint32_t> uid) {
  Image& img = *image;
  std::optional<HashJob> job = ResolveHash(pid, &img);
  std::shared_ptr<const Image> parent = ParentImage(ppid);

  std::string user;
  Event e = NewEvent("exec", ts_ms, pid, ppid, uid, img, &user);
  Json& d = e.data;
  if (!img.sha256.empty()) d["sha256"] = img.sha256;
  AddParent(parent, &d);
  if (img.partial) d["partial"] = true;
  SetAggKey(&e, &img, user);

  ProcEntry entry;
  entry.ppid = ppid;
  entry.epoch = epoch_;
  if (uid) {
    entry.uid = *uid;
    entry.uid_known = true;
  }
  // A program run from a deleted file (or a memfd) says so in its exec event already.
  entry.exe_deleted_known = img.exe.ends_with(kDeletedSuffix);
  entry.image = std::move(image);
  PutEntry(pid, std::move(entry));

  Finish(std::move(e), std::move(job));
}

void ProcessTracker::ScanDeletedExes(int64_t ts_ms) {
  // Collect first: emitting may add the parent to the table, which ForEach forbids.
  std::vector<std::pair<int32_t, std::string>> deleted;
  table_.ForEach([&](int32_t pid, ProcEntry& entry) {
    if (entry.kernel_thread || entry.exe_deleted_known) return;
    auto exe = env_.ReadLink(PidPath(pid, "exe"));
    if (!exe.ok() || !exe->ends_with(kDeletedSuffix)) return;  // gone, unreadable, or intact
    entry.exe_deleted_known = true;
    deleted.emplace_back(pid, std::move(*exe));
  });
  for (auto& [pid, exe] : deleted) {
    ProcEntry* entry = table_.Find(pid);
    if (entry == nullptr) continue;
    // The image read at exec (or start-up) with the link as it reads now; read afresh when
    // the table has none (a forked child of a process it did not know) or only a partial one.
    std::shared_ptr<Image> image;
    int32_t ppid = entry->ppid;
    std::optional<uint32_t> uid;
    if (entry->uid_known && entry->epoch == epoch_) uid = entry->uid;
    if (entry->image && !entry->image->partial) {
      image = std::make_shared<Image>(*entry->image);
    } else {
      Snapshot snap = ReadProcess(pid, /*fast=*/false, /*want_status=*/!uid);
      if (!snap.alive || snap.kernel_thread) continue;  // gone meanwhile
      image = std::move(snap.image);
      if (snap.ppid > 0) ppid = snap.ppid;
      if (!uid && snap.ruid) uid = snap.ruid;
    }
    image->exe = std::move(exe);
    std::string user;
    Event e = NewEvent("exe_deleted", ts_ms, pid, ppid, uid, *image, &user);
    Json& d = e.data;
    if (!image->sha256.empty()) d["sha256"] = image->sha256;  // of the file as it was run
    if (ppid > 0) {
      if (const ProcEntry* parent = table_.Find(ppid); parent && parent->image && !parent->image->partial)
        AddParent(parent->image, &d);
    }
    if (image->partial) d["partial"] = true;
    SetAggKey(&e, image.get(), user);
    Finish(std::move(e), std::nullopt);
  }
}

void ProcessTracker::HandleExit(const ProcEvent& ev, int64_t ts_ms) {
  const int32_t pid = ev.pid;
  std::optional<ProcEntry> entry = table_.Take(pid);
  if (entry && entry->kernel_thread) return;

  std::shared_ptr<const Image> image = entry ? entry->image : nullptr;
  int32_t ppid = entry && entry->ppid > 0 ? entry->ppid : ev.ppid;
  std::optional<uint32_t> uid;
  if (entry && entry->uid_known) uid = entry->uid;
  if (ev.from_kernel) {
    if (ev.ppid > 0) ppid = ev.ppid;
    if (!uid) uid = ev.ruid;
  }
  bool partial = !image || image->partial;

  if (!image && ev.from_kernel) {
    // Not seen starting: the kernel told its name; /proc has nothing more by now.
    auto fresh = std::make_shared<Image>();
    fresh->partial = true;
    fresh->comm = ev.comm;
    image = std::move(fresh);
  } else if (!image) {
    // Not seen starting (evicted, or started while notifications were lost): what is left
    // in /proc, if the parent has not reaped it yet.
    auto fresh = std::make_shared<Image>();
    fresh->partial = true;
    if (auto text = env_.ReadFile(PidPath(pid, "stat"), 1024); text.ok()) {
      if (auto st = common::ParseProcStat(*text); st.ok()) {
        if (st->IsKernelThread()) return;
        fresh->comm = std::move(st->comm);
        if (ppid <= 0 && st->ppid > 0) ppid = st->ppid;
      }
    }
    image = std::move(fresh);
  }

  std::string user;
  Event e = NewEvent("exit", ts_ms, pid, ppid, uid, *image, &user);
  Json& d = e.data;
  std::string sha = image->sha256;
  if (sha.empty() && image->file) sha = hashes_.Get(*image->file).value_or("");
  if (!sha.empty()) d["sha256"] = sha;
  if (ppid > 0) {
    if (const ProcEntry* parent = table_.Find(ppid); parent && parent->image && !parent->image->partial)
      AddParent(parent->image, &d);
  }
  if (ev.exit_status >= 0) {
    const int sig = ev.exit_status & 0x7f;
    if (sig == 0) {
      d["exit_code"] = (ev.exit_status >> 8) & 0xff;
    } else {
      d["exit_code"] = 128 + sig;
      d["signal"] = sig;
    }
  }
  if (partial) d["partial"] = true;
  SetAggKey(&e, image.get(), user);
  Finish(std::move(e), std::nullopt);
}

}  // namespace vigil::process
