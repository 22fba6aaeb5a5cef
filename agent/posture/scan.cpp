#include "agent/posture/scan.h"

#include <fnmatch.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "agent/posture/sources.h"
#include "agent/sbom/inventory.h"

namespace vigil::posture {
namespace {

using Json = nlohmann::json;

std::string Bound(std::string s, size_t max = kMaxEvidenceBytes) {
  if (s.size() <= max) return s;
  s.resize(max - 3);
  // Do not leave half a UTF-8 sequence before the ellipsis.
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
  if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  return s + "...";
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// Whitespace runs become one space (sysctl values such as "4\t4\t1\t7").
std::string NormaliseSpaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : Trim(s)) {
    if (c == ' ' || c == '\t' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  std::string t = Trim(s);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size()) return std::nullopt;
  return v;
}

std::string OctalMode(uint32_t m) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", m & 07777);
  return buf;
}

RuleResult R(Outcome o, std::string evidence) { return {o, Bound(std::move(evidence))}; }

Outcome MissingOutcome(MissingIs m) {
  switch (m) {
    case MissingIs::kPass: return Outcome::kPass;
    case MissingIs::kFail: return Outcome::kFail;
    case MissingIs::kNotApplicable: return Outcome::kNotApplicable;
  }
  return Outcome::kNotApplicable;
}

// A text to match line by line, and how to name a line in evidence.
struct Source {
  std::string name;  // "/etc/ssh/sshd_config" or "command sshd_t"
  std::string text;
  bool truncated = false;
};

// Applies matches / not_matches / capture+compare to sources, in order.
RuleResult MatchContent(const Rule& r, const std::vector<Source>& sources) {
  auto where = [](const Source& s, size_t line, std::string_view text) {
    return s.name + ":" + std::to_string(line) + ": " + std::string(text);
  };
  std::string names;
  for (const Source& s : sources) names += (names.empty() ? "" : ", ") + s.name;
  std::vector<std::string> passed;
  if (r.not_matches) {
    std::optional<RuleResult> bad;
    for (const Source& s : sources) {
      ForEachLine(s.text, [&](std::string_view line, size_t n) {
        const Regex::Match m = r.not_matches->Search(line);
        if (m == Regex::Match::kNo) return true;
        bad = m == Regex::Match::kError ? R(Outcome::kError, where(s, n, "") + "pattern over its match limit")
                                        : R(Outcome::kFail, where(s, n, line));
        return false;
      });
      if (bad) return *bad;
    }
    passed.push_back("no line of " + names + " matches '" + r.not_matches->pattern() + "'");
  }
  if (r.matches) {
    std::optional<RuleResult> found;
    for (const Source& s : sources) {
      ForEachLine(s.text, [&](std::string_view line, size_t n) {
        const Regex::Match m = r.matches->Search(line);
        if (m == Regex::Match::kNo) return true;
        found = m == Regex::Match::kError ? R(Outcome::kError, where(s, n, "") + "pattern over its match limit")
                                          : R(Outcome::kPass, where(s, n, line));
        return false;
      });
      if (found) break;
    }
    if (!found) return R(Outcome::kFail, "no line of " + names + " matches '" + r.matches->pattern() + "'");
    if (found->outcome != Outcome::kPass) return *found;
    passed.push_back(found->evidence);
  }
  if (r.capture) {
    std::optional<RuleResult> found;
    for (const Source& s : sources) {
      ForEachLine(s.text, [&](std::string_view line, size_t n) {
        std::string group;
        const Regex::Match m = r.capture->Search(line, &group);
        if (m == Regex::Match::kNo) return true;
        if (m == Regex::Match::kError) {
          found = R(Outcome::kError, where(s, n, "") + "pattern over its match limit");
          return false;
        }
        const std::optional<int64_t> v = ParseInt(group);
        if (!v) {
          found = R(Outcome::kFail, where(s, n, line) + " (value '" + group + "' is not an integer)");
        } else {
          const bool ok = r.compare->Holds(*v);
          found = R(ok ? Outcome::kPass : Outcome::kFail,
                    where(s, n, line) + (ok ? "" : " (expected " + r.compare->ToString() + ")"));
        }
        return false;
      });
      if (found) break;
    }
    if (!found) {
      if (!r.default_value)
        return R(Outcome::kFail, "no line of " + names + " matches '" + r.capture->pattern() + "'");
      const bool ok = r.compare->Holds(*r.default_value);
      found = R(ok ? Outcome::kPass : Outcome::kFail, "not set in " + names + "; default " +
                                                         std::to_string(*r.default_value) +
                                                         (ok ? "" : " (expected " + r.compare->ToString() + ")"));
    }
    if (found->outcome != Outcome::kPass) return *found;
    passed.push_back(found->evidence);
  }
  std::string ev;
  for (const std::string& p : passed) ev += (ev.empty() ? "" : "; ") + p;
  for (const Source& s : sources)
    if (s.truncated) ev += "; " + s.name + " read in part (larger than " + std::to_string(kMaxFileBytes) + " bytes)";
  return R(Outcome::kPass, ev);
}

// Kernel module state, read once per scan.
struct Modules {
  bool have_proc = false;
  std::set<std::string> loaded;
  ModprobeConfig config;
  std::map<std::string, std::string> install_file;  // module -> file of its install line
  std::vector<std::string> releases;
  std::set<std::string> available;  // modules.dep and modules.builtin of every release
  std::string status;               // a read error, if any
};

// Where services are enabled, read once per scan: unit name -> the link that enables it.
struct Services {
  bool any_init = false;
  std::map<std::string, std::string> systemd;  // "ssh.service" -> wants link path
  std::set<std::string> masked;
  std::vector<std::pair<std::string, std::string>> rc;  // (link name, path) of S* links
};

struct Proc {
  std::string pid;
  std::string comm;
  std::string exe_base;
};

class Scanner {
 public:
  Scanner(const Policy& policy, const ScanTarget& target) : policy_(policy), t_(target), env_(*target.env) {
    root_ = target.root.empty() ? "/" : target.root;
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  RuleResult Eval(const Rule& r) {
    switch (r.kind) {
      case RuleKind::kFile: return EvalFile(r);
      case RuleKind::kDirectory: return EvalDirectory(r);
      case RuleKind::kSysctl: return EvalSysctl(r);
      case RuleKind::kModule: return EvalModule(r);
      case RuleKind::kMount: return EvalMount(r);
      case RuleKind::kProcess: return EvalProcess(r);
      case RuleKind::kPackage: return EvalPackage(r);
      case RuleKind::kService: return EvalService(r);
      case RuleKind::kCommand: return EvalCommand(r);
    }
    return R(Outcome::kError, "unknown rule kind");
  }

  // Combines the rules of a list (docs/posture.md, "Conditions").
  Outcome EvalList(const RuleList& list, std::vector<RuleResult>* results) {
    size_t pass = 0, fail = 0, error = 0;
    for (const Rule& r : list.rules) {
      RuleResult rr = Eval(r);
      pass += rr.outcome == Outcome::kPass;
      fail += rr.outcome == Outcome::kFail;
      error += rr.outcome == Outcome::kError;
      results->push_back(std::move(rr));
    }
    switch (list.condition) {
      case Condition::kAll:
        if (fail) return Outcome::kFail;
        if (error) return Outcome::kError;
        return pass ? Outcome::kPass : Outcome::kNotApplicable;
      case Condition::kAny:
        if (pass) return Outcome::kPass;
        if (error) return Outcome::kError;
        return fail ? Outcome::kFail : Outcome::kNotApplicable;
      case Condition::kNone:
        if (pass) return Outcome::kFail;
        if (error) return Outcome::kError;
        return fail ? Outcome::kPass : Outcome::kNotApplicable;
    }
    return Outcome::kError;
  }

 private:
  std::string Under(std::string_view path) const {
    if (root_ == "/") return std::string(path);
    return root_ + std::string(path);
  }

  // The paths (as the policy names them) that exist for a target with an optional glob in its
  // last component, sorted; a Status for a read error other than absence.
  Result<std::vector<std::string>> Expand(const std::string& pattern) {
    const size_t slash = pattern.rfind('/');
    const std::string dir = pattern.substr(0, slash + 1);
    const std::string base = pattern.substr(slash + 1);
    std::vector<std::string> out;
    if (base.find_first_of("*?[") == std::string::npos) {
      Result<FileInfo> info = env_.Stat(Under(pattern));
      if (info.ok()) out.push_back(pattern);
      else if (info.status().code() != Status::Code::kNotFound) return info.status();
      return out;
    }
    Result<std::vector<std::string>> names = env_.ListDir(Under(dir == "/" ? "/" : dir.substr(0, dir.size() - 1)));
    if (!names.ok()) {
      if (names.status().code() == Status::Code::kNotFound) return out;
      return names.status();
    }
    for (const std::string& n : *names)
      if (fnmatch(base.c_str(), n.c_str(), FNM_PERIOD) == 0) out.push_back(dir + n);
    std::sort(out.begin(), out.end());
    return out;
  }

  const std::map<uint32_t, std::string>& Names(bool groups) {
    auto& cache = groups ? group_names_ : user_names_;
    if (!cache) {
      Result<std::string> text = env_.ReadFile(Under(groups ? "/etc/group" : "/etc/passwd"), kMaxFileBytes);
      cache = text.ok() ? ParseIdNames(*text) : std::map<uint32_t, std::string>{};
    }
    return *cache;
  }

  // True when id (with its name from the root's passwd/group) is one of `allowed`.
  bool IdAllowed(uint32_t id, bool group, const std::vector<std::string>& allowed, std::string* shown) {
    const auto& names = Names(group);
    auto it = names.find(id);
    *shown = it == names.end() ? std::to_string(id) : it->second + "(" + std::to_string(id) + ")";
    for (const std::string& a : allowed) {
      if (a == std::to_string(id)) return true;
      if (it != names.end() && a == it->second) return true;
    }
    return false;
  }

  static std::string JoinList(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : "|") + x;
    return s;
  }

