// Helpers for the detection engine's tests: rules from text, events of the schema's types.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/detect/detect.h"

namespace vigil::detect::testing {

inline RuleSet::LoadResult LoadText(const std::string& yaml, std::shared_ptr<Lists> lists = nullptr,
                                    const std::string& name = "test.yml") {
  std::vector<RuleSource> src{{name, yaml}};
  LoadOptions opts;
  opts.lists = std::move(lists);
  return RuleSet::Load(src, opts);
}

// Loads rules that must all load; fails the test otherwise.
inline std::shared_ptr<const RuleSet> MustLoad(const std::string& yaml, std::shared_ptr<Lists> lists = nullptr) {
  auto r = LoadText(yaml, std::move(lists));
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  return r.rules;
}

inline Event Exec(const std::string& exe, const std::string& cmdline, const std::string& user = "root",
                  int64_t ts = 1'000'000) {
  Event e;
  e.device = "dev1";
  e.seq = static_cast<uint64_t>(ts);
  e.ts_ms = ts;
  e.type = "process";
  e.action = "exec";
  e.data = {{"pid", 4242},
            {"ppid", 1},
            {"uid", 0},
            {"user", user},
            {"exe", exe},
            {"cmdline", cmdline},
            {"cwd", "/root"},
            {"parent_exe", "/usr/bin/bash"},
            {"parent_cmdline", "-bash"}};
  return e;
}

inline Event Connect(const std::string& remote_ip, int remote_port, const std::string& exe = "/usr/bin/curl",
                     int64_t ts = 1'000'000, const std::string& device = "dev1") {
  Event e;
  e.device = device;
  e.seq = static_cast<uint64_t>(ts);
  e.ts_ms = ts;
  e.type = "network";
  e.action = "connect";
  e.data = {{"pid", 77},
            {"exe", exe},
            {"user", "root"},
            {"uid", 0},
            {"protocol", "tcp"},
            {"family", remote_ip.find(':') == std::string::npos ? "ipv4" : "ipv6"},
            {"local_ip", "10.0.0.2"},
            {"local_port", 40000},
            {"remote_ip", remote_ip},
            {"remote_port", remote_port},
            {"direction", "outbound"},
            {"initiated", true}};
  return e;
}

inline Event LoginFailure(const std::string& user, const std::string& source_ip, int64_t ts,
                          const std::string& device = "dev1") {
  Event e;
  e.device = device;
  e.seq = static_cast<uint64_t>(ts);
  e.ts_ms = ts;
  e.type = "login";
  e.action = "failure";
  e.data = {
      {"user", user}, {"source_ip", source_ip}, {"service", "sshd"}, {"result", "failed"}, {"source", "auth_log"}};
  return e;
}

inline std::vector<Event> RunEngine(Engine& engine, const Event& e) {
  std::vector<Event> alerts;
  engine.Process(e, &alerts);
  return alerts;
}

// Whether a rule set with one rule matches the event (fresh engine, no suppression).
inline bool Matches(const std::shared_ptr<const RuleSet>& rules, const Event& e) {
  EngineOptions o;
  o.suppress_ms = 0;
  Engine engine(rules, o);
  return !RunEngine(engine, e).empty();
}

}  // namespace vigil::detect::testing
