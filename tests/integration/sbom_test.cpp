// The sbom collector and `vigil-agent sbom` on the real system: the agent's inventory of this
// machine's dpkg database matches dpkg-query; then the collector is pointed (sbom.dpkg_status)
// at a copy of the status file in a temporary directory, the copy is changed the way dpkg
// changes it (a new file renamed over the old one), and the added, removed and upgraded
// events are awaited. Nothing is installed or removed. Every sbom event is checked against
// the schema. The command prints CycloneDX and SPDX for this machine and for a root directory.
#include <stdio.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/schema.h"
#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using testing::TempDir;
using namespace std::chrono_literals;

using testing::Shell;
using testing::ShellRun;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// name:arch -> version of every installed package, from dpkg-query.
std::map<std::string, std::string> DpkgQuery() {
  std::map<std::string, std::string> out;
  const ShellRun r = Shell("dpkg-query -W -f='${db:Status-Status} ${Package}:${Architecture} ${Version}\\n'");
  std::istringstream lines(r.out);
  for (std::string state, key, version; lines >> state >> key >> version;)
    if (state == "installed") out[key] = version;
  return out;
}

bool IsSbom(const json& e, const char* action) {
  return e.value("type", "") == "sbom" && e.value("action", "") == action && e.contains("data");
}

void ExpectSbomEventsValid(const std::vector<json>& events) {
  const Result<schema::Schema>& loaded = schema::BuiltinSchema();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  int mine = 0;
  for (const json& e : events) {
    if (e.value("type", "") != "sbom") continue;
    ++mine;
    std::string problems;
    for (const schema::ValidationError& err : loaded->Check(e)) problems += "\n  " + err.ToString();
    EXPECT_TRUE(problems.empty()) << "invalid event:" << problems << "\nevent: " << e.dump().substr(0, 2000);
  }
  EXPECT_GT(mine, 0);
}

// Splits a status file into its stanzas (blank-line separated), keeping their text.
std::vector<std::string> Stanzas(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += line + "\n";
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::string Field(const std::string& stanza, const std::string& name) {
  std::istringstream in(stanza);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + ": ", 0) == 0) return line.substr(name.size() + 2);
  return "";
}

TEST(SbomIntegration, InventoryOfThisMachineThenChangesOfACopiedDatabase) {
  const std::map<std::string, std::string> installed = DpkgQuery();
  ASSERT_FALSE(installed.empty()) << "this test needs dpkg";
  TempDir dir("/tmp/vigil-sbom-");
  const std::string status = dir / "status";
  const std::string original = ReadAll("/var/lib/dpkg/status");
  ASSERT_FALSE(original.empty());
  std::ofstream(status) << original;

  auto agent = AgentProcess::Start("sbom:\n  dpkg_status: " + status +
                                   "\n  opkg_status: \"\"\n  apk_installed: \"\"\n  rpmdb: \"\"\n");
  ASSERT_NE(agent, nullptr);

  // Every chunk of the inventory, then its packages against dpkg-query.
  auto first = agent->WaitFor([](const json& e) { return IsSbom(e, "inventory"); }, 20s);
  ASSERT_TRUE(first) << "no sbom inventory; agent log:\n" << agent->Log();
  const std::string id = (*first)["data"]["inventory_id"];
  const int chunks = (*first)["data"]["chunks"];
  EXPECT_EQ((*first)["data"]["package_count"], installed.size());
  EXPECT_EQ((*first)["data"]["databases"], json::array({status}));
  EXPECT_EQ((*first)["data"]["os"]["id"], "debian");
  int chunks_seen = 0;  // WaitFor looks at every event from the first, in order
  ASSERT_TRUE(agent->WaitFor(
      [&](const json& e) {
        chunks_seen += IsSbom(e, "inventory") && e["data"]["inventory_id"] == id;
        return chunks_seen == chunks;
      },
      20s))
      << "not every chunk of " << chunks;
  std::map<std::string, std::string> seen;
  std::set<int> chunk_numbers;
  for (const json& e : agent->Events()) {
    if (!IsSbom(e, "inventory") || e["data"]["inventory_id"] != id) continue;
    chunk_numbers.insert(e["data"]["chunk"].get<int>());
    EXPECT_LE(e["data"]["packages"].size(), 500u);
    for (const json& p : e["data"]["packages"]) {
      seen[p["name"].get<std::string>() + ":" + p.value("arch", "")] = p["version"].get<std::string>();
      EXPECT_TRUE(p["purl"].get<std::string>().starts_with("pkg:deb/debian/")) << p.dump();
    }
  }
  EXPECT_EQ(static_cast<int>(chunk_numbers.size()), chunks);
  EXPECT_EQ(seen, installed);

  // The copy changed as dpkg does it: a new file renamed over the old. One package gets a new
  // version, one goes, one comes.
  std::vector<std::string> stanzas = Stanzas(original);
  std::string upgraded_name, removed_name, old_version;
  std::string edited;
  for (const std::string& s : stanzas) {
    const bool installed_stanza = Field(s, "Status") == "install ok installed";
    if (installed_stanza && upgraded_name.empty() && Field(s, "Package") == "dpkg") {
      upgraded_name = "dpkg";
      old_version = Field(s, "Version");
      std::string changed = s;
      changed.replace(changed.find("Version: " + old_version), 9 + old_version.size(),
                      "Version: " + old_version + "+vigil1");
      edited += changed + "\n";
      continue;
    }
    if (installed_stanza && removed_name.empty() && Field(s, "Package") == "hostname") {
      removed_name = "hostname";
      continue;
    }
    edited += s + "\n";
  }
  ASSERT_EQ(upgraded_name, "dpkg");
  ASSERT_EQ(removed_name, "hostname") << "this test removes 'hostname' from the copy";
  edited +=
      "Package: vigil-test-added\nStatus: install ok installed\nArchitecture: all\nSource: vigil-src (1.0-1)\n"
      "Version: 1.0-1+b1\nDescription: a package that is not\n  really there\n";
  std::ofstream(status + "-new") << edited;
  ASSERT_EQ(std::rename((status + "-new").c_str(), status.c_str()), 0);

  auto added = agent->WaitFor(
      [](const json& e) { return IsSbom(e, "added") && e["data"]["name"] == "vigil-test-added"; }, 20s);
  ASSERT_TRUE(added) << "no added event; agent log:\n" << agent->Log();
  EXPECT_EQ((*added)["data"]["source_name"], "vigil-src");
  EXPECT_EQ((*added)["data"]["source_version"], "1.0-1");
  EXPECT_EQ((*added)["data"]["version"], "1.0-1+b1");
  auto removed = agent->WaitFor([](const json& e) { return IsSbom(e, "removed") && e["data"]["name"] == "hostname"; }, 5s);
  ASSERT_TRUE(removed) << agent->Log();
  EXPECT_EQ((*removed)["data"]["version"], installed.at("hostname:" + (*removed)["data"].value("arch", "")));
  auto upgraded = agent->WaitFor([](const json& e) { return IsSbom(e, "upgraded") && e["data"]["name"] == "dpkg"; }, 5s);
  ASSERT_TRUE(upgraded) << agent->Log();
  EXPECT_EQ((*upgraded)["data"]["previous_version"], old_version);
  EXPECT_EQ((*upgraded)["data"]["version"], old_version + "+vigil1");
  int changes = 0;
  for (const json& e : agent->Events())
    changes += IsSbom(e, "added") || IsSbom(e, "removed") || IsSbom(e, "upgraded");
  EXPECT_EQ(changes, 3) << "only the differences";

  const int exit_status = agent->Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << agent->Log();
  ExpectSbomEventsValid(agent->Events());
}