  RuleResult EvalFile(const Rule& r) {
    std::vector<std::string> files;
    for (const std::string& t : r.targets) {
      Result<std::vector<std::string>> found = Expand(t);
      if (!found.ok()) return R(Outcome::kError, std::string(found.status().message()));
      files.insert(files.end(), found->begin(), found->end());
    }
    const std::string all_targets = [&] {
      std::string s;
      for (const std::string& t : r.targets) s += (s.empty() ? "" : ", ") + t;
      return s;
    }();
    if (files.empty()) {
      if (r.exists == false) return R(Outcome::kPass, "absent: " + all_targets);
      return R(MissingOutcome(r.missing), "not found: " + all_targets);
    }
    if (r.exists == false) return R(Outcome::kFail, "present: " + files.front());
    std::vector<std::string> passed;
    if (r.mode_exact || r.mode_max || !r.owners.empty() || !r.groups.empty()) {
      for (const std::string& f : files) {
        Result<FileInfo> info = env_.Stat(Under(f));
        if (!info.ok()) return R(Outcome::kError, std::string(info.status().message()));
        const uint32_t mode = info->mode & 07777;
        std::string user, group;
        const bool user_ok = r.owners.empty() || IdAllowed(info->uid, false, r.owners, &user);
        const bool group_ok = r.groups.empty() || IdAllowed(info->gid, true, r.groups, &group);
        std::string ev = f + ": mode " + OctalMode(mode);
        if (!r.owners.empty()) ev += ", owner " + user;
        if (!r.groups.empty()) ev += ", group " + group;
        if (r.mode_exact && mode != *r.mode_exact)
          return R(Outcome::kFail, ev + " (expected mode " + OctalMode(*r.mode_exact) + ")");
        if (r.mode_max && (mode & ~*r.mode_max) != 0)
          return R(Outcome::kFail, ev + " (expected at most " + OctalMode(*r.mode_max) + ")");
        if (!user_ok) return R(Outcome::kFail, ev + " (expected owner " + JoinList(r.owners) + ")");
        if (!group_ok) return R(Outcome::kFail, ev + " (expected group " + JoinList(r.groups) + ")");
        passed.push_back(ev);
      }
    }
    if (r.matches || r.not_matches || r.capture) {
      std::vector<Source> sources;
      for (const std::string& f : files) {
        Result<FileInfo> info = env_.Stat(Under(f));
        if (info.ok() && info->is_dir) continue;  // a glob that also names a directory
        Result<std::string> text = env_.ReadFile(Under(f), kMaxFileBytes + 1);
        if (!text.ok()) return R(Outcome::kError, std::string(text.status().message()));
        Source s{f, std::move(*text), false};
        if (s.text.size() > kMaxFileBytes) {
          s.text.resize(kMaxFileBytes);
          s.truncated = true;
        }
        sources.push_back(std::move(s));
      }
      if (sources.empty()) return R(MissingOutcome(r.missing), "no regular file: " + all_targets);
      RuleResult content = MatchContent(r, sources);
      if (content.outcome != Outcome::kPass) return content;
      passed.push_back(content.evidence);
    }
    if (passed.empty()) {
      std::string ev = "present: " + files.front();
      if (files.size() > 1) ev += " and " + std::to_string(files.size() - 1) + " more";
      return R(Outcome::kPass, ev);
    }
    std::string ev;
    for (const std::string& p : passed) ev += (ev.empty() ? "" : "; ") + p;
    return R(Outcome::kPass, ev);
  }

