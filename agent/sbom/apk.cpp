#include "agent/sbom/apk.h"

#include <algorithm>
#include <cctype>

namespace vigil::sbom {
namespace {

bool ApkBadToken(std::string_view s) {
  return s.empty() ||
         std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

class ApkParser {
 public:
  explicit ApkParser(std::string_view file) : file_(file) {}

  ParsedPackages Run(std::string_view text) {
    size_t line_no = 0, pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      Line(line, line_no);
    }
    Finish();
    return std::move(out_);
  }

 private:
  struct Field {
    bool set = false;
    std::string value;
    size_t line = 0;
  };

  void Issue(size_t line, std::string reason) { out_.issues.push_back({std::string(file_), line, std::move(reason)}); }

  void Line(std::string_view line, size_t line_no) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) {
      Finish();
      return;
    }
    if (line.size() < 2 || line[1] != ':' || !std::isalpha(static_cast<unsigned char>(line[0]))) {
      Issue(line_no, "not a '<letter>:<value>' line");
      return;
    }
    if (!in_stanza_) {
      in_stanza_ = true;
      first_line_ = line_no;
    }
    Field* f = nullptr;
    switch (line[0]) {
      case 'P': f = &name_; break;
      case 'V': f = &version_; break;
      case 'A': f = &arch_; break;
      case 'o': f = &origin_; break;
      default: return;
    }
    if (f->set) {
      Issue(line_no, std::string("key '") + line[0] + ":' given twice in a package; the first kept");
      return;
    }
    *f = Field{true, std::string(line.substr(2)), line_no};
  }

  void Finish() {
    if (!in_stanza_) return;
    Field name = std::move(name_), version = std::move(version_), arch = std::move(arch_),
          origin = std::move(origin_);
    name_ = version_ = arch_ = origin_ = Field{};
    in_stanza_ = false;
    if (!name.set) {
      Issue(first_line_, "package without a P: (name) line; skipped");
      return;
    }
    if (ApkBadToken(name.value)) {
      Issue(name.line, "invalid package name '" + name.value.substr(0, 64) + "'; skipped");
      return;
    }
    if (!version.set || ApkBadToken(version.value)) {
      Issue(version.set ? version.line : first_line_,
            "package '" + name.value + "' has no valid V: (version) line; skipped");
      return;
    }
    Package p;
    p.format = PackageFormat::kApk;
    p.name = name.value;
    p.version = version.value;
    p.arch = arch.value;
    p.source_name = origin.set && !ApkBadToken(origin.value) ? origin.value : p.name;
    p.source_version = p.version;  // apk builds every subpackage at its origin's version
    out_.packages.push_back(std::move(p));
  }

  const std::string_view file_;
  ParsedPackages out_;
  bool in_stanza_ = false;
  size_t first_line_ = 0;
  Field name_, version_, arch_, origin_;
};

}  // namespace

ParsedPackages ParseApkInstalled(std::string_view text, std::string_view file) { return ApkParser(file).Run(text); }

}  // namespace vigil::sbom
