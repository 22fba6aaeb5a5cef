#include "agent/detect/files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace vigil::detect {
namespace {

namespace fs = std::filesystem;

bool ReadFile(const fs::path& p, std::string* out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  *out = std::move(ss).str();
  return true;
}

}  // namespace

std::vector<RuleSource> ReadRuleFiles(const std::vector<std::string>& paths, std::vector<LoadIssue>* issues) {
  std::vector<RuleSource> out;
  auto read = [&](const fs::path& p) {
    RuleSource src;
    src.name = p.string();
    if (!ReadFile(p, &src.text)) {
      if (issues) issues->push_back({p.string(), 0, "", "cannot read the file"});
      return;
    }
    out.push_back(std::move(src));
  };
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<fs::path> files;
      for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        std::string ext = it->path().extension().string();
        if (it->is_regular_file(ec) && (ext == ".yml" || ext == ".yaml")) files.push_back(it->path());
      }
      if (ec && issues) issues->push_back({path, 0, "", "cannot list the directory: " + ec.message()});
      std::sort(files.begin(), files.end());
      for (const auto& f : files) read(f);
    } else {
      read(path);
    }
  }
  return out;
}

std::vector<ListIssue> LoadListDir(const std::string& dir, Lists* lists) {
  std::vector<ListIssue> issues;
  std::error_code ec;
  std::vector<fs::path> files;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->path().filename().string().starts_with(".")) files.push_back(it->path());
  }
  if (ec) {
    issues.push_back({dir, 0, "cannot list the directory: " + ec.message()});
    return issues;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string text;
    if (!ReadFile(f, &text)) {
      issues.push_back({f.string(), 0, "cannot read the file"});
      continue;
    }
    auto bad = lists->Load(f.stem().string(), text, f.string());
    issues.insert(issues.end(), bad.begin(), bad.end());
  }
  return issues;
}

}  // namespace vigil::detect
