// Test helpers for the posture tests: a temporary root directory filled with files, and a
// CommandRunner that answers from a table.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "agent/platform/command_runner.h"

namespace vigil::posture::testing {

class TempRoot {
 public:
  TempRoot() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigil-posture-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;

  const std::string& path() const { return path_; }

  // Writes `content` to root + rel (parents created), with `mode`.
  void Write(const std::string& rel, const std::string& content, mode_t mode = 0644) {
    const std::filesystem::path p = path_ + rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    chmod(p.c_str(), mode);
  }
  void Mkdir(const std::string& rel, mode_t mode = 0755) {
    const std::filesystem::path p = path_ + rel;
    std::filesystem::create_directories(p);
    chmod(p.c_str(), mode);
  }
  void Symlink(const std::string& target, const std::string& rel) {
    const std::filesystem::path p = path_ + rel;
    std::filesystem::create_directories(p.parent_path());
    std::filesystem::create_symlink(target, p);
  }
  void Remove(const std::string& rel) { std::filesystem::remove_all(path_ + rel); }

 private:
  std::string path_;
};

// Answers Run with the output registered for argv[0]; NotFound for anything else. Counts calls.
class FakeRunner : public CommandRunner {
 public:
  std::map<std::string, CommandOutput> outputs;
  int calls = 0;
  Result<CommandOutput> Run(const std::vector<std::string>& argv, int, size_t) override {
    ++calls;
    auto it = outputs.find(argv.at(0));
    if (it == outputs.end()) return Status::NotFound(argv[0] + ": no such program");
    return it->second;
  }
};

}  // namespace vigil::posture::testing
