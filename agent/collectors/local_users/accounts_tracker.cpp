#include "agent/collectors/local_users/accounts_tracker.h"

#include <spdlog/spdlog.h>

#include "agent/collectors/local_users/account_events.h"

namespace vigil::local_users {
namespace {

constexpr size_t kMaxLoggedPerLoad = 20;  // malformed lines named in the log per load
constexpr size_t kMaxRemembered = 1024;   // malformed lines remembered as already logged

}  // namespace

AccountsTracker::AccountsTracker(Env& env, CollectorStats& stats, AccountPaths paths)
    : env_(env), stats_(stats), paths_(std::move(paths)) {}

Result<AccountsTracker::FileText> AccountsTracker::ReadOne(const std::string& path, bool required) {
  Result<std::string> text = env_.ReadFile(path, kMaxFileBytes + 1);
  if (!text.ok()) {
    if (required) return text.status();
    return FileText{};
  }
  if (text->size() > kMaxFileBytes)
    return Status::InvalidArgument(path + ": larger than " + std::to_string(kMaxFileBytes >> 20) + " MB, not read");
  return FileText{true, std::move(text).value()};
}

void AccountsTracker::Report(const std::string& path, const std::vector<LineError>& errors,
                             std::set<std::string>* now) {
  size_t logged = 0, unlogged = 0;
  for (const LineError& e : errors) {
    std::string msg = path + ":" + std::to_string(e.line) + ": " + e.reason;
    if (reported_.count(msg) == 0) {
      if (logged < kMaxLoggedPerLoad) {
        spdlog::warn("local_users: malformed line skipped: {}", msg);
        ++logged;
      } else {
        ++unlogged;
      }
    }
    if (now->size() < kMaxRemembered) now->insert(std::move(msg));
  }
  if (unlogged > 0) spdlog::warn("local_users: {} more malformed lines skipped in {}", unlogged, path);
}

Result<Accounts> AccountsTracker::ReadAll() {
  Result<FileText> passwd = ReadOne(paths_.passwd, true);
  if (!passwd.ok()) return passwd.status();
  Result<FileText> group = ReadOne(paths_.group, group_seen_);
  if (!group.ok()) return group.status();
  Result<FileText> shadow = ReadOne(paths_.shadow, shadow_seen_);
  if (!shadow.ok()) return shadow.status();

  const Parsed<PasswdEntry> p = ParsePasswdText(passwd->text);
  const Parsed<GroupEntry> g = ParseGroupText(group->text);
  const Parsed<ShadowEntry> s = ParseShadowText(shadow->text);
  std::set<std::string> now;
  Report(paths_.passwd, p.errors, &now);
  Report(paths_.group, g.errors, &now);
  Report(paths_.shadow, s.errors, &now);
  reported_ = std::move(now);
  malformed_lines_ = p.errors.size() + g.errors.size() + s.errors.size();
  if (malformed_lines_ > 0) stats_.Count("malformed_lines", malformed_lines_);
  group_seen_ = group_seen_ || group->present;
  shadow_seen_ = shadow_seen_ || shadow->present;
  return MergeAccounts(p.entries, g.entries, shadow->present ? &s.entries : nullptr);
}

Status AccountsTracker::Load() {
  Result<Accounts> a = ReadAll();
  if (!a.ok()) return a.status();
  accounts_ = std::move(a).value();
  loaded_ = true;
  stats_.Count("reloads");
  if (!accounts_.shadow_read)
    spdlog::info("local_users: {} cannot be read; password states (empty, locked) are unknown", paths_.shadow);
  return Status::Ok();
}

namespace {

// A user whose shadow entry is missing now but was there (or who is new) while shadow is
// readable: a tool is probably between writing passwd and writing shadow.
bool LooksHalfWritten(const Accounts& before, const Accounts& after) {
  if (!after.shadow_read) return false;
  for (const auto& [name, u] : after.users) {
    if (u.password.state != PasswordState::kUnknown) continue;
    auto it = before.users.find(name);
    if (it == before.users.end() || it->second.password.state != PasswordState::kUnknown) return true;
  }
  return false;
}

}  // namespace

std::vector<Event> AccountsTracker::Reload() { return *DoReload(true); }

std::optional<std::vector<Event>> AccountsTracker::TryReload() { return DoReload(false); }

std::optional<std::vector<Event>> AccountsTracker::DoReload(bool accept_incomplete) {
  if (!loaded_) {
    if (Status st = Load(); !st.ok()) {
      stats_.Count("read_errors");
      spdlog::warn("local_users: {}", st.ToString());
    }
    return std::vector<Event>{};
  }
  Result<Accounts> a = ReadAll();
  if (!a.ok()) {
    stats_.Count("read_errors");
    spdlog::warn("local_users: re-read failed, keeping the last good view: {}", a.status().ToString());
    return std::vector<Event>{};
  }
  if (!accept_incomplete && LooksHalfWritten(accounts_, *a)) {
    stats_.Count("incomplete_reads");
    return std::nullopt;
  }
  stats_.Count("reloads");
  std::vector<Event> events = DiffAccounts(accounts_, *a);
  accounts_ = std::move(a).value();
  return events;
}

Event AccountsTracker::Snapshot() const {
  Event e;
  e.type = "local_users";
  e.action = "snapshot";
  e.data = SnapshotData(accounts_, malformed_lines_);
  return e;
}

}  // namespace vigil::local_users
