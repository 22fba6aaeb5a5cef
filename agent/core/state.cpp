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
  uint64_t from = 0;
  bool crashed = false;
  auto text = env.ReadFile(path, 256);
  if (text.ok()) {
    // "next N", "reserved N" or "reserved N from M"
    std::string line = TrimLine(*text);
    auto number = [](std::string_view word, uint64_t* n) {
      auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), *n);
      return ec == std::errc() && p == word.data() + word.size() && *n > 0;
    };
    std::vector<std::string_view> words;
    for (size_t pos = 0; pos < line.size();) {
      size_t end = std::min(line.find(' ', pos), line.size());
      words.push_back(std::string_view(line).substr(pos, end - pos));
      pos = end + 1;
    }
    bool parsed = false;
    if (words.size() == 2 && words[0] == "next") {
      parsed = number(words[1], &next);
    } else if (words.size() == 2 && words[0] == "reserved") {
      parsed = number(words[1], &next);
      crashed = true;
    } else if (words.size() == 4 && words[0] == "reserved" && words[2] == "from") {
      parsed = number(words[1], &next) && number(words[3], &from) && from <= next;
      crashed = true;
    }
    if (!parsed)
      return Status::Corruption(path + ": expected 'next N' or 'reserved N from M', got '" + line +
                                "'; restore it, or remove it to restart the sequence at 1 (the hub will see it)");
  } else if (text.status().code() != Status::Code::kNotFound) {
    return text.status();
  }
  VIGIL_RETURN_IF_ERROR(env.MakeDirs(state_dir));
  std::unique_ptr<SequenceCounter> c(new SequenceCounter(env, path, next, block == 0 ? 1 : block));
  c->crashed_ = crashed;
  c->reserved_from_ = from;
  return c;
}

uint64_t SequenceCounter::Next() {
  std::lock_guard lock(mu_);
  if (next_ >= reserved_) {
    uint64_t want = next_ + block_;
    std::string line = "reserved " + std::to_string(want);
    if (tracked_) line += " from " + std::to_string(block_start_);
    Status st = env_.WriteFileAtomic(path_, line + "\n");
    if (st.ok()) block_start_ = next_;
    if (st.ok()) {
      reserved_ = want;
    } else {
      last_error_ = st;
      reserved_ = next_ + 1;  // try again at the next number
    }
  }
  return next_++;
}

bool SequenceCounter::ResumeAfterCrash(uint64_t last_used) {
  std::lock_guard lock(mu_);
  if (!crashed_ || reserved_from_ == 0 || last_used + 1 < reserved_from_ || last_used + 1 >= next_) return false;
  next_ = last_used + 1;
  reserved_ = next_;  // the first Next() writes a fresh reservation from here
  block_start_ = next_;
  return true;
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
