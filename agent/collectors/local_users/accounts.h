// Local accounts: parsers for /etc/passwd, /etc/group and /etc/shadow, and the merged view
// the local_users collector diffs. Pure functions over text; no file access, no NSS.
//
// Formats (one record per line; fields separated by ':'):
//   passwd(5)  name:password:UID:GID:GECOS:home:shell      at least 7 fields
//   group(5)   name:password:GID:member,member,...         at least 4 fields
//   shadow(5)  name:password:lastchg:min:max:warn:inactive:expire:reserved
//                                                         at least 2 fields (name, password)
// A trailing '\r' is dropped. Empty lines and lines starting with '#' are skipped silently.
// A line is malformed, and skipped with a LineError naming its 1-based line number and what
// was wrong, when: it has too few fields; the name is empty or starts with '+' or '-' (NIS
// compat entries, which this agent does not follow); a UID or GID is not a decimal number in
// [0, 2^32-2]; any field is not valid UTF-8 or holds a control character; or its name was
// already defined on an earlier line (the earlier line wins, as getpwnam(3) does). Nothing
// already accepted is lost because of a later bad line.
//
// Password fields are classified at once and never kept: only PasswordInfo (a state and a
// salted 64-bit fingerprint, good only to tell that the field changed while the agent runs).
//   ""                           kEmpty   anyone may log in without a password
//   "!..."                       kLocked  locked (passwd -l, usermod -L, or never set: "!", "!!")
//   "$id$..." or 13 DES chars    kSet     a crypt(3) hash
//   anything else ("*", "x"...)  kLocked  no password can match it
// In passwd, "x" means "see shadow" (kUnknown until merged with a shadow entry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::local_users {

struct LineError {
  size_t line = 0;  // 1-based
  std::string reason;
};

enum class PasswordState : uint8_t { kUnknown, kEmpty, kLocked, kSet };

struct PasswordInfo {
  PasswordState state = PasswordState::kUnknown;
  uint64_t fingerprint = 0;  // of the field, salted per process; 0 when state is kUnknown

  bool operator==(const PasswordInfo&) const = default;
};

// Classifies a password field (see above) and fingerprints it.
PasswordInfo ClassifyPasswordField(std::string_view field);

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
  bool in_shadow = false;  // the password field was "x"
  PasswordInfo password;   // kUnknown when in_shadow
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;  // in file order, empty names dropped
};

struct ShadowEntry {
  std::string name;
  PasswordInfo password;
};

template <typename T>
struct Parsed {
  std::vector<T> entries;  // in file order
  std::vector<LineError> errors;
};

Parsed<PasswdEntry> ParsePasswdText(std::string_view text);
Parsed<GroupEntry> ParseGroupText(std::string_view text);
Parsed<ShadowEntry> ParseShadowText(std::string_view text);

// True unless the shell's last path component is one that refuses or ends a login at once:
// nologin, false, true, sync, shutdown, halt. An empty shell means /bin/sh (login-capable).
bool IsLoginShell(std::string_view shell);

struct UserAccount {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
  PasswordInfo password;  // kUnknown: "x" in passwd and no shadow entry (or shadow unreadable)

  // A non-root account with UID 0: root's powers under another name.
  bool uid0() const { return uid == 0 && name != "root"; }
  bool login_shell() const { return IsLoginShell(shell); }
  bool operator==(const UserAccount&) const = default;
};

struct GroupAccount {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
  bool operator==(const GroupAccount&) const = default;
};

// The merged view, keyed by name.
struct Accounts {
  std::map<std::string, UserAccount> users;
  std::map<std::string, GroupAccount> groups;
  bool shadow_read = false;  // shadow was given (readable); password states come from it
};

// Merges parsed files: a passwd entry whose field is "x" takes its password state from the
// shadow entry of the same name (kUnknown without one, or when `shadow` is null). Shadow
// entries without a passwd entry are ignored.
Accounts MergeAccounts(const std::vector<PasswdEntry>& passwd, const std::vector<GroupEntry>& groups,
                       const std::vector<ShadowEntry>* shadow);

}  // namespace vigil::local_users
