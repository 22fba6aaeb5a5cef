#include "agent/posture/policy.h"

#include <yaml-cpp/yaml.h>

#include "agent/posture/sources.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_set>

namespace vigil::posture {
namespace {

struct LoadError {
  size_t line;
  std::string field;
  std::string message;
};

size_t LineOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  return m.is_null() ? 0 : static_cast<size_t>(m.line) + 1;
}

std::string Join(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return std::string(prefix) + "." + std::string(key);
}

// The keys of a map, each once; unknown or repeated keys are errors.
void CheckKeys(const YAML::Node& map, const std::string& where, std::initializer_list<std::string_view> allowed) {
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) throw LoadError{LineOf(kv.first), where, "keys must be plain words"};
    const std::string& k = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      throw LoadError{LineOf(kv.first), Join(where, k), "unknown key (expected one of: " + list + ")"};
    }
    if (!seen.insert(k).second) throw LoadError{LineOf(kv.first), Join(where, k), "given twice"};
  }
}

const YAML::Node Need(const YAML::Node& map, std::string_view key, const std::string& where) {
  YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) throw LoadError{LineOf(map), Join(where, key), "missing"};
  return n;
}

std::string Str(const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) throw LoadError{LineOf(n), field, "expected a string"};
  return n.Scalar();
}

std::string NonEmptyStr(const YAML::Node& n, const std::string& field) {
  std::string s = Str(n, field);
  if (s.find_first_not_of(" \t\r\n") == std::string::npos) throw LoadError{LineOf(n), field, "must not be empty"};
  return s;
}

bool Bool(const YAML::Node& n, const std::string& field) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  throw LoadError{LineOf(n), field, "expected true or false"};
}

int64_t Int(const YAML::Node& n, const std::string& field) {
  const std::string s = Str(n, field);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    throw LoadError{LineOf(n), field, "expected an integer, got '" + s + "'"};
  return v;
}

// A string or a list of strings (at least one).
std::vector<std::string> StrList(const YAML::Node& n, const std::string& field) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(NonEmptyStr(n, field));
  } else if (n.IsSequence()) {
    size_t i = 0;
    for (const auto& e : n) out.push_back(NonEmptyStr(e, field + "[" + std::to_string(i++) + "]"));
  } else {
    throw LoadError{LineOf(n), field, "expected a string or a list of strings"};
  }
  if (out.empty()) throw LoadError{LineOf(n), field, "the list is empty"};
  return out;
}

std::shared_ptr<const Regex> Re(const YAML::Node& n, const std::string& field) {
  std::string s = Str(n, field);
  auto re = Regex::Compile(s);
  if (!re.ok()) throw LoadError{LineOf(n), field, std::string(re.status().message())};
  return *re;
}

uint32_t Mode(const YAML::Node& n, const std::string& field) {
  const std::string s = Str(n, field);
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 07777)
    throw LoadError{LineOf(n), field, "expected an octal mode such as \"0640\", got '" + s + "'"};
  return v;
}

