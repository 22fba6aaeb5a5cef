// The readable output: one line per event, for people watching an agent live.
//   12:04:05.123  process      exec   root  /usr/bin/curl curl -s example.org  (pid 812 < 790 bash)
#include <ctime>

#include "agent/output/outputs.h"

namespace vigil {
namespace {

constexpr const char* kReset = "\033[0m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kBold = "\033[1m";

const char* TypeColor(std::string_view type) {
  if (type == "process") return "\033[36m";      // cyan
  if (type == "system_info") return "\033[35m";  // magenta
  if (type == "heartbeat") return "\033[32m";    // green
  if (type == "agent_stats") return "\033[33m";  // yellow
  if (type == "alert") return "\033[31m";        // red
  return "\033[34m";
}

std::string Str(const Json& data, const char* key) {
  auto it = data.find(key);
  if (it == data.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string Summary(const Event& e) {
  const Json& d = e.data;
  if (e.type == "process") {
    // Built with append(): GCC 12 warns falsely (-Wrestrict) on long operator+ chains.
    std::string cmd = Str(d, "cmdline");
    if (cmd.empty()) {
      // Kernel-style [comm] when only the name is known; "?" when the process left nothing.
      std::string comm = Str(d, "comm");
      cmd = comm.empty() ? "?" : "[" + comm + "]";
    }
    std::string s = Str(d, "user");
    s.append("  ").append(cmd).append("  (pid ").append(Str(d, "pid"));
    if (!Str(d, "ppid").empty()) s.append(" < ").append(Str(d, "ppid"));
    std::string parent = Str(d, "parent_exe");
    if (!parent.empty()) s.append(" ").append(parent.substr(parent.rfind('/') + 1));
    if (e.action == "exit") s.append(", exit ").append(Str(d, "exit_code"));
    s.append(")");
    if (d.value("partial", false)) s.append(" partial");
    return s;
  }
  if (e.type == "system_info") {
    std::string os = d.contains("os") ? Str(d["os"], "pretty_name") : "";
    std::string kernel = d.contains("kernel") ? Str(d["kernel"], "release") : "";
    return Str(d, "hostname") + "  " + os + "  kernel " + kernel + "  " + Str(d, "architecture");
  }
  if (e.type == "agent_stats") {
    return "rss " + std::to_string(d.value("rss_bytes", uint64_t{0}) / 1024) + " KB  cpu " + Str(d, "cpu_ms") +
           " ms  emitted " + Str(d, "events_emitted");
  }
  std::string s = d.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 160) s = s.substr(0, 157) + "...";
  return s == "{}" ? "" : s;
}

}  // namespace

std::string FormatEventPretty(const Event& e, bool color) {
  time_t secs = static_cast<time_t>(e.ts_ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char when[32];
  snprintf(when, sizeof(when), "%02d:%02d:%02d.%03d", t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(e.ts_ms % 1000));
  char head[96];
  snprintf(head, sizeof(head), "%-12s %-8s", e.type.c_str(), e.action.c_str());
  std::string count = e.count > 1 ? " x" + std::to_string(e.count) : "";
  std::string line;
  if (color) {
    line = std::string(kDim) + when + kReset + "  " + TypeColor(e.type) + head + kReset;
    if (!count.empty()) line += std::string(kBold) + count + kReset;
  } else {
    line = std::string(when) + "  " + head + count;
  }
  return line + " " + Summary(e);
}

}  // namespace vigil