TEST(SbomCommand, PrintsCycloneDxAndSpdxOfThisMachine) {
  const std::map<std::string, std::string> installed = DpkgQuery();
  ASSERT_FALSE(installed.empty());
  const ShellRun cdx = Shell(std::string(VIGIL_AGENT_BIN) + " sbom");
  ASSERT_EQ(cdx.exit_code, 0);
  const json bom = json::parse(cdx.out);
  EXPECT_EQ(bom["bomFormat"], "CycloneDX");
  EXPECT_EQ(bom["specVersion"], "1.5");
  size_t libraries = 0;
  for (const json& c : bom["components"]) libraries += c["type"] == "library";
  EXPECT_EQ(libraries, installed.size());

  const ShellRun spdx = Shell(std::string(VIGIL_AGENT_BIN) + " sbom --format spdx");
  ASSERT_EQ(spdx.exit_code, 0);
  const json doc = json::parse(spdx.out);
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["packages"].size(), installed.size() + 2) << "the OS and the running kernel too";
}

TEST(SbomCommand, ReadsARootDirectoryAndFailsClearly) {
  TempDir root("/tmp/vigil-sbom-root-");
  ASSERT_EQ(Shell("mkdir -p " + root.path() + "/lib/apk/db " + root.path() + "/etc " + root.path() +
                  "/lib/modules/6.6.14-0-lts")
                .exit_code,
            0);
  std::ofstream(root / "lib/apk/db/installed") << "P:musl\nV:1.2.4-r4\nA:aarch64\no:musl\n\nP:libcrypto3\nV:3.1.4-r5\n"
                                                  "A:aarch64\no:openssl\n\nbroken line\n";
  std::ofstream(root / "etc/os-release") << "ID=alpine\nVERSION_ID=3.19.1\n";
  const ShellRun json_run = Shell(std::string(VIGIL_AGENT_BIN) + " sbom --format json --root " + root.path());
  ASSERT_EQ(json_run.exit_code, 0);
  const json j = json::parse(json_run.out);
  ASSERT_EQ(j["packages"].size(), 2u);
  EXPECT_EQ(j["packages"][0]["purl"], "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=aarch64&distro=alpine-3.19.1&upstream=openssl");
  EXPECT_EQ(j["kernels"], json::array({"6.6.14-0-lts"}));
  ASSERT_EQ(j["issues"].size(), 1u);
  EXPECT_EQ(j["issues"][0], root.path() + "/lib/apk/db/installed:11: not a '<letter>:<value>' line");

  EXPECT_EQ(Shell(std::string(VIGIL_AGENT_BIN) + " sbom --root " + root.path() + "/etc 2>/dev/null").exit_code, 1)
      << "no package database there";
  EXPECT_EQ(Shell(std::string(VIGIL_AGENT_BIN) + " sbom --format xml 2>/dev/null").exit_code, 2);
  EXPECT_EQ(Shell(std::string(VIGIL_AGENT_BIN) + " sbom --root /nonexistent-vigil 2>/dev/null").exit_code, 2);
}

}  // namespace
}  // namespace vigil
