// API tokens: who may call the hub's HTTP API, and with which role.
//
// Two roles: `admin` (everything) and `viewer` (read-only: every GET). A token is 32 random
// bytes from OpenSSL's RAND_bytes, shown once as `vgl_` followed by their base64url encoding
// without padding (47 characters in all). The hub keeps only the token's SHA-256, so the
// tokens file lets nobody call the API.
//
// The tokens file (`tokens.json` in the hub's data directory, mode 0600), JSON:
//
//   {
//     "version": 1,
//     "tokens": [
//       {"name": "ci", "role": "viewer", "sha256": "<64 lowercase hex digits>",
//        "created_ms": 1718000000000}
//     ]
//   }
//
//   version     must be 1
//   tokens      an array; may be empty
//   name        1 to 64 characters from [A-Za-z0-9._-], unique in the file
//   role        "admin" or "viewer"
//   sha256      SHA-256 of the whole token text (`vgl_...`), lowercase hex; unique in the file
//   created_ms  UTC ms since the epoch, a non-negative integer
//   Any other key, anywhere, is an error (a misspelt key must not be silently ignored).
//
// A missing file means "no tokens": every authenticated request is refused. A malformed file
// is an error naming the file and what is wrong in it (JSON position, or `tokens[2].role`).
//
// Writers (Create, Revoke) take an exclusive flock on `<file>.lock`, re-read the file, and
// replace it atomically (a temporary file with mode 0600, fsync, rename, fsync of the
// directory), so the CLI (`vigil-hub token create`) and a running server can share the file.
//
// Reloading: Check() stat()s the file on every call (one system call) and re-reads it when its
// identity (device, inode), size, mtime or ctime changed; a token created or revoked by another
// process is honoured from the next request on. When the file turns malformed, Check() fails
// closed: it returns the error (and no token is accepted) until the file is mended.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil::hub {

enum class Role { kViewer, kAdmin };

std::string_view RoleName(Role role);                  // "viewer", "admin"
std::optional<Role> ParseRole(std::string_view name);  // nullopt for anything else

inline constexpr std::string_view kTokensFileName = "tokens.json";
inline constexpr std::string_view kTokenPrefix = "vgl_";

// One entry of the tokens file.
struct TokenEntry {
  std::string name;
  Role role = Role::kViewer;
  std::string sha256_hex;  // 64 lowercase hex digits
  int64_t created_ms = 0;

  bool operator==(const TokenEntry&) const = default;
};

// Who a valid token belongs to.
struct TokenMatch {
  std::string name;
  Role role = Role::kViewer;
};

// Parses the tokens file's text. Never throws; errors say where (`tokens[1].sha256: ...`, or
// the JSON parser's line and column) and what was expected. Used by TokenStore and the fuzzer.
Result<std::vector<TokenEntry>> ParseTokensFile(std::string_view text);
// The file's text for `entries` (pretty-printed, ending in a newline).
std::string SerializeTokensFile(const std::vector<TokenEntry>& entries);

// SHA-256 of `token`, lowercase hex.
std::string TokenSha256Hex(std::string_view token);
// True when `name` is a valid token name (see above).
bool IsValidTokenName(std::string_view name);

class TokenStore {
 public:
  // Reads `path` (normally <data dir>/tokens.json). A missing file is an empty store; a file
  // that exists but cannot be read or parsed is an error naming the file and the problem.
  static Result<std::unique_ptr<TokenStore>> Open(std::string path);

  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Adds a token called `name` with `role` and returns the token text (`vgl_...`): the only
  // time it is ever visible. InvalidArgument for a bad name or a name already in use.
  Result<std::string> Create(std::string_view name, Role role);
  // Removes the token called `name`; NotFound when there is none.
  Status Revoke(std::string_view name);
  // The entries, in file order (reloaded first if the file changed).
  Result<std::vector<TokenEntry>> List();

  // Who `token` belongs to, or nullopt for an unknown token. The file is reloaded first if it
  // changed; an error when it cannot be read or is malformed (then no token is accepted). The
  // comparison of digests is constant-time and always visits every entry.
  Result<std::optional<TokenMatch>> Check(std::string_view token);

  const std::string& path() const { return path_; }

 private:
  struct FileId {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    bool operator==(const FileId&) const = default;
  };

  explicit TokenStore(std::string path) : path_(std::move(path)) {}

  // Re-reads the file if its FileId changed. Caller holds mu_.
  Status RefreshLocked();
  // Reads the file unconditionally. Caller holds mu_.
  Status LoadLocked();
  // Writes `entries` atomically and adopts them. Caller holds mu_ and the file lock.
  Status WriteLocked(const std::vector<TokenEntry>& entries);

  const std::string path_;
  std::mutex mu_;
  FileId loaded_id_;                 // the file as last read
  std::vector<TokenEntry> entries_;  // valid only when load_status_ is OK
  Status load_status_;               // the last read's outcome
};

}  // namespace vigil::hub
