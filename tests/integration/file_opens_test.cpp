// files.watch_opens on the real kernel (root needed: fanotify): the agent watches the opens of
// a regular file and of a character device node (a copy of /dev/null's numbers, so opening
// it is harmless) in a temporary directory; the test opens them itself and each open must be
// reported as `file` / `opened` with the test's own pid, executable and user. Every event the
// agent wrote is validated against the schema.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/agent_harness.h"

namespace vigil {
namespace {

using nlohmann::json;
using testing::AgentProcess;
using namespace std::chrono_literals;

bool IsOpened(const json& e, const std::string& path) {
  return e.value("type", "") == "file" && e.value("action", "") == "opened" && e.contains("data") &&
         e["data"].value("path", "") == path && e["data"].value("pid", 0) == getpid();
}

// Opens `path` until the agent reports it (its marks are set while it starts), up to 10 s.
std::optional<json> OpenUntilReported(AgentProcess& agent, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ADD_FAILURE() << "cannot open " << path;
      return std::nullopt;
    }
    close(fd);
    if (auto e = agent.WaitFor([&](const json& j) { return IsOpened(j, path); }, 500ms)) return e;
  }
  return std::nullopt;
}

TEST(FileOpensIntegration, OpensOfWatchedFilesNameTheOpeningProcess) {
  testing::TempDir dir;
  const std::string file = dir / "watchdog-file";
  const std::string device = dir / "watchdog";
  std::ofstream(file) << "not a watchdog\n";
  ASSERT_EQ(mknod(device.c_str(), S_IFCHR | 0600, makedev(1, 3)), 0) << "mknod: " << std::strerror(errno);

  auto agent = AgentProcess::Start("files:\n  priority: high\n  paths: [" + dir / "unrelated" + "]\n  watch_opens: [" +
                                   file + ", " + device + ", " + dir / "missing" + "]\n");
  ASSERT_NE(agent, nullptr);
  const std::string self_exe = std::filesystem::read_symlink("/proc/self/exe").string();

  auto opened = OpenUntilReported(*agent, device);
  ASSERT_TRUE(opened.has_value()) << "no opened event for " << device << "; log:\n" << agent->Log();
  const json& d = (*opened)["data"];
  EXPECT_EQ(d.value("root", ""), device);
  EXPECT_EQ(d.value("type", ""), "other");
  EXPECT_EQ(d.value("exe", ""), self_exe);
  EXPECT_EQ(d.value("comm", ""), std::filesystem::path(self_exe).filename().string().substr(0, 15));
  EXPECT_EQ(d.value("uid", -1), static_cast<int>(getuid()));
  EXPECT_EQ(d.value("user", ""), "root");

  auto file_opened = OpenUntilReported(*agent, file);
  ASSERT_TRUE(file_opened.has_value()) << "no opened event for " << file << "; log:\n" << agent->Log();
  EXPECT_EQ((*file_opened)["data"].value("type", ""), "file");
  EXPECT_EQ((*file_opened)["data"].value("exe", ""), self_exe);
  // The agent does not report a file it only read to describe the event (nor any other open
  // of its own): every opened event is the test's.
  for (const json& e : agent->Events()) {
    if (e.value("action", "") == "opened") {
      EXPECT_EQ(e["data"].value("pid", 0), getpid()) << e.dump();
    }
  }
  testing::StopAndValidate(*agent);
}

}  // namespace
}  // namespace vigil
