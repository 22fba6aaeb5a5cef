// Fuzzes rule loading (agent/detect): any bytes as a rule file must load into a RuleSet with
// errors, never crash, hang or throw. Every error names the file and a line within the input
// (or 0), and rules that loaded must evaluate a few events without trouble.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "agent/detect/detect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<vigil::detect::RuleSource> src{{"fuzz.yml", text}};
  auto lists = std::make_shared<vigil::detect::Lists>();
  lists->Load("ips", "192.0.2.0/24\nexample.com\n", "ips.txt");
  vigil::detect::LoadOptions opts;
  opts.lists = lists;
  auto r = vigil::detect::RuleSet::Load(src, opts);
  if (!r.rules || r.failed != r.errors.size()) std::abort();
  int lines = 1;
  for (char c : text) lines += c == '\n';
  for (const auto& e : r.errors) {
    if (e.file != "fuzz.yml" || e.line < 0 || e.line > lines + 1 || e.message.empty()) std::abort();
  }
  if (r.loaded == 0) return 0;
  vigil::detect::EngineOptions eo;
  eo.max_groups = 4;
  vigil::detect::Engine engine(r.rules, eo);
  std::vector<vigil::Event> alerts;
  vigil::Event e;
  e.device = "d";
  e.type = "process";
  e.action = "exec";
  e.data = {{"pid", 1},
            {"exe", "/tmp/x"},
            {"cmdline", "x -e /dev/tcp/192.0.2.1/4444"},
            {"user", "root"},
            {"argv", {"x", "-e"}}};
  for (int i = 0; i < 3; ++i) {
    e.ts_ms = i * 1000;
    engine.Process(e, &alerts);
  }
  vigil::Event n;
  n.type = "network";
  n.action = "connect";
  n.data = {{"remote_ip", "192.0.2.9"}, {"remote_port", 4444}, {"local_ip", "::1"}, {"local_port", 1},
            {"protocol", "tcp"},        {"family", "ipv4"},    {"initiated", true}};
  engine.Process(n, &alerts);
  // Alerts serialise (their texts come from the fuzzed rules).
  for (const auto& a : alerts) (void)vigil::EventToJsonLine(a);
  return 0;
}
