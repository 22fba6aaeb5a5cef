#include "agent/collectors/local_users/accounts.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <random>
#include <unordered_map>

namespace vigil::local_users {
namespace {

// One line of the file with its 1-based number; false at the end.
bool NextLine(std::string_view& text, size_t& number, std::string_view* line) {
  if (text.empty()) return false;
  const size_t nl = text.find('\n');
  *line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  ++number;
  return true;
}

std::vector<std::string_view> SplitFields(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = line.find(sep, start);
    out.push_back(line.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// Valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) without C0 controls or DEL.
bool IsCleanText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

// A decimal id in [0, 2^32-2] (2^32-1 is (uid_t)-1, "no id").
std::optional<uint32_t> ParseId(std::string_view s) {
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v == UINT32_MAX) return std::nullopt;
  return v;
}

// Checks the fields shared by the three files; returns the reason the line is bad, or "".
std::string CheckCommon(const std::vector<std::string_view>& fields, size_t min_fields, const char* what) {
  if (fields.size() < min_fields)
    return std::string(what) + " needs at least " + std::to_string(min_fields) + " ':'-separated fields, found " +
           std::to_string(fields.size());
  const std::string_view name = fields[0];
  if (name.empty()) return "empty name";
  if (name[0] == '+' || name[0] == '-') return "NIS compat entry (not followed)";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!IsCleanText(fields[i]))
      return "field " + std::to_string(i + 1) + " is not valid UTF-8 text or holds a control character";
  }
  return "";
}

// Names seen so far in one file, with the line that defined each.
class FirstWins {
 public:
  // True when `name` is new; otherwise fills `reason`.
  bool Claim(std::string_view name, size_t line, std::string* reason) {
    auto [it, inserted] = seen_.emplace(std::string(name), line);
    if (!inserted)
      *reason = "duplicate name '" + std::string(name) + "' (line " + std::to_string(it->second) + " wins)";
    return inserted;
  }

 private:
  std::unordered_map<std::string, size_t> seen_;
};

uint64_t FingerprintSalt() {
  static const uint64_t salt = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }();
  return salt;
}

bool IsDesChar(char c) {
  return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool LooksLikeHash(std::string_view f) {
  if (f.size() > 1 && f[0] == '$') return true;             // $id$salt$hash (md5, sha-crypt, yescrypt, bcrypt...)
  if (f.size() == 13 || (f.size() == 20 && f[0] == '_')) {  // traditional and BSDi extended DES
    for (size_t i = f[0] == '_' ? 1 : 0; i < f.size(); ++i)
      if (!IsDesChar(f[i])) return false;
    return true;
  }
  return false;
}

}  // namespace

PasswordInfo ClassifyPasswordField(std::string_view field) {
  PasswordInfo info;
  if (field.empty()) {
    info.state = PasswordState::kEmpty;
  } else if (field[0] == '!') {
    info.state = PasswordState::kLocked;
  } else if (LooksLikeHash(field)) {
    info.state = PasswordState::kSet;
  } else {
    info.state = PasswordState::kLocked;
  }
  const uint64_t salt = FingerprintSalt();
  std::string salted(reinterpret_cast<const char*>(&salt), sizeof(salt));
  salted.append(field);
  info.fingerprint = std::hash<std::string>{}(salted);
  std::fill(salted.begin(), salted.end(), '\0');
  return info;
}

namespace {

// The loop the three files share: blank and comment lines skipped, fields split on ':', the
// common checks, then `make` turns the fields into an entry or gives the reason it cannot;
// a name seen on an earlier valid line makes a line an error (the first one wins).
template <typename Entry, typename Make>
Parsed<Entry> ParseAccountLines(std::string_view text, size_t min_fields, const char* what, Make make) {
  Parsed<Entry> out;
  FirstWins names;
  std::string_view line;
  size_t number = 0;
  while (NextLine(text, number, &line)) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string_view> f = SplitFields(line, ':');
    std::string reason = CheckCommon(f, min_fields, what);
    std::optional<Entry> entry;
    if (reason.empty()) entry = make(f, &reason);
    if (reason.empty()) names.Claim(f[0], number, &reason);
    if (!reason.empty()) {
      out.errors.push_back({number, std::move(reason)});
      continue;
    }
    out.entries.push_back(std::move(*entry));
  }
  return out;
}