bool SafeAbsolutePath(std::string_view p) {
  if (p.empty() || p[0] != '/') return false;
  if (p.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (p.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

bool HasGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

bool SimpleName(std::string_view s, std::string_view extra) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return s != "." && s != ".." && s.find("..") == std::string_view::npos;
}

Condition ParseCondition(const YAML::Node& n, const std::string& field) {
  const std::string s = Str(n, field);
  if (s == "all") return Condition::kAll;
  if (s == "any") return Condition::kAny;
  if (s == "none") return Condition::kNone;
  throw LoadError{LineOf(n), field, "expected all, any or none, got '" + s + "'"};
}

struct KindKeys {
  RuleKind kind;
  std::string_view key;
  std::initializer_list<std::string_view> allowed;  // besides the kind key and `missing`
};

const KindKeys kKinds[] = {
    {RuleKind::kFile, "file",
     {"exists", "matches", "not_matches", "capture", "compare", "default", "mode", "mode_max", "owner", "group"}},
    {RuleKind::kDirectory, "directory", {"exists", "contains", "not_contains"}},
    {RuleKind::kSysctl, "sysctl", {"value", "compare", "matches", "not_matches"}},
    {RuleKind::kModule, "module", {"loaded", "loadable"}},
    {RuleKind::kMount, "mount", {"options", "not_options", "separate"}},
    {RuleKind::kProcess, "process", {"running"}},
    {RuleKind::kPackage, "package", {"installed"}},
    {RuleKind::kService, "service", {"enabled"}},
    {RuleKind::kCommand, "command", {"matches", "not_matches", "capture", "compare", "default", "exit"}},
};

class Loader {
 public:
  Loader(std::string_view file, LoadedPolicy* out) : file_(file), out_(out) {}

  void Load(std::string_view text) {
    if (text.size() > kMaxPolicyBytes) {
      Issue(0, "", "", "the file is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
      return;
    }
    if (const size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
      size_t line = 1;
      for (size_t i = 0; i < bad; ++i) line += text[i] == '\n';
      Issue(line, "", "", "not valid UTF-8 (byte " + std::to_string(bad) + ")");
      return;
    }
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      Issue(e.mark.is_null() ? 1 : e.mark.line + 1, "", "", "YAML: " + e.msg);
      return;
    } catch (const std::exception& e) {
      Issue(1, "", "", std::string("YAML: ") + e.what());
      return;
    }
    if (!root.IsMap()) {
      Issue(LineOf(root) ? LineOf(root) : 1, "", "", "a policy must be a YAML map (policy, commands, groups)");
      return;
    }
    auto policy = std::make_shared<Policy>();
    policy->file = std::string(file_);
    policy_ = policy.get();
    try {
      LoadTop(root);
    } catch (const LoadError& e) {
      Issue(e.line, "", e.field, e.message);
    } catch (const YAML::Exception& e) {
      Issue(e.mark.is_null() ? 0 : e.mark.line + 1, "", "", "YAML: " + e.msg);
    }
    out_->policy = std::move(policy);
  }

 private:
  void Issue(size_t line, std::string check, std::string field, std::string message) {
    out_->issues.push_back({std::string(file_), line, std::move(check), std::move(field), std::move(message)});
  }

  // Runs fn; a LoadError becomes an issue (for `check`). True when fn completed.
  template <typename Fn>
  bool Guard(const std::string& check, Fn&& fn) {
    try {
      fn();
      return true;
    } catch (const LoadError& e) {
      Issue(e.line, check, e.field, e.message);
    } catch (const YAML::Exception& e) {
      Issue(e.mark.is_null() ? 0 : e.mark.line + 1, check, "", "YAML: " + e.msg);
    }
    return false;
  }

  void LoadTop(const YAML::Node& root) {
    Guard("", [&] { CheckKeys(root, "", {"policy", "requirements", "commands", "groups"}); });
    Guard("", [&] {
      const YAML::Node p = Need(root, "policy", "");
      if (!p.IsMap()) throw LoadError{LineOf(p), "policy", "expected a map (id, name, version, description)"};
      CheckKeys(p, "policy", {"id", "name", "version", "description"});
      policy_->id = NonEmptyStr(Need(p, "id", "policy"), "policy.id");
      if (!SimpleName(policy_->id, "."))
        throw LoadError{LineOf(p["id"]), "policy.id", "letters, digits, '.', '_' and '-' only"};
      policy_->name = NonEmptyStr(Need(p, "name", "policy"), "policy.name");
      policy_->version = NonEmptyStr(Need(p, "version", "policy"), "policy.version");
      if (p["description"]) policy_->description = Str(p["description"], "policy.description");
    });
    if (root["requirements"]) {
      Guard("", [&] { policy_->requirements = LoadRuleList(root["requirements"], "requirements"); });
    }
    // Commands come before checks, which refer to them.
    if (YAML::Node cmds = root["commands"]) {
      if (!cmds.IsSequence()) {
        Issue(LineOf(cmds), "", "commands", "expected a list of {id, argv, timeout}");
      } else {
        size_t i = 0;
        for (const auto& c : cmds) {
          const std::string where = "commands[" + std::to_string(i++) + "]";
          Guard("", [&] { LoadCommand(c, where); });
        }
      }
    }
    const YAML::Node groups = root["groups"];
    if (!groups || groups.IsNull()) {
      Issue(LineOf(root), "", "groups", "missing (a policy holds its checks in groups)");
      return;
    }
    if (!groups.IsSequence()) {
      Issue(LineOf(groups), "", "groups", "expected a list of groups");
      return;
    }
    size_t gi = 0;
    for (const auto& g : groups) LoadGroup(g, "groups[" + std::to_string(gi++) + "]");
  }

  void LoadCommand(const YAML::Node& c, const std::string& where) {
    if (!c.IsMap()) throw LoadError{LineOf(c), where, "expected a map {id, argv, timeout}"};
    CheckKeys(c, where, {"id", "argv", "timeout"});
    CommandSpec spec;
    spec.line = LineOf(c);
    spec.id = NonEmptyStr(Need(c, "id", where), where + ".id");
    if (!SimpleName(spec.id, ".")) throw LoadError{LineOf(c["id"]), where + ".id", "letters, digits, '.', '_', '-' only"};
    const YAML::Node argv = Need(c, "argv", where);
    if (!argv.IsSequence() || argv.size() == 0)
      throw LoadError{LineOf(argv), where + ".argv", "expected a list: the program (absolute path), then its arguments"};
    size_t i = 0;
    for (const auto& a : argv) spec.argv.push_back(Str(a, where + ".argv[" + std::to_string(i++) + "]"));
    if (!SafeAbsolutePath(spec.argv[0]) || HasGlob(spec.argv[0]))
      throw LoadError{LineOf(argv), where + ".argv[0]", "the program must be an absolute path (no shell, no PATH search)"};
    if (c["timeout"]) {
      const int64_t t = Int(c["timeout"], where + ".timeout");
      if (t < 1 || t > kMaxCommandTimeoutMs / 1000)
        throw LoadError{LineOf(c["timeout"]), where + ".timeout",
                        "seconds, from 1 to " + std::to_string(kMaxCommandTimeoutMs / 1000)};
      spec.timeout_ms = static_cast<int>(t * 1000);
    }
    if (policy_->FindCommand(spec.id)) throw LoadError{spec.line, where + ".id", "command '" + spec.id + "' declared twice"};
    policy_->commands.push_back(std::move(spec));
  }

  void LoadGroup(const YAML::Node& g, const std::string& where) {
    CheckGroup group;
    const bool head_ok = Guard("", [&] {
      if (!g.IsMap()) throw LoadError{LineOf(g), where, "expected a map {id, title, description, checks}"};
      CheckKeys(g, where, {"id", "title", "description", "checks"});
      group.id = NonEmptyStr(Need(g, "id", where), where + ".id");
      if (!SimpleName(group.id, ".")) throw LoadError{LineOf(g["id"]), where + ".id", "letters, digits, '.', '_', '-' only"};
      group.title = NonEmptyStr(Need(g, "title", where), where + ".title");
      if (g["description"]) group.description = Str(g["description"], where + ".description");
      for (const CheckGroup& other : policy_->groups)
        if (other.id == group.id) throw LoadError{LineOf(g["id"]), where + ".id", "group '" + group.id + "' given twice"};
      const YAML::Node checks = Need(g, "checks", where);
      if (!checks.IsSequence()) throw LoadError{LineOf(checks), where + ".checks", "expected a list of checks"};
    });
    if (!head_ok) return;
    policy_->groups.push_back(group);
    size_t ci = 0;
    for (const auto& c : g["checks"]) {
      const std::string cw = where + ".checks[" + std::to_string(ci++) + "]";
      std::string id;
      if (c.IsMap() && c["id"] && c["id"].IsScalar()) id = c["id"].Scalar();
      if (policy_->checks.size() >= kMaxChecks) {
        Issue(LineOf(c), id, "", "more than " + std::to_string(kMaxChecks) + " checks");
        return;
      }
      Check check;
      if (Guard(id, [&] { check = LoadCheck(c, cw, group.id); })) {
        check_ids_.insert(check.id);
        policy_->checks.push_back(std::move(check));
      }
    }
  }

  Check LoadCheck(const YAML::Node& c, const std::string& where, const std::string& group) {
    if (!c.IsMap()) throw LoadError{LineOf(c), where, "expected a map (id, title, ..., rules)"};
    CheckKeys(c, "", {"id", "title", "rationale", "remediation", "severity", "references", "requirements", "condition",
                      "rules"});
    Check k;
    k.line = LineOf(c);
    k.group = group;
    k.id = NonEmptyStr(Need(c, "id", ""), "id");
    if (!SimpleName(k.id, ".")) throw LoadError{LineOf(c["id"]), "id", "letters, digits, '.', '_', '-' only"};
    if (check_ids_.count(k.id)) throw LoadError{LineOf(c["id"]), "id", "check id given twice"};
    k.title = NonEmptyStr(Need(c, "title", ""), "title");
    k.rationale = NonEmptyStr(Need(c, "rationale", ""), "rationale");
    k.remediation = NonEmptyStr(Need(c, "remediation", ""), "remediation");
    const YAML::Node sev = Need(c, "severity", "");
    const std::string s = Str(sev, "severity");
    if (s == "low") k.severity = Severity::kLow;
    else if (s == "medium") k.severity = Severity::kMedium;
    else if (s == "high") k.severity = Severity::kHigh;
    else if (s == "critical") k.severity = Severity::kCritical;
    else throw LoadError{LineOf(sev), "severity", "expected low, medium, high or critical, got '" + s + "'"};
    if (c["references"]) k.references = StrList(c["references"], "references");
    if (c["requirements"]) k.requirements = LoadRuleList(c["requirements"], "requirements");
    RuleList rules;
    if (c["condition"]) rules.condition = ParseCondition(c["condition"], "condition");
    rules.rules = LoadRules(Need(c, "rules", ""), "rules");
    k.rules = std::move(rules);
    return k;
  }

  RuleList LoadRuleList(const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) throw LoadError{LineOf(n), where, "expected a map {condition, rules}"};
    CheckKeys(n, where, {"condition", "rules"});
    RuleList list;
    if (n["condition"]) list.condition = ParseCondition(n["condition"], where + ".condition");
    list.rules = LoadRules(Need(n, "rules", where), where + ".rules");
    return list;
  }

  std::vector<Rule> LoadRules(const YAML::Node& n, const std::string& where) {
    if (!n.IsSequence() || n.size() == 0) throw LoadError{LineOf(n), where, "expected a non-empty list of rules"};
    std::vector<Rule> rules;
    size_t i = 0;
    for (const auto& r : n) rules.push_back(LoadRule(r, where + "[" + std::to_string(i++) + "]"));
    return rules;
  }

  Rule LoadRule(const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) throw LoadError{LineOf(n), where, "expected a map with one kind key (file, sysctl, ...)"};
    const KindKeys* kind = nullptr;
    for (const KindKeys& k : kKinds) {
      if (n[std::string(k.key)]) {
        if (kind)
          throw LoadError{LineOf(n), where,
                          "two kinds in one rule: '" + std::string(kind->key) + "' and '" + std::string(k.key) + "'"};
        kind = &k;
      }
    }
    if (!kind)
      throw LoadError{LineOf(n), where,
                      "no kind key: one of file, directory, sysctl, module, mount, process, package, service, command"};
    std::vector<std::string_view> allowed(kind->allowed);
    allowed.push_back(kind->key);
    allowed.push_back("missing");
    {
      std::set<std::string> seen;
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) throw LoadError{LineOf(kv.first), where, "keys must be plain words"};
        const std::string& key = kv.first.Scalar();
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
          std::string list;
          for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
          throw LoadError{LineOf(kv.first), where + "." + key,
                          "unknown key for a " + std::string(kind->key) + " rule (expected one of: " + list + ")"};
        }
        if (!seen.insert(key).second) throw LoadError{LineOf(kv.first), where + "." + key, "given twice"};
      }
    }
    Rule r;
    r.kind = kind->kind;
    r.line = LineOf(n);
    const std::string kf = where + "." + std::string(kind->key);
    const YAML::Node target = n[std::string(kind->key)];
    auto f = [&](std::string_view key) { return where + "." + std::string(key); };
    auto opt_bool = [&](std::string_view key, std::optional<bool>* dst) {
      if (YAML::Node v = n[std::string(key)]) *dst = Bool(v, f(key));
    };
    auto opt_re = [&](std::string_view key, std::shared_ptr<const Regex>* dst) {
      if (YAML::Node v = n[std::string(key)]) *dst = Re(v, f(key));
    };
    if (YAML::Node m = n["missing"]) {
      const std::string s = Str(m, f("missing"));
      if (s == "pass") r.missing = MissingIs::kPass;
      else if (s == "fail") r.missing = MissingIs::kFail;
      else if (s == "not_applicable") r.missing = MissingIs::kNotApplicable;
      else throw LoadError{LineOf(m), f("missing"), "expected pass, fail or not_applicable, got '" + s + "'"};
    }
    auto capture_and_compare = [&] {
      opt_re("matches", &r.matches);
      opt_re("not_matches", &r.not_matches);
      opt_re("capture", &r.capture);
      if (YAML::Node v = n["compare"]) {
        r.compare = ParseComparison(Str(v, f("compare")));
        if (!r.compare)
          throw LoadError{LineOf(v), f("compare"), "expected an operator (<=, <, >=, >, ==, !=) and an integer, e.g. \"<= 4\""};
      }
      if (YAML::Node v = n["default"]) r.default_value = Int(v, f("default"));
      if (r.capture && !r.compare) throw LoadError{LineOf(n["capture"]), f("compare"), "capture needs compare"};
      if (r.capture && r.capture->capture_count() < 1)
        throw LoadError{LineOf(n["capture"]), f("capture"), "the pattern needs a capture group (...) for the number"};
      if (r.default_value && !r.capture) throw LoadError{LineOf(n["default"]), f("default"), "default needs capture"};
    };
    switch (r.kind) {
      case RuleKind::kFile: {
        r.targets = StrList(target, kf);
        for (const std::string& p : r.targets) {
          if (!SafeAbsolutePath(p)) throw LoadError{LineOf(target), kf, "'" + p + "' is not an absolute path without '..'"};
          const std::string dir = p.substr(0, p.rfind('/') + 1);
          if (HasGlob(dir)) throw LoadError{LineOf(target), kf, "'" + p + "': a glob is allowed in the last component only"};
        }
        r.target = r.targets.front();
        opt_bool("exists", &r.exists);
        capture_and_compare();
        if (r.compare && !r.capture) throw LoadError{LineOf(n["compare"]), f("compare"), "compare needs capture"};
        if (YAML::Node v = n["mode"]) r.mode_exact = Mode(v, f("mode"));
        if (YAML::Node v = n["mode_max"]) r.mode_max = Mode(v, f("mode_max"));
        if (YAML::Node v = n["owner"]) r.owners = StrList(v, f("owner"));
        if (YAML::Node v = n["group"]) r.groups = StrList(v, f("group"));
        const bool content = r.matches || r.not_matches || r.capture || r.mode_exact || r.mode_max ||
                             !r.owners.empty() || !r.groups.empty();
        if (r.exists == false && content)
          throw LoadError{LineOf(n["exists"]), f("exists"), "exists: false cannot be combined with other expectations"};
        if (!content && !r.exists) r.exists = true;
        break;
      }
      case RuleKind::kDirectory: {
        r.target = NonEmptyStr(target, kf);
        if (!SafeAbsolutePath(r.target) || HasGlob(r.target))
          throw LoadError{LineOf(target), kf, "'" + r.target + "' is not an absolute path without '..' and globs"};
        opt_bool("exists", &r.exists);
        opt_re("contains", &r.contains);
        opt_re("not_contains", &r.not_contains);
        if (r.exists == false && (r.contains || r.not_contains))
          throw LoadError{LineOf(n["exists"]), f("exists"), "exists: false cannot be combined with other expectations"};
        if (!r.contains && !r.not_contains && !r.exists) r.exists = true;
        break;
      }
      case RuleKind::kSysctl: {
        r.target = NonEmptyStr(target, kf);
        if (!SimpleName(r.target, "./") || r.target.front() == '/' || r.target.front() == '.')
          throw LoadError{LineOf(target), kf, "'" + r.target + "' is not a sysctl key such as net.ipv4.ip_forward"};
        if (YAML::Node v = n["value"]) r.value = Str(v, f("value"));
        capture_and_compare();
        if (!r.value && !r.compare && !r.matches && !r.not_matches)
          throw LoadError{r.line, where, "a sysctl rule needs value, compare, matches or not_matches"};
        break;
      }
      case RuleKind::kModule: {
        r.target = NonEmptyStr(target, kf);
        if (!SimpleName(r.target, "")) throw LoadError{LineOf(target), kf, "'" + r.target + "' is not a module name"};
        opt_bool("loaded", &r.loaded);
        opt_bool("loadable", &r.loadable);
        if (!r.loaded && !r.loadable) throw LoadError{r.line, where, "a module rule needs loaded or loadable"};
        break;
      }
      case RuleKind::kMount: {
        r.target = NonEmptyStr(target, kf);
        if (!SafeAbsolutePath(r.target) || HasGlob(r.target))
          throw LoadError{LineOf(target), kf, "'" + r.target + "' is not an absolute mount point"};
        if (YAML::Node v = n["options"]) r.options = StrList(v, f("options"));
        if (YAML::Node v = n["not_options"]) r.not_options = StrList(v, f("not_options"));
        opt_bool("separate", &r.separate);
        if (r.options.empty() && r.not_options.empty() && !r.separate)
          throw LoadError{r.line, where, "a mount rule needs options, not_options or separate"};
        break;
      }
      case RuleKind::kProcess:
      case RuleKind::kPackage:
      case RuleKind::kService: {
        r.targets = StrList(target, kf);
        for (const std::string& t : r.targets)
          if (!SimpleName(t, r.kind == RuleKind::kPackage ? ".+:" : ".@:"))
            throw LoadError{LineOf(target), kf, "'" + t + "' is not a plain name"};
        r.target = r.targets.front();
        if (r.kind == RuleKind::kProcess) opt_bool("running", &r.running);
        if (r.kind == RuleKind::kPackage) opt_bool("installed", &r.installed);
        if (r.kind == RuleKind::kService) opt_bool("enabled", &r.enabled);
        if (!r.running && !r.installed && !r.enabled)
          throw LoadError{r.line, where,
                          std::string("a ") + std::string(kind->key) + " rule needs " +
                              (r.kind == RuleKind::kProcess ? "running" : r.kind == RuleKind::kPackage ? "installed" : "enabled")};
        break;
      }
      case RuleKind::kCommand: {
        r.target = NonEmptyStr(target, kf);
        if (!policy_->FindCommand(r.target))
          throw LoadError{LineOf(target), kf, "command '" + r.target + "' is not declared in the policy's commands"};
        capture_and_compare();
        if (r.compare && !r.capture) throw LoadError{LineOf(n["compare"]), f("compare"), "compare needs capture"};
        if (YAML::Node v = n["exit"]) {
          const int64_t e = Int(v, f("exit"));
          if (e < 0 || e > 255) throw LoadError{LineOf(v), f("exit"), "an exit status from 0 to 255"};
          r.exit_code = static_cast<int>(e);
        }
        if (!r.matches && !r.not_matches && !r.capture && !r.exit_code)
          throw LoadError{r.line, where, "a command rule needs matches, not_matches, capture or exit"};
        break;
      }
    }
    return r;
  }

  std::string_view file_;
  LoadedPolicy* out_;
  Policy* policy_ = nullptr;
  std::unordered_set<std::string> check_ids_;
};

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kLow: return "low";
    case Severity::kMedium: return "medium";
    case Severity::kHigh: return "high";
    case Severity::kCritical: return "critical";
  }
  return "medium";
}

