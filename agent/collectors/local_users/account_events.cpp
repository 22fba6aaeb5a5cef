#include "agent/collectors/local_users/account_events.h"

#include <optional>
#include <set>
#include <string>

namespace vigil::local_users {
namespace {

bool Known(const PasswordInfo& p) { return p.state != PasswordState::kUnknown; }

void PutPassword(Json& obj, const PasswordInfo& p) {
  if (!Known(p)) return;
  obj["empty_password"] = p.state == PasswordState::kEmpty;
  obj["password_locked"] = p.state == PasswordState::kLocked;
}

Event MakeEvent(const char* action, Json data) {
  Event e;
  e.type = "local_users";
  e.action = action;
  e.data = std::move(data);
  return e;
}

// user_changed for `a` -> `b` (same name), or nothing when nothing reported changed.
// `shadow_both`: shadow was read for both views, so a password state that became known or
// unknown means the user's shadow entry appeared or went away.
std::optional<Event> UserChange(const UserAccount& a, const UserAccount& b, bool shadow_both) {
  Json changed = Json::array();
  Json previous = Json::object();
  if (a.uid != b.uid) {
    changed.push_back("uid");
    previous["uid"] = a.uid;
  }
  if (a.gid != b.gid) {
    changed.push_back("gid");
    previous["gid"] = a.gid;
  }
  if (a.home != b.home) {
    changed.push_back("home");
    previous["home"] = a.home;
  }
  if (a.shell != b.shell) {
    changed.push_back("shell");
    previous["shell"] = a.shell;
    previous["login_shell"] = a.login_shell();
  }
  const bool both_known = Known(a.password) && Known(b.password);
  if (a.password != b.password && (both_known || shadow_both)) {
    changed.push_back("password");
    PutPassword(previous, a.password);
  }
  if (changed.empty()) return std::nullopt;
  Json data = UserJson(b);
  data["changed"] = std::move(changed);
  data["previous"] = std::move(previous);
  return MakeEvent("user_changed", std::move(data));
}

std::optional<Event> GroupChange(const GroupAccount& a, const GroupAccount& b) {
  Json changed = Json::array();
  Json data = GroupJson(b);
  if (a.gid != b.gid) {
    changed.push_back("gid");
    data["previous"] = Json{{"gid", a.gid}};
  }
  const std::set<std::string> old_members(a.members.begin(), a.members.end());
  const std::set<std::string> new_members(b.members.begin(), b.members.end());
  Json added = Json::array(), removed = Json::array();
  for (const std::string& m : new_members)
    if (old_members.count(m) == 0) added.push_back(m);
  for (const std::string& m : old_members)
    if (new_members.count(m) == 0) removed.push_back(m);
  if (!added.empty() || !removed.empty()) {
    changed.push_back("members");
    if (!added.empty()) data["members_added"] = std::move(added);
    if (!removed.empty()) data["members_removed"] = std::move(removed);
  }
  if (changed.empty()) return std::nullopt;  // only the order of members changed
  data["changed"] = std::move(changed);
  return MakeEvent("group_changed", std::move(data));
}

}  // namespace

Json UserJson(const UserAccount& u) {
  Json j = {{"user", u.name},  {"uid", u.uid},     {"gid", u.gid},
            {"home", u.home},  {"shell", u.shell}, {"login_shell", u.login_shell()},
            {"uid0", u.uid0()}};
  PutPassword(j, u.password);
  return j;
}

Json GroupJson(const GroupAccount& g) { return Json{{"group", g.name}, {"gid", g.gid}, {"members", g.members}}; }

Json SnapshotData(const Accounts& accounts, size_t malformed_lines, size_t max_entries) {
  Json users = Json::array(), groups = Json::array();
  Json uid0 = Json::array(), empty = Json::array();
  for (const auto& [name, u] : accounts.users) {
    if (users.size() < max_entries) users.push_back(UserJson(u));
    if (u.uid0()) uid0.push_back(name);
    if (u.password.state == PasswordState::kEmpty) empty.push_back(name);
  }
  for (const auto& [name, g] : accounts.groups)
    if (groups.size() < max_entries) groups.push_back(GroupJson(g));
  Json data = {{"users", std::move(users)},           {"groups", std::move(groups)},
               {"user_count", accounts.users.size()}, {"group_count", accounts.groups.size()},
               {"uid0_users", std::move(uid0)},       {"empty_password_users", std::move(empty)},
               {"shadow_read", accounts.shadow_read}};
  if (accounts.users.size() > max_entries) data["users_omitted"] = accounts.users.size() - max_entries;
  if (accounts.groups.size() > max_entries) data["groups_omitted"] = accounts.groups.size() - max_entries;
  if (malformed_lines > 0) data["malformed_lines"] = malformed_lines;
  return data;
}

std::vector<Event> DiffAccounts(const Accounts& before, const Accounts& after) {
  std::vector<Event> out;
  for (const auto& [name, u] : before.users)
    if (after.users.count(name) == 0) out.push_back(MakeEvent("user_removed", UserJson(u)));
  for (const auto& [name, u] : after.users)
    if (before.users.count(name) == 0) out.push_back(MakeEvent("user_added", UserJson(u)));
  for (const auto& [name, u] : after.users) {
    auto it = before.users.find(name);
    if (it == before.users.end()) continue;
    if (auto e = UserChange(it->second, u, before.shadow_read && after.shadow_read)) out.push_back(std::move(*e));
  }
  for (const auto& [name, g] : before.groups)
    if (after.groups.count(name) == 0) out.push_back(MakeEvent("group_removed", GroupJson(g)));
  for (const auto& [name, g] : after.groups)
    if (before.groups.count(name) == 0) out.push_back(MakeEvent("group_added", GroupJson(g)));
  for (const auto& [name, g] : after.groups) {
    auto it = before.groups.find(name);
    if (it == before.groups.end()) continue;
    if (auto e = GroupChange(it->second, g)) out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace vigil::local_users