// A uid or gid field, or the reason it is not one.
std::optional<uint32_t> IdField(std::string_view field, const char* name, std::string* reason) {
  std::optional<uint32_t> id = ParseId(field);
  if (!id) *reason = std::string(name) + " '" + std::string(field) + "' is not a number in [0, 2^32-2]";
  return id;
}

}  // namespace

Parsed<PasswdEntry> ParsePasswdText(std::string_view text) {
  using Fields = std::vector<std::string_view>;
  return ParseAccountLines<PasswdEntry>(
      text, 7, "a passwd line", [](const Fields& f, std::string* reason) -> std::optional<PasswdEntry> {
        const std::optional<uint32_t> uid = IdField(f[2], "UID", reason);
        if (!uid) return std::nullopt;
        const std::optional<uint32_t> gid = IdField(f[3], "GID", reason);
        if (!gid) return std::nullopt;
        PasswdEntry e;
        e.name = f[0];
        e.uid = *uid;
        e.gid = *gid;
        e.home = f[5];
        e.shell = f[6];
        e.in_shadow = f[1] == "x";
        if (!e.in_shadow) e.password = ClassifyPasswordField(f[1]);
        return e;
      });
}

Parsed<GroupEntry> ParseGroupText(std::string_view text) {
  using Fields = std::vector<std::string_view>;
  return ParseAccountLines<GroupEntry>(
      text, 4, "a group line", [](const Fields& f, std::string* reason) -> std::optional<GroupEntry> {
        const std::optional<uint32_t> gid = IdField(f[2], "GID", reason);
        if (!gid) return std::nullopt;
        GroupEntry e;
        e.name = f[0];
        e.gid = *gid;
        if (!f[3].empty()) {
          for (std::string_view m : SplitFields(f[3], ','))
            if (!m.empty()) e.members.emplace_back(m);
        }
        return e;
      });
}

Parsed<ShadowEntry> ParseShadowText(std::string_view text) {
  using Fields = std::vector<std::string_view>;
  return ParseAccountLines<ShadowEntry>(
      text, 2, "a shadow line", [](const Fields& f, std::string*) -> std::optional<ShadowEntry> {
        return ShadowEntry{std::string(f[0]), ClassifyPasswordField(f[1])};
      });
}

bool IsLoginShell(std::string_view shell) {
  if (shell.empty()) return true;
  const size_t slash = shell.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? shell : shell.substr(slash + 1);
  for (std::string_view no : {"nologin", "false", "true", "sync", "shutdown", "halt"})
    if (base == no) return false;
  return true;
}

Accounts MergeAccounts(const std::vector<PasswdEntry>& passwd, const std::vector<GroupEntry>& groups,
                       const std::vector<ShadowEntry>* shadow) {
  Accounts out;
  out.shadow_read = shadow != nullptr;
  std::unordered_map<std::string_view, const ShadowEntry*> by_name;
  if (shadow != nullptr) {
    for (const ShadowEntry& s : *shadow) by_name.emplace(s.name, &s);
  }
  for (const PasswdEntry& p : passwd) {
    UserAccount u{p.name, p.uid, p.gid, p.home, p.shell, p.password};
    if (p.in_shadow) {
      auto it = by_name.find(p.name);
      u.password = it == by_name.end() ? PasswordInfo{} : it->second->password;
    }
    out.users.emplace(p.name, std::move(u));
  }
  for (const GroupEntry& g : groups) out.groups.emplace(g.name, GroupAccount{g.name, g.gid, g.members});
  return out;
}

}  // namespace vigil::local_users