  RuleResult EvalDirectory(const Rule& r) {
    Result<FileInfo> info = env_.Stat(Under(r.target));
    if (!info.ok() && info.status().code() != Status::Code::kNotFound)
      return R(Outcome::kError, std::string(info.status().message()));
    if (!info.ok() || !info->is_dir) {
      if (r.exists == false) return R(Outcome::kPass, "absent: " + r.target);
      return R(MissingOutcome(r.missing), "not found: " + r.target);
    }
    if (r.exists == false) return R(Outcome::kFail, "present: " + r.target);
    if (!r.contains && !r.not_contains) return R(Outcome::kPass, "present: " + r.target);
    Result<std::vector<std::string>> names = env_.ListDir(Under(r.target));
    if (!names.ok()) return R(Outcome::kError, std::string(names.status().message()));
    std::sort(names->begin(), names->end());
    const std::string dir = r.target == "/" ? "/" : r.target + "/";
    std::string ev;
    if (r.not_contains) {
      for (const std::string& n : *names) {
        const Regex::Match m = r.not_contains->Search(n);
        if (m == Regex::Match::kError) return R(Outcome::kError, dir + n + ": pattern over its match limit");
        if (m == Regex::Match::kYes) return R(Outcome::kFail, "present: " + dir + n);
      }
      ev = "no entry of " + r.target + " matches '" + r.not_contains->pattern() + "'";
    }
    if (r.contains) {
      bool found = false;
      for (const std::string& n : *names) {
        const Regex::Match m = r.contains->Search(n);
        if (m == Regex::Match::kError) return R(Outcome::kError, dir + n + ": pattern over its match limit");
        if (m == Regex::Match::kYes) {
          ev += (ev.empty() ? "" : "; ") + std::string("present: ") + dir + n;
          found = true;
          break;
        }
      }
      if (!found) return R(Outcome::kFail, "no entry of " + r.target + " matches '" + r.contains->pattern() + "'");
    }
    return R(Outcome::kPass, ev);
  }

