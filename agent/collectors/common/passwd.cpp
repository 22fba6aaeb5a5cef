#include "agent/collectors/common/passwd.h"

#include <charconv>

namespace vigil::common {

PasswdTable ParsePasswd(std::string_view text) {
  PasswdTable table;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c2 == std::string_view::npos || c1 == 0 || line[0] == '+' || line[0] == '-') {
      ++table.malformed_lines;
      continue;
    }
    std::string_view name = line.substr(0, c1);
    std::string_view uid_text =
        line.substr(c2 + 1, c3 == std::string_view::npos ? std::string_view::npos : c3 - c2 - 1);
    uint32_t uid = 0;
    auto [ptr, ec] = std::from_chars(uid_text.data(), uid_text.data() + uid_text.size(), uid);
    if (uid_text.empty() || ec != std::errc() || ptr != uid_text.data() + uid_text.size() || uid == UINT32_MAX) {
      ++table.malformed_lines;
      continue;
    }
    table.names.emplace(uid, std::string(name));  // first line wins
  }
  return table;
}

UserNames::UserNames(Env& env, CollectorStats& stats, std::string path, int64_t recheck_ms)
    : env_(env), stats_(stats), path_(std::move(path)), recheck_ms_(recheck_ms) {}

void UserNames::RefreshLocked() {
  const int64_t now = env_.clock().MonotonicMs();
  if (loaded_ && now < next_check_ms_) return;
  next_check_ms_ = now + recheck_ms_;
  auto info = env_.Stat(path_);
  if (!info.ok()) {
    // Unreadable: keep what we had (names do not vanish because a file is being replaced).
    loaded_ = true;
    return;
  }
  if (loaded_ && info->mtime_ns == info_.mtime_ns && info->size == info_.size && info->inode == info_.inode) return;
  auto text = env_.ReadFile(path_, 16 << 20);
  loaded_ = true;
  if (!text.ok()) return;
  info_ = *info;
  table_ = ParsePasswd(*text);
  stats_.Count("passwd_reloads");
  if (table_.malformed_lines > 0) stats_.Count("passwd_malformed_lines", table_.malformed_lines);
}

std::string UserNames::Name(uint32_t uid) {
  std::lock_guard lock(mu_);
  RefreshLocked();
  auto it = table_.names.find(uid);
  if (it != table_.names.end()) return it->second;
  return std::to_string(uid);
}

}  // namespace vigil::common