std::string_view ConditionName(Condition c) {
  switch (c) {
    case Condition::kAll: return "all";
    case Condition::kAny: return "any";
    case Condition::kNone: return "none";
  }
  return "all";
}

std::string_view RuleKindName(RuleKind k) {
  for (const KindKeys& kk : kKinds)
    if (kk.kind == k) return kk.key;
  return "file";
}

bool Comparison::Holds(int64_t v) const {
  switch (op) {
    case CompareOp::kLe: return v <= bound;
    case CompareOp::kLt: return v < bound;
    case CompareOp::kGe: return v >= bound;
    case CompareOp::kGt: return v > bound;
    case CompareOp::kEq: return v == bound;
    case CompareOp::kNe: return v != bound;
  }
  return false;
}

std::string Comparison::ToString() const {
  static constexpr const char* kOps[] = {"<=", "<", ">=", ">", "==", "!="};
  return std::string(kOps[static_cast<int>(op)]) + " " + std::to_string(bound);
}

std::optional<Comparison> ParseComparison(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
      {"<=", CompareOp::kLe}, {">=", CompareOp::kGe}, {"==", CompareOp::kEq},
      {"!=", CompareOp::kNe}, {"<", CompareOp::kLt},  {">", CompareOp::kGt}};
  for (const auto& [sym, op] : kOps) {
    if (!text.starts_with(sym)) continue;
    std::string_view num = trim(text.substr(sym.size()));
    int64_t v = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size()) return std::nullopt;
    return Comparison{op, v};
  }
  return std::nullopt;
}

const CommandSpec* Policy::FindCommand(std::string_view cid) const {
  for (const CommandSpec& c : commands)
    if (c.id == cid) return &c;
  return nullptr;
}

const Check* Policy::FindCheck(std::string_view cid) const {
  for (const Check& c : checks)
    if (c.id == cid) return &c;
  return nullptr;
}

std::string PolicyIssue::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  s += ": ";
  if (!check.empty()) s += "check '" + check + "': ";
  if (!field.empty()) s += "field '" + field + "': ";
  return s + message;
}

LoadedPolicy LoadPolicy(std::string_view text, std::string_view file) {
  LoadedPolicy out;
  Loader(file, &out).Load(text);
  return out;
}

}  // namespace vigil::posture
