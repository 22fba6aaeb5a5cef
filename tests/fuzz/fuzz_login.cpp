// Fuzzes the login collector's parsers (agent/collectors/login/login_parse.h) and its tracker
// with the same input: as a log file line, a syslog datagram, a message of each login program,
// a utmp record, and a utmp file. None may crash; every string that reaches an event must be
// valid UTF-8 within its bound, and every event must serialise.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agent/collectors/login/login_parse.h"
#include "agent/collectors/login/login_tracker.h"

namespace {

using namespace vigil::login;

void CheckString(const std::string& s, size_t max) {
  if (s.size() > max) std::abort();
  (void)nlohmann::json(s).dump();  // throws, and so aborts, on invalid UTF-8
}

void CheckLogin(const ParsedMessage& p) {
  if (p.kind != MessageKind::kLogin) return;
  const Login& l = p.login;
  for (const std::string* s : {&l.user, &l.by_user, &l.source_ip, &l.source_host, &l.method, &l.tty})
    CheckString(*s, kMaxFieldBytes);
  CheckString(l.command, kMaxMessageBytes);
  if (l.count == 0) std::abort();
  if (l.source_port < -1 || l.source_port > 65535) std::abort();
  if (!l.source_ip.empty() && NormalizeIp(l.source_ip) != l.source_ip) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const SyslogLine line = ParseLogFileLine(in);
  CheckLogin(ParseAuthMessage(line.program, line.pid, line.message));
  if (auto frame = ParseSyslogDatagram(in); frame.ok())
    CheckLogin(ParseAuthMessage(frame->program, frame->pid, frame->message));
  for (std::string_view program : {"", "sshd", "dropbear", "login", "su", "sudo", "cron"})
    CheckLogin(ParseAuthMessage(program, 1, in));

  if (auto r = ParseUtmpRecord(in.substr(0, kUtmpRecordSize)); r.ok()) {
    for (const std::string* s : {&r->line, &r->id, &r->user, &r->host}) CheckString(*s, kMaxFieldBytes);
    std::string host;
    CheckString(UtmpSourceIp(*r, &host), kMaxFieldBytes);
  }
  uint64_t repeats = 0;
  if (ParseLastMessageRepeated(in, &repeats) && repeats == 0) std::abort();
  CheckString(CleanText(in), kMaxFieldBytes);
  (void)NormalizeIp(in);

  // The tracker over every kind of input, with and without an auth log in use.
  vigil::CollectorStats stats("login");
  for (uint32_t in_use :
       {vigil::LoginOriginBit(vigil::LoginOrigin::kAuthLog), vigil::LoginOriginBit(vigil::LoginOrigin::kUtmp)}) {
    TrackerOptions options;
    options.max_repeat = 3;
    LoginTracker tracker(
        stats, [](vigil::Event&& e) { (void)vigil::EventToJsonLine(e); }, options);
    tracker.SetInUse(in_use);
    for (int origin = 0; origin < vigil::kLoginOriginCount; ++origin) {
      vigil::LoginInput input;
      input.origin = static_cast<vigil::LoginOrigin>(origin);
      input.data = std::string(in);
      input.identifier = "sshd";
      tracker.Handle(input, 1'700'000'000'000);
    }
    // A utmp file that changes from the input to the input shifted by one slot.
    vigil::LoginInput utmp;
    utmp.origin = vigil::LoginOrigin::kUtmp;
    if (in.size() > kUtmpRecordSize) {
      utmp.data = std::string(in.substr(kUtmpRecordSize));
      tracker.Handle(utmp, 1'700'000'000'001);
    }
  }
  return 0;
}
