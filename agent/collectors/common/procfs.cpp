#include "agent/collectors/common/procfs.h"

#include <charconv>
#include <limits>

namespace vigil::common {
namespace {

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

// Splits off the next space-separated field of `rest`.
std::string_view NextField(std::string_view* rest) {
  size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  size_t end = rest->find(' ', start);
  std::string_view field = rest->substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  *rest = end == std::string_view::npos ? std::string_view() : rest->substr(end);
  return field;
}

std::string UnescapeStatusName(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      if (v[i + 1] == 'n') {
        out.push_back('\n');
        ++i;
        continue;
      }
      if (v[i + 1] == '\\') {
        out.push_back('\\');
        ++i;
        continue;
      }
    }
    out.push_back(v[i]);
  }
  return out;
}

}  // namespace

Result<ProcStat> ParseProcStat(std::string_view text) {
  const size_t open = text.find(" (");
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open + 2)
    return Status::InvalidArgument("stat: expected 'PID (COMM) ...'");
  ProcStat st;
  if (!ParseNumber(text.substr(0, open), &st.pid) || st.pid <= 0)
    return Status::InvalidArgument("stat: pid is not a positive number");
  st.comm.assign(text.substr(open + 2, close - open - 2));
  std::string_view rest = text.substr(close + 1);
  // Fields after COMM: 3 state, 4 ppid, 5 pgrp, ... 22 starttime.
  std::string_view state = NextField(&rest);
  if (state.size() != 1) return Status::InvalidArgument("stat: state is not one character");
  st.state = state[0];
  if (!ParseNumber(NextField(&rest), &st.ppid) || st.ppid < 0)
    return Status::InvalidArgument("stat: ppid is not a number");
  for (int field = 5; field < 22; ++field) {
    std::string_view f = NextField(&rest);
    if (f.empty()) return Status::InvalidArgument("stat: fewer than 22 fields");
    if (field == 9 && !ParseNumber(f, &st.flags)) return Status::InvalidArgument("stat: flags is not a number");
  }
  std::string_view start = NextField(&rest);
  if (!start.empty() && start.back() == '\n') start.remove_suffix(1);
  if (!ParseNumber(start, &st.start_ticks)) return Status::InvalidArgument("stat: starttime is not a number");
  return st;
}

Result<ProcStatus> ParseProcStatus(std::string_view text) {
  ProcStatus st;
  bool have_uid = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    size_t v0 = value.find_first_not_of(" \t");
    value = v0 == std::string_view::npos ? std::string_view() : value.substr(v0);
    if (key == "Name") {
      st.name = UnescapeStatusName(value);
    } else if (key == "PPid") {
      if (!ParseNumber(value, &st.ppid) || st.ppid < 0) return Status::InvalidArgument("status: PPid is not a number");
    } else if (key == "Uid") {
      size_t tab = value.find_first_of(" \t");
      std::string_view real = value.substr(0, tab);
      std::string_view after = tab == std::string_view::npos ? std::string_view() : value.substr(tab);
      size_t e0 = after.find_first_not_of(" \t");
      std::string_view eff = e0 == std::string_view::npos ? std::string_view() : after.substr(e0);
      eff = eff.substr(0, eff.find_first_of(" \t"));
      if (!ParseNumber(real, &st.ruid) || !ParseNumber(eff, &st.euid))
        return Status::InvalidArgument("status: Uid is not 'real effective ...'");
      have_uid = true;
    }
  }
  if (!have_uid) return Status::InvalidArgument("status: no Uid line");
  return st;
}

std::string_view TrimCmdline(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  return raw;
}

std::vector<std::string> SplitCmdline(std::string_view raw) {
  std::vector<std::string> argv;
  raw = TrimCmdline(raw);
  if (raw.empty()) return argv;
  size_t start = 0;
  for (;;) {
    size_t nul = raw.find('\0', start);
    if (nul == std::string_view::npos) {
      argv.emplace_back(raw.substr(start));
      break;
    }
    argv.emplace_back(raw.substr(start, nul - start));
    start = nul + 1;
  }
  return argv;
}

std::string JoinCmdline(std::string_view raw) {
  std::string out(TrimCmdline(raw));
  for (char& c : out) {
    if (c == '\0') c = ' ';
  }
  return out;
}

int32_t ParsePid(std::string_view name) {
  if (name.empty() || name.size() > 10 || name[0] == '0') return -1;
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  if (v > std::numeric_limits<int32_t>::max()) return -1;
  return static_cast<int32_t>(v);
}

}  // namespace vigil::common
