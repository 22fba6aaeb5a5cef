// Our dpkg order against dpkg itself: every version installed on this machine
// (dpkg-query -W -f '${Version}\n'), sorted by our order; each neighbouring pair, plus random
// pairs, is checked with `dpkg --compare-versions A lt|eq|gt B` run as a program. Needs a
// Debian-family machine with dpkg; none here is a failure, not a skip (the hub is built on one).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hub/vuln/version.h"

namespace vigil::hub::vuln {
namespace {

std::vector<std::string> InstalledVersions() {
  std::vector<std::string> out;
  FILE* p = popen("dpkg-query -W -f '${Version}\\n' 2>/dev/null", "r");
  if (p == nullptr) return out;
  char line[512];
  std::set<std::string> seen;
  while (std::fgets(line, sizeof line, p) != nullptr) {
    std::string v(line);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    if (!v.empty() && seen.insert(v).second) out.push_back(v);
  }
  pclose(p);
  return out;
}

// Runs dpkg --compare-versions a op b; true when dpkg says the relation holds.
// Whether `dpkg --compare-versions a op b` holds. posix_spawn, not fork: this test process is
// large under the sanitizers, and copying its page tables thousands of times took a minute.
bool Dpkg(const std::string& a, const char* op, const std::string& b) {
  const char* argv[] = {"dpkg", "--compare-versions", a.c_str(), op, b.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "dpkg", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) {
    ADD_FAILURE() << "cannot start dpkg";
    return false;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
    ADD_FAILURE() << "dpkg --compare-versions " << a << " " << op << " " << b << " did not run";
    return false;
  }
  return WEXITSTATUS(status) == 0;
}

int SignOf(int v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

TEST(DpkgAgreement, OurOrderIsDpkgsOnThisMachinesVersions) {
  std::vector<std::string> versions = InstalledVersions();
  ASSERT_GE(versions.size(), 200u) << "dpkg-query listed too few versions";
  for (const std::string& v : versions) EXPECT_TRUE(ParseDpkgVersion(v).ok()) << v;
  std::sort(versions.begin(), versions.end(), [](const std::string& a, const std::string& b) {
    return CompareDpkg(a, b) < 0;
  });
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i + 1 < versions.size(); ++i) pairs.emplace_back(versions[i], versions[i + 1]);
  // Hard cases made from real versions: each with a tilde suffix and a +debNuM pair.
  for (size_t i = 0; i < versions.size(); i += 7) {
    pairs.emplace_back(versions[i], versions[i] + "~rc1");
    pairs.emplace_back(versions[i] + "+deb12u9", versions[i] + "+deb12u10");
  }
  std::mt19937 rng(20261206);
  std::uniform_int_distribution<size_t> pick(0, versions.size() - 1);
  while (pairs.size() < 2400) pairs.emplace_back(versions[pick(rng)], versions[pick(rng)]);

  // The relations are exclusive, so dpkg confirming the one ours gives is agreement: one dpkg
  // run per pair.
  size_t checked = 0, disagreements = 0;
  for (const auto& [a, b] : pairs) {
    int ours = SignOf(CompareDpkg(a, b));
    const char* op = ours < 0 ? "lt" : ours == 0 ? "eq" : "gt";
    ++checked;
    if (!Dpkg(a, op, b)) {
      ++disagreements;
      ADD_FAILURE() << a << " vs " << b << ": ours says " << op << ", dpkg does not";
    }
  }
  EXPECT_GE(checked, 2000u);
  EXPECT_EQ(disagreements, 0u);
  std::printf("dpkg agreement: %zu comparisons over %zu installed versions, %zu disagreements\n", checked,
              versions.size(), disagreements);
}

}  // namespace
}  // namespace vigil::hub::vuln
