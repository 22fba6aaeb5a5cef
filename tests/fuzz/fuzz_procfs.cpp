// Fuzzes what the process collector parses from outside: /proc/PID/{stat,status,cmdline},
// /proc directory names, /etc/passwd and the proc connector's netlink datagrams. None may
// crash, hang or read out of bounds, and each keeps its documented invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "agent/collectors/common/passwd.h"
#include "agent/collectors/common/procfs.h"
#include "agent/platform/linux/proc_connector.h"

namespace {

using namespace vigil::common;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto st = ParseProcStat(in); st.ok()) {
    Check(st->pid > 0);
    Check(st->ppid >= 0);
    Check(st->comm.size() <= size);
  }

  if (auto st = ParseProcStatus(in); st.ok()) {
    Check(st->name.size() <= size);
  }

  const std::string_view trimmed = TrimCmdline(in);
  Check(trimmed.empty() || trimmed.back() != '\0');
  const std::vector<std::string> argv = SplitCmdline(in);
  const std::string joined = JoinCmdline(in);
  Check(joined.size() == trimmed.size());
  size_t nuls = 0;
  for (char c : trimmed) nuls += c == '\0';
  Check(argv.size() == (trimmed.empty() ? 0 : nuls + 1));
  size_t total = 0;
  for (const std::string& a : argv) total += a.size();
  Check(total + (argv.empty() ? 0 : argv.size() - 1) == trimmed.size());

  const int32_t pid = ParsePid(in);
  Check(pid == -1 || pid > 0);
  if (pid > 0) Check(std::to_string(pid) == in);

  const PasswdTable passwd = ParsePasswd(in);
  for (const auto& [uid, name] : passwd.names) Check(!name.empty() && uid != UINT32_MAX);

  std::vector<vigil::ProcEvent> events;
  const size_t n = vigil::ParseProcConnectorDatagram(data, size, &events);
  Check(n == events.size());
  for (const vigil::ProcEvent& ev : events) Check(ev.pid > 0 && (ev.ppid == -1 || ev.ppid > 0));
  return 0;
}
