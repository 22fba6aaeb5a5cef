// The local_users events built from Accounts: the snapshot, and the change events a diff of
// two Accounts yields. Pure functions; the field list is README.md beside this file (and
// schema/events.yml).
#pragma once

#include <cstddef>
#include <vector>

#include "agent/collectors/local_users/accounts.h"
#include "agent/core/event.h"

namespace vigil::local_users {

// Users and groups listed in one snapshot at most (the rest are counted as omitted).
inline constexpr size_t kSnapshotMaxEntries = 1024;

// {"user","uid","gid","home","shell","login_shell","uid0"} and, when the password state is
// known, "empty_password" and "password_locked".
Json UserJson(const UserAccount& u);
// {"group","gid","members"}
Json GroupJson(const GroupAccount& g);

// data of the `snapshot` event: users and groups sorted by name (at most `max_entries` of
// each), their counts, the names flagged uid0 and empty_password, whether shadow was read,
// and `malformed_lines` when not 0.
Json SnapshotData(const Accounts& accounts, size_t malformed_lines, size_t max_entries = kSnapshotMaxEntries);

// The events that turn `before` into `after`, in this order: user_removed, user_added,
// user_changed, group_removed, group_added, group_changed, each sorted by name. Type, action
// and data are set; ts, priority and agg_key are left to the caller (never aggregated).
// A password state that became known or unknown is a change only when shadow was read both
// times (its entry for the user appeared or went away); a shadow file that became readable or
// unreadable is not a password change.
std::vector<Event> DiffAccounts(const Accounts& before, const Accounts& after);

}  // namespace vigil::local_users