  RuleResult EvalSysctl(const Rule& r) {
    std::string rel = r.target;
    std::replace(rel.begin(), rel.end(), '.', '/');
    Result<std::string> text = env_.ReadFile(Under("/proc/sys/" + rel), 64 << 10);
    if (!text.ok()) {
      if (text.status().code() == Status::Code::kNotFound)
        return R(MissingOutcome(r.missing), r.target + ": not present (no /proc/sys/" + rel + ")");
      return R(Outcome::kError, std::string(text.status().message()));
    }
    const std::string v = NormaliseSpaces(*text);
    const std::string ev = r.target + " = " + v;
    if (r.value && v != NormaliseSpaces(*r.value)) return R(Outcome::kFail, ev + " (expected " + *r.value + ")");
    if (r.compare) {
      const std::optional<int64_t> n = ParseInt(v);
      if (!n) return R(Outcome::kFail, ev + " (not an integer)");
      if (!r.compare->Holds(*n)) return R(Outcome::kFail, ev + " (expected " + r.compare->ToString() + ")");
    }
    if (r.matches) {
      const Regex::Match m = r.matches->Search(v);
      if (m == Regex::Match::kError) return R(Outcome::kError, ev + ": pattern over its match limit");
      if (m == Regex::Match::kNo) return R(Outcome::kFail, ev + " (expected to match '" + r.matches->pattern() + "')");
    }
    if (r.not_matches) {
      const Regex::Match m = r.not_matches->Search(v);
      if (m == Regex::Match::kError) return R(Outcome::kError, ev + ": pattern over its match limit");
      if (m == Regex::Match::kYes) return R(Outcome::kFail, ev + " (matches '" + r.not_matches->pattern() + "')");
    }
    return R(Outcome::kPass, ev);
  }


