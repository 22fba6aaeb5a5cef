#include "agent/core/state.h"

#include <charconv>
#include <random>

namespace vigil {

bool IsValidDeviceId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

std::string TrimLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Result<std::string> ResolveDeviceId(Env& env, const std::string& configured, const std::string& state_dir) {
  if (!configured.empty()) {
    if (!IsValidDeviceId(configured))
      return Status::InvalidArgument("agent.device_id '" + configured +
                                     "' must be 1-64 characters of letters, digits, '.', '_' or '-'");
    return configured;
  }
  if (auto mid = env.ReadFile("/etc/machine-id", 256); mid.ok()) {
    std::string id = TrimLine(*mid);
    if (IsValidDeviceId(id)) return id;
  }
  const std::string path = state_dir + "/device-id";
  if (auto stored = env.ReadFile(path, 256); stored.ok()) {
    std::string id = TrimLine(*stored);
    if (!IsValidDeviceId(id)) return Status::Corruption(path + ": not a valid device id; delete it to make a new one");
    return id;
  } else if (stored.status().code() != Status::Code::kNotFound) {
    return stored.status();
  }
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 32; ++i) id += kHex[rd() % 16];
  VIGIL_RETURN_IF_ERROR(env.MakeDirs(state_dir));
  VIGIL_RETURN_IF_ERROR(env.WriteFileAtomic(path, id + "\n"));
  return id;
}

Result<std::unique_ptr<SequenceCounter>> SequenceCounter::Open(Env& env, const std::string& state_dir,
                                                               uint64_t block) {
  const std::string path = state_dir + "/seq";
  uint64_t next = 1;
  auto text = env.ReadFile(path, 256);
  if (text.ok()) {
    std::string line = TrimLine(*text);
    size_t space = line.find(' ');
    std::string_view word = std::string_view(line).substr(0, space);
    uint64_t n = 0;
    bool parsed = false;
    if (space != std::string::npos && (word == "next" || word == "reserved")) {
      const char* b = line.data() + space + 1;
      const char* e = line.data() + line.size();
      auto [p, ec] = std::from_chars(b, e, n);
      parsed = ec == std::errc() && p == e && n > 0;
    }
    if (!parsed)
      return Status::Corruption(path + ": expected 'next N' or 'reserved N', got '" + line +
                                "'; restore it, or remove it to restart the sequence at 1 (the hub will see it)");
    next = n;
  } else if (text.status().code() != Status::Code::kNotFound) {
    return text.status();
  }
  VIGIL_RETURN_IF_ERROR(env.MakeDirs(state_dir));
  std::unique_ptr<SequenceCounter> c(new SequenceCounter(env, path, next, block == 0 ? 1 : block));
  return c;
}

uint64_t SequenceCounter::Next() {
  std::lock_guard lock(mu_);
  if (next_ >= reserved_) {
    uint64_t want = next_ + block_;
    Status st = env_.WriteFileAtomic(path_, "reserved " + std::to_string(want) + "\n");
    if (st.ok()) {
      reserved_ = want;
    } else {
      last_error_ = st;
      reserved_ = next_ + 1;  // try again at the next number
    }
  }
  return next_++;
}

uint64_t SequenceCounter::peek() const {
  std::lock_guard lock(mu_);
  return next_;
}

Status SequenceCounter::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

Status SequenceCounter::Close() {
  std::lock_guard lock(mu_);
  Status st = env_.WriteFileAtomic(path_, "next " + std::to_string(next_) + "\n");
  if (st.ok()) reserved_ = next_;
  return st;
}

}  // namespace vigil
