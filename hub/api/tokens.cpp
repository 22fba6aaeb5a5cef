#include "hub/api/tokens.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

namespace vigil::hub {
namespace {

using Json = nlohmann::json;
using Digest = std::array<unsigned char, 32>;

constexpr size_t kMaxFileBytes = 16 << 20;
constexpr size_t kMaxTokenBytes = 1024;
constexpr int kFileVersion = 1;

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Digest Sha256(std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::string Hex(const Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (unsigned char c : d) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::optional<Digest> ParseHexDigest(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Digest out{};
  for (size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    for (size_t j = 0; j < 2; ++j) {
      char c = hex[2 * i + j];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else {
        return std::nullopt;
      }
    }
    out[i] = static_cast<unsigned char>(v);
  }
  return out;
}

std::string Base64Url(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::string> ReadFd(int fd, const std::string& path) {
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("tokens file " + path + ": read: " + ErrnoText(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) {
      return Status::InvalidArgument("tokens file " + path + ": larger than " + std::to_string(kMaxFileBytes) +
                                     " bytes");
    }
  }
  return text;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("tokens file " + path + ": write: " + ErrnoText(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string JsonTypeName(const Json& j) { return j.type_name(); }

}  // namespace

std::string_view RoleName(Role role) { return role == Role::kAdmin ? "admin" : "viewer"; }

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "viewer") return Role::kViewer;
  return std::nullopt;
}

bool IsValidTokenName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::string TokenSha256Hex(std::string_view token) { return Hex(Sha256(token)); }

Result<std::vector<TokenEntry>> ParseTokensFile(std::string_view text) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) return Status::InvalidArgument("expected a JSON object at the top, got " + JsonTypeName(doc));
  for (const auto& [key, value] : doc.items()) {
    if (key != "version" && key != "tokens") {
      return Status::InvalidArgument("unknown key \"" + key + "\" (expected \"version\" and \"tokens\")");
    }
  }
  auto version = doc.find("version");
  if (version == doc.end()) return Status::InvalidArgument("missing \"version\" (expected 1)");
  if (!version->is_number_integer() || version->get<int64_t>() != kFileVersion) {
    return Status::InvalidArgument("version: expected 1, got " + version->dump());
  }
  auto tokens = doc.find("tokens");
  if (tokens == doc.end()) return Status::InvalidArgument("missing \"tokens\" (expected an array)");
  if (!tokens->is_array()) return Status::InvalidArgument("tokens: expected an array, got " + JsonTypeName(*tokens));

  std::vector<TokenEntry> entries;
  entries.reserve(tokens->size());
  for (size_t i = 0; i < tokens->size(); ++i) {
    const Json& t = (*tokens)[i];
    std::string where = "tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) return Status::InvalidArgument(where + ": expected an object, got " + JsonTypeName(t));
    for (const auto& [key, value] : t.items()) {
      if (key != "name" && key != "role" && key != "sha256" && key != "created_ms") {
        return Status::InvalidArgument(where + ": unknown key \"" + key +
                                       "\" (expected name, role, sha256, created_ms)");
      }
    }
    TokenEntry e;
    auto name = t.find("name");
    if (name == t.end() || !name->is_string()) return Status::InvalidArgument(where + ".name: expected a string");
    e.name = name->get<std::string>();
    if (!IsValidTokenName(e.name)) {
      return Status::InvalidArgument(where + ".name: expected 1 to 64 characters from [A-Za-z0-9._-], got " +
                                     name->dump());
    }
    auto role = t.find("role");
    if (role == t.end() || !role->is_string()) {
      return Status::InvalidArgument(where + ".role: expected \"admin\" or \"viewer\"");
    }
    auto parsed_role = ParseRole(role->get<std::string>());
    if (!parsed_role) {
      return Status::InvalidArgument(where + ".role: expected \"admin\" or \"viewer\", got " + role->dump());
    }
    e.role = *parsed_role;
    auto sha = t.find("sha256");
    if (sha == t.end() || !sha->is_string() || !ParseHexDigest(sha->get<std::string>())) {
      return Status::InvalidArgument(where + ".sha256: expected 64 lowercase hex digits");
    }
    e.sha256_hex = sha->get<std::string>();
    auto created = t.find("created_ms");
    if (created == t.end() || !created->is_number_integer() ||
        (created->is_number_unsigned() && created->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
        (!created->is_number_unsigned() && created->get<int64_t>() < 0)) {
      return Status::InvalidArgument(where + ".created_ms: expected a non-negative integer (UTC ms)");
    }
    e.created_ms = created->get<int64_t>();
    for (size_t j = 0; j < entries.size(); ++j) {
      if (entries[j].name == e.name) {
        return Status::InvalidArgument(where + ".name: \"" + e.name + "\" is also tokens[" + std::to_string(j) + "]");
      }
      if (entries[j].sha256_hex == e.sha256_hex) {
        return Status::InvalidArgument(where + ".sha256: the same digest as tokens[" + std::to_string(j) + "]");
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string SerializeTokensFile(const std::vector<TokenEntry>& entries) {
  Json tokens = Json::array();
  for (const auto& e : entries) {
    tokens.push_back(Json{{"name", e.name},
                          {"role", std::string(RoleName(e.role))},
                          {"sha256", e.sha256_hex},
                          {"created_ms", e.created_ms}});
  }
  Json doc = {{"version", kFileVersion}, {"tokens", std::move(tokens)}};
  return doc.dump(2) + "\n";
}

Result<std::unique_ptr<TokenStore>> TokenStore::Open(std::string path) {
  std::unique_ptr<TokenStore> store(new TokenStore(std::move(path)));
  std::lock_guard lock(store->mu_);
  VIGIL_RETURN_IF_ERROR(store->LoadLocked());
  return store;
}

Status TokenStore::LoadLocked() {
  ScopedFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      loaded_id_ = FileId{};
      entries_.clear();
      load_status_ = Status::Ok();
      return load_status_;
    }
    loaded_id_ = FileId{};
    load_status_ = Status::IoError("tokens file " + path_ + ": cannot open: " + ErrnoText(errno));
    return load_status_;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    load_status_ = Status::IoError("tokens file " + path_ + ": fstat: " + ErrnoText(errno));
    return load_status_;
  }
  loaded_id_ = FileId{true,
                      st.st_dev,
                      st.st_ino,
                      st.st_size,
                      int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                      int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec};
  auto text = ReadFd(fd.get(), path_);
  if (!text.ok()) {
    load_status_ = text.status();
    return load_status_;
  }
  auto parsed = ParseTokensFile(*text);
  if (!parsed.ok()) {
    entries_.clear();
    load_status_ = parsed.status().WithContext("tokens file " + path_);
    return load_status_;
  }
  entries_ = std::move(parsed).value();
  load_status_ = Status::Ok();
  return load_status_;
}

Status TokenStore::RefreshLocked() {
  struct stat st {};
  FileId id;
  if (::stat(path_.c_str(), &st) == 0) {
    id = FileId{true,
                st.st_dev,
                st.st_ino,
                st.st_size,
                int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec};
  } else if (errno != ENOENT) {
    // Unreadable (e.g. a directory on the path lost its permissions): try to read to report why.
    return LoadLocked();
  }
  if (id == loaded_id_) return load_status_;
  return LoadLocked();
}

Status TokenStore::WriteLocked(const std::vector<TokenEntry>& entries) {
  std::string text = SerializeTokensFile(entries);
  std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
  ScopedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::IoError("tokens file " + tmp + ": cannot create: " + ErrnoText(errno));
  Status st;
  if (::fchmod(fd.get(), 0600) != 0) {
    st = Status::IoError("tokens file " + tmp + ": chmod 0600: " + ErrnoText(errno));
  }
  if (st.ok()) st = WriteAll(fd.get(), text, tmp);
  if (st.ok() && ::fsync(fd.get()) != 0) st = Status::IoError("tokens file " + tmp + ": fsync: " + ErrnoText(errno));
  if (st.ok() && ::close(fd.Release()) != 0) {
    st = Status::IoError("tokens file " + tmp + ": close: " + ErrnoText(errno));
  }
  if (st.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) {
    st = Status::IoError("tokens file " + path_ + ": rename from " + tmp + ": " + ErrnoText(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  std::string dir = DirName(path_);
  ScopedFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) ::fsync(dfd.get());
  // Adopt what was written (and the new file's identity, so the next Check does not re-read).
  return LoadLocked();
}

Result<std::string> TokenStore::Create(std::string_view name, Role role) {
  if (!IsValidTokenName(name)) {
    return Status::InvalidArgument("token name \"" + std::string(name) +
                                   "\": expected 1 to 64 characters from [A-Za-z0-9._-]");
  }
  std::lock_guard lock(mu_);
  std::string lock_path = path_ + ".lock";
  ScopedFd lock_fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock_fd.get() < 0) return Status::IoError("tokens lock " + lock_path + ": cannot open: " + ErrnoText(errno));
  if (::flock(lock_fd.get(), LOCK_EX) != 0) {
    return Status::IoError("tokens lock " + lock_path + ": flock: " + ErrnoText(errno));
  }
  VIGIL_RETURN_IF_ERROR(LoadLocked());
  for (const auto& e : entries_) {
    if (e.name == name) {
      return Status::InvalidArgument("token name \"" + std::string(name) + "\" is in use already (revoke it first)");
    }
  }
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return Status::Internal("RAND_bytes failed: no random token");
  std::string token = std::string(kTokenPrefix) + Base64Url(raw, sizeof raw);
  OPENSSL_cleanse(raw, sizeof raw);
  std::vector<TokenEntry> next = entries_;
  next.push_back(TokenEntry{std::string(name), role, TokenSha256Hex(token), NowMs()});
  VIGIL_RETURN_IF_ERROR(WriteLocked(next));
  return token;
}

Status TokenStore::Revoke(std::string_view name) {
  std::lock_guard lock(mu_);
  std::string lock_path = path_ + ".lock";
  ScopedFd lock_fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock_fd.get() < 0) return Status::IoError("tokens lock " + lock_path + ": cannot open: " + ErrnoText(errno));
  if (::flock(lock_fd.get(), LOCK_EX) != 0) {
    return Status::IoError("tokens lock " + lock_path + ": flock: " + ErrnoText(errno));
  }
  VIGIL_RETURN_IF_ERROR(LoadLocked());
  std::vector<TokenEntry> next = entries_;
  auto it = std::find_if(next.begin(), next.end(), [&](const TokenEntry& e) { return e.name == name; });
  if (it == next.end()) return Status::NotFound("no token named \"" + std::string(name) + "\" in " + path_);
  next.erase(it);
  return WriteLocked(next);
}

Result<std::vector<TokenEntry>> TokenStore::List() {
  std::lock_guard lock(mu_);
  VIGIL_RETURN_IF_ERROR(RefreshLocked());
  return entries_;
}

Result<std::optional<TokenMatch>> TokenStore::Check(std::string_view token) {
  std::lock_guard lock(mu_);
  VIGIL_RETURN_IF_ERROR(RefreshLocked());
  if (token.size() > kMaxTokenBytes || token.empty()) return std::optional<TokenMatch>();
  Digest digest = Sha256(token);
  const TokenEntry* found = nullptr;
  for (const auto& e : entries_) {
    // Digests were validated at load; a stored digest that does not parse matches nothing.
    Digest stored = ParseHexDigest(e.sha256_hex).value_or(Digest{});
    if (CRYPTO_memcmp(stored.data(), digest.data(), digest.size()) == 0) found = &e;
  }
  if (found == nullptr) return std::optional<TokenMatch>();
  return std::optional<TokenMatch>(TokenMatch{found->name, found->role});
}

}  // namespace vigil::hub