  const Modules& LoadModules() {
    if (modules_) return *modules_;
    modules_.emplace();
    Modules& m = *modules_;
    if (Result<std::string> t = env_.ReadFile(Under("/proc/modules"), kMaxFileBytes); t.ok()) {
      m.have_proc = true;
      m.loaded = ParseProcModules(*t);
    }
    // modprobe.d(5): files of the same name in an earlier directory override later ones.
    std::map<std::string, std::string> files;  // name -> path
    for (const char* dir : {"/lib/modprobe.d", "/usr/lib/modprobe.d", "/run/modprobe.d", "/etc/modprobe.d"}) {
      Result<std::vector<std::string>> names = env_.ListDir(Under(dir));
      if (!names.ok()) continue;
      for (const std::string& n : *names)
        if (n.ends_with(".conf")) files[n] = std::string(dir) + "/" + n;
    }
    std::vector<std::string> order;
    for (const auto& [name, path] : files) order.push_back(path);
    order.push_back("/etc/modprobe.conf");
    for (const std::string& path : order) {
      Result<std::string> t = env_.ReadFile(Under(path), kMaxFileBytes);
      if (!t.ok()) continue;
      ModprobeConfig one;
      ParseModprobeConf(*t, &one);
      for (auto& [mod, cmd] : one.install) {
        m.config.install[mod] = cmd;
        m.install_file[mod] = path;
      }
      m.config.blacklist.insert(one.blacklist.begin(), one.blacklist.end());
    }
    if (root_ == "/") {
      std::vector<std::string> u = env_.Uname();
      if (u.size() > 1 && !u[1].empty()) m.releases.push_back(u[1]);
    } else if (Result<std::vector<std::string>> names = env_.ListDir(Under("/lib/modules")); names.ok()) {
      m.releases = *names;
      std::sort(m.releases.begin(), m.releases.end());
    }
    for (const std::string& rel : m.releases) {
      for (const char* f : {"modules.dep", "modules.builtin"}) {
        Result<std::string> t = env_.ReadFile(Under("/lib/modules/" + rel + "/" + f), 16 << 20);
        if (!t.ok()) continue;
        std::set<std::string> names = ParseModuleList(*t);
        m.available.insert(names.begin(), names.end());
      }
    }
    return m;
  }

  RuleResult EvalModule(const Rule& r) {
    const Modules& m = LoadModules();
    const std::string key = ModuleKey(r.target);
    std::vector<std::string> ev;
    if (r.loaded) {
      if (!m.have_proc) return R(MissingOutcome(r.missing), "no /proc/modules");
      const bool is = m.loaded.count(key) > 0;
      if (is != *r.loaded) return R(Outcome::kFail, r.target + (is ? " is loaded" : " is not loaded"));
      ev.push_back(r.target + (is ? " is loaded" : " is not loaded"));
    }
    if (r.loadable) {
      bool loadable = false;
      std::string why;
      auto inst = m.config.install.find(key);
      std::string first_word;
      if (inst != m.config.install.end()) {
        first_word = inst->second.substr(0, inst->second.find_first_of(" \t"));
        first_word = first_word.substr(first_word.rfind('/') + 1);
      }
      if (first_word == "false" || first_word == "true") {
        why = m.install_file.at(key) + ": install " + r.target + " " + inst->second;
      } else if (m.available.count(key)) {
        loadable = true;
        why = r.target + " is in modules.dep or modules.builtin of " + (m.releases.empty() ? "" : m.releases.front());
        if (m.config.blacklist.count(key)) why += " (blacklisted, which stops only automatic loading)";
      } else {
        why = "no " + r.target + " module for kernel " +
              (m.releases.empty() ? std::string("(no /lib/modules)") : m.releases.front());
      }
      if (loadable != *r.loadable) return R(Outcome::kFail, why);
      ev.push_back(why);
    }
    std::string s;
    for (const std::string& e : ev) s += (s.empty() ? "" : "; ") + e;
    return R(Outcome::kPass, s);
  }

  RuleResult EvalMount(const Rule& r) {
    if (!mounts_) {
      mounts_.emplace();
      mounts_read_ = false;
      for (const char* path : {"/proc/self/mounts", "/proc/mounts"}) {
        Result<std::string> t = env_.ReadFile(Under(path), kMaxFileBytes);
        if (!t.ok()) continue;
        *mounts_ = ParseMounts(*t);
        mounts_file_ = path;
        mounts_read_ = true;
        break;
      }
    }
    if (!mounts_read_) return R(MissingOutcome(r.missing), "no mount table (/proc/self/mounts)");
    const MountEntry* e = nullptr;
    for (const MountEntry& m : *mounts_)
      if (m.mount_point == r.target) e = &m;  // the last mount on a point is the one in effect
    if (!e) {
      if (r.separate == true) return R(Outcome::kFail, r.target + " is not a separate mount");
      if (r.separate == false && r.options.empty() && r.not_options.empty())
        return R(Outcome::kPass, r.target + " is not a separate mount");
      return R(MissingOutcome(r.missing), r.target + " is not a separate mount");
    }
    std::string opts;
    for (const std::string& o : e->options) opts += (opts.empty() ? "" : ",") + o;
    const std::string ev = mounts_file_ + ":" + std::to_string(e->line) + ": " + e->device + " " + e->mount_point + " " +
                           e->type + " " + opts;
    if (r.separate == false) return R(Outcome::kFail, ev);
    auto has = [&](const std::string& o) { return std::find(e->options.begin(), e->options.end(), o) != e->options.end(); };
    for (const std::string& o : r.options)
      if (!has(o)) return R(Outcome::kFail, ev + " (no " + o + ")");
    for (const std::string& o : r.not_options)
      if (has(o)) return R(Outcome::kFail, ev + " (has " + o + ")");
    return R(Outcome::kPass, ev);
  }


  RuleResult EvalProcess(const Rule& r) {
    if (!procs_) {
      procs_.emplace();
      Result<std::vector<std::string>> names = env_.ListDir(Under("/proc"));
      have_proc_ = names.ok();
      if (names.ok()) {
        for (const std::string& n : *names) {
          if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
          Proc p;
          p.pid = n;
          if (Result<std::string> c = env_.ReadFile(Under("/proc/" + n + "/comm"), 256); c.ok()) p.comm = Trim(*c);
          if (Result<std::string> l = env_.ReadLink(Under("/proc/" + n + "/exe")); l.ok()) {
            std::string exe = *l;
            if (exe.ends_with(" (deleted)")) exe.resize(exe.size() - 10);
            p.exe_base = exe.substr(exe.rfind('/') + 1);
          }
          if (!p.comm.empty() || !p.exe_base.empty()) procs_->push_back(std::move(p));
        }
      }
    }
    if (!have_proc_) return R(MissingOutcome(r.missing), "no /proc");
    for (const std::string& name : r.targets) {
      // comm holds at most 15 characters of the name.
      const std::string comm = name.substr(0, 15);
      for (const Proc& p : *procs_) {
        if (p.comm == comm || p.exe_base == name) {
          const std::string ev = "pid " + p.pid + " (" + (p.exe_base.empty() ? p.comm : p.exe_base) + ") is running";
          return R(*r.running ? Outcome::kPass : Outcome::kFail, ev);
        }
      }
    }
    const std::string ev = "no process named " + JoinList(r.targets);
    return R(*r.running ? Outcome::kFail : Outcome::kPass, ev);
  }

  RuleResult EvalPackage(const Rule& r) {
    if (!inventory_) {
      sbom::InventoryPaths paths = sbom::PathsUnderRoot(root_);
      paths.modules_dir = root_ == "/" ? "" : paths.modules_dir;
      inventory_.emplace(sbom::ReadInventory(env_, paths));
    }
    if (!inventory_->ok()) {
      if (inventory_->status().code() == Status::Code::kNotFound)
        return R(MissingOutcome(r.missing), "no package database");
      return R(Outcome::kError, std::string(inventory_->status().message()));
    }
    for (const std::string& name : r.targets) {
      for (const sbom::Package& p : (*inventory_)->packages) {
        if (p.name != name) continue;
        const std::string ev = p.name + " " + p.version + " (" + std::string(sbom::PackageFormatName(p.format)) +
                               ") is installed";
        return R(*r.installed ? Outcome::kPass : Outcome::kFail, ev);
      }
    }
    return R(*r.installed ? Outcome::kFail : Outcome::kPass, "not installed: " + JoinList(r.targets));
  }


  const Services& LoadServices() {
    if (services_) return *services_;
    services_.emplace();
    Services& s = *services_;
    for (const char* base : {"/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}) {
      Result<std::vector<std::string>> names = env_.ListDir(Under(base));
      if (!names.ok()) continue;
      s.any_init = true;
      std::sort(names->begin(), names->end());
      for (const std::string& n : *names) {
        const std::string path = std::string(base) + "/" + n;
        if (n.ends_with(".wants") || n.ends_with(".requires")) {
          Result<std::vector<std::string>> units = env_.ListDir(Under(path));
          if (!units.ok()) continue;
          for (const std::string& u : *units) s.systemd.emplace(u, path + "/" + u);
        } else if (std::string_view(base) == "/etc/systemd/system" || std::string_view(base) == "/run/systemd/system") {
          if (Result<std::string> l = env_.ReadLink(Under(path)); l.ok() && *l == "/dev/null") s.masked.insert(n);
        }
      }
    }
    for (const char* dir : {"/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rc.d"}) {
      Result<std::vector<std::string>> names = env_.ListDir(Under(dir));
      if (!names.ok()) continue;
      s.any_init = true;
      std::sort(names->begin(), names->end());
      for (const std::string& n : *names)
        if (n.starts_with('S')) s.rc.emplace_back(n, std::string(dir) + "/" + n);
    }
    if (!s.any_init) {
      Result<FileInfo> inittab = env_.Stat(Under("/etc/inittab"));
      s.any_init = inittab.ok();
    }
    return s;
  }

  RuleResult EvalService(const Rule& r) {
    const Services& s = LoadServices();
    if (!s.any_init) return R(MissingOutcome(r.missing), "no init system configuration found (systemd, rc.d)");
    for (const std::string& name : r.targets) {
      const std::string unit = name.find('.') == std::string::npos ? name + ".service" : name;
      if (!s.masked.count(unit)) {
        if (auto it = s.systemd.find(unit); it != s.systemd.end())
          return R(*r.enabled ? Outcome::kPass : Outcome::kFail, "enabled: " + it->second);
      }
      // rc links: S, an optional two-digit order, then the script's name.
      const std::string script = name.substr(0, name.find('.'));
      for (const auto& [link, path] : s.rc) {
        std::string_view rest = std::string_view(link).substr(1);
        while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
        if (rest == script) return R(*r.enabled ? Outcome::kPass : Outcome::kFail, "enabled: " + path);
      }
    }
    return R(*r.enabled ? Outcome::kFail : Outcome::kPass, "not enabled: " + JoinList(r.targets));
  }

  RuleResult EvalCommand(const Rule& r) {
    const CommandSpec* spec = policy_.FindCommand(r.target);
    if (!spec) return R(Outcome::kError, "command '" + r.target + "' not declared");
    if (!t_.runner) return R(Outcome::kNotApplicable, "commands run only on the live system");
    auto it = command_cache_.find(spec->id);
    if (it == command_cache_.end())
      it = command_cache_.emplace(spec->id, t_.runner->Run(spec->argv, spec->timeout_ms, kMaxCommandOutputBytes)).first;
    const Result<CommandOutput>& out = it->second;
    const std::string name = "command " + spec->id;
    if (!out.ok()) {
      if (out.status().code() == Status::Code::kNotFound)
        return R(MissingOutcome(r.missing), name + ": " + std::string(out.status().message()));
      return R(Outcome::kError, name + ": " + std::string(out.status().message()));
    }
    if (out->timed_out)
      return R(Outcome::kError, name + ": timed out after " + std::to_string(spec->timeout_ms / 1000) + " s");
    std::string ev = name + " exited " + std::to_string(out->exit_code);
    if (r.exit_code && out->exit_code != *r.exit_code)
      return R(Outcome::kFail, ev + " (expected " + std::to_string(*r.exit_code) + ")");
    if (!r.matches && !r.not_matches && !r.capture) return R(Outcome::kPass, ev);
    std::vector<Source> sources{{name, out->out, out->truncated}};
    return MatchContent(r, sources);
  }

  const Policy& policy_;
  const ScanTarget& t_;
  Env& env_;
  std::string root_;
  std::optional<std::map<uint32_t, std::string>> user_names_, group_names_;
  std::optional<Modules> modules_;
  std::optional<std::vector<MountEntry>> mounts_;
  bool mounts_read_ = false;
  std::string mounts_file_;
  std::optional<std::vector<Proc>> procs_;
  bool have_proc_ = false;
  std::optional<Result<sbom::Inventory>> inventory_;
  std::optional<Services> services_;
  std::map<std::string, Result<CommandOutput>> command_cache_;
};

std::string JoinEvidence(const std::vector<RuleResult>& rules, Outcome want) {
  std::string ev;
  for (const RuleResult& r : rules) {
    if (r.outcome != want || r.evidence.empty()) continue;
    ev += (ev.empty() ? "" : "; ") + r.evidence;
  }
  return Bound(ev, kMaxCheckEvidenceBytes);
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
    case Outcome::kNotApplicable: return "not_applicable";
    case Outcome::kError: return "error";
  }
  return "error";
}

std::optional<double> ScanSummary::Score() const {
  if (pass + fail == 0) return std::nullopt;
  return 100.0 * static_cast<double>(pass) / static_cast<double>(pass + fail);
}

ScanReport RunScan(std::shared_ptr<const Policy> policy, const ScanTarget& target, const ScanOptions& options) {
  ScanReport report;
  report.policy = policy;
  report.root = target.root.empty() ? "/" : target.root;
  Env& env = *target.env;
  report.started_ms = env.clock().NowMs();
  const int64_t t0 = env.clock().MonotonicMs();
  Scanner scanner(*policy, target);

  std::vector<const Check*> selected;
  for (const Check& c : policy->checks) {
    if (!options.only.empty() && std::find(options.only.begin(), options.only.end(), c.id) == options.only.end())
      continue;
    selected.push_back(&c);
  }
  // The policy's own requirements, once.
  std::optional<std::string> policy_na;
  if (policy->requirements) {
    std::vector<RuleResult> rr;
    const Outcome o = scanner.EvalList(*policy->requirements, &rr);
    if (o != Outcome::kPass) {
      std::string why;
      for (const RuleResult& r : rr) why += (why.empty() ? "" : "; ") + r.evidence;
      policy_na = Bound("the policy does not apply here: " + why, kMaxCheckEvidenceBytes);
    }
  }
  for (size_t i = 0; i < selected.size(); ++i) {
    const Check& c = *selected[i];
    if (options.progress) options.progress(i, selected.size(), c);
    CheckResult res;
    res.check = &c;
    if (policy_na) {
      res.outcome = Outcome::kNotApplicable;
      res.evidence = *policy_na;
    } else if (c.requirements) {
      std::vector<RuleResult> rr;
      const Outcome o = scanner.EvalList(*c.requirements, &rr);
      if (o != Outcome::kPass) {
        res.outcome = o == Outcome::kError ? Outcome::kError : Outcome::kNotApplicable;
        std::string why;
        for (const RuleResult& r : rr) why += (why.empty() ? "" : "; ") + r.evidence;
        res.evidence = Bound("requirement not met: " + why, kMaxCheckEvidenceBytes);
      }
    }
    if (res.evidence.empty()) {
      res.outcome = scanner.EvalList(c.rules, &res.rules);
      // The evidence of the rules that decided: for `none`, the rules that matched (pass) make
      // it fail, and those that did not make it pass.
      Outcome decisive = res.outcome;
      if (c.rules.condition == Condition::kNone) {
        if (res.outcome == Outcome::kFail) decisive = Outcome::kPass;
        else if (res.outcome == Outcome::kPass) decisive = Outcome::kFail;
      }
      res.evidence = JoinEvidence(res.rules, decisive);
    }
    switch (res.outcome) {
      case Outcome::kPass: ++report.summary.pass; break;
      case Outcome::kFail: ++report.summary.fail; break;
      case Outcome::kNotApplicable: ++report.summary.not_applicable; break;
      case Outcome::kError: ++report.summary.error; break;
    }
    report.results.push_back(std::move(res));
  }
  report.duration_ms = env.clock().MonotonicMs() - t0;
  return report;
}

Json ReportToJson(const ScanReport& report, bool include_texts) {
  // Evidence quotes files of the system, which need not be UTF-8; JSON must be.
  const auto U = [](std::string_view s) { return ToValidUtf8(s); };
  Json j;
  j["policy"] = {{"id", U(report.policy->id)}, {"name", U(report.policy->name)}, {"version", U(report.policy->version)}};
  j["root"] = U(report.root);
  j["started_ms"] = report.started_ms;
  j["duration_ms"] = report.duration_ms;
  const ScanSummary& s = report.summary;
  const std::optional<double> score = s.Score();
  j["summary"] = {{"pass", s.pass},
                  {"fail", s.fail},
                  {"not_applicable", s.not_applicable},
                  {"error", s.error},
                  {"score", score ? Json(std::round(*score * 10) / 10) : Json(nullptr)}};
  Json results = Json::array();
  for (const CheckResult& r : report.results) {
    const Check& c = *r.check;
    Json refs = Json::array();
    for (const std::string& ref : c.references) refs.push_back(U(ref));
    Json o{{"id", U(c.id)},
           {"title", U(c.title)},
           {"group", U(c.group)},
           {"severity", SeverityName(c.severity)},
           {"references", std::move(refs)},
           {"result", OutcomeName(r.outcome)},
           {"evidence", U(r.evidence)}};
    Json rules = Json::array();
    for (size_t i = 0; i < r.rules.size() && i < c.rules.rules.size(); ++i) {
      const Rule& rule = c.rules.rules[i];
      rules.push_back({{"kind", RuleKindName(rule.kind)},
                       {"target", U(rule.target)},
                       {"line", rule.line},
                       {"result", OutcomeName(r.rules[i].outcome)},
                       {"evidence", U(r.rules[i].evidence)}});
    }
    o["rules"] = std::move(rules);
    if (include_texts) {
      o["rationale"] = U(c.rationale);
      o["remediation"] = U(c.remediation);
    }
    results.push_back(std::move(o));
  }
  j["results"] = std::move(results);
  return j;
}

}  // namespace vigil::posture
