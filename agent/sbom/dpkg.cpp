#include "agent/sbom/dpkg.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

namespace vigil::sbom {
namespace {

std::string_view DpkgTrim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsBlankLine(std::string_view line) { return DpkgTrim(line).empty(); }

bool HasSpaceOrControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One stanza's fields (the first line of each value; continuation lines are not needed by
// any field used) with the line each began on.
struct Stanza {
  size_t first_line = 0;
  std::map<std::string, std::pair<std::string, size_t>> fields;  // lower-case name -> value, line
  const std::string* Get(const std::string& lower_name) const {
    auto it = fields.find(lower_name);
    return it == fields.end() ? nullptr : &it->second.first;
  }
};

class StanzaParser {
 public:
  StanzaParser(PackageFormat format, std::string_view file) : format_(format), file_(file) {}

  ParsedPackages Run(std::string_view text) {
    size_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      const std::string_view line = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      Line(line, line_no);
    }
    Finish();
    return std::move(out_);
  }

 private:
  void Issue(size_t line, std::string reason) { out_.issues.push_back({std::string(file_), line, std::move(reason)}); }

  void Line(std::string_view line, size_t line_no) {
    if (IsBlankLine(line)) {
      Finish();
      return;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (!current_ || !in_field_) Issue(line_no, "continuation line without a field before it");
      return;  // continuation of a multi-line value (Description, Conffiles, ...)
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      Issue(line_no, "not a field (no ':')");
      in_field_ = false;
      return;
    }
    const std::string_view name = line.substr(0, colon);
    if (name.empty() || HasSpaceOrControl(name) || name.front() == '#' || name.front() == '-') {
      Issue(line_no, "invalid field name '" + std::string(name.substr(0, 64)) + "'");
      in_field_ = false;
      return;
    }
    if (!current_) current_ = Stanza{line_no, {}};
    in_field_ = true;
    const std::string key = LowerAscii(name);
    const std::string_view value = DpkgTrim(line.substr(colon + 1));
    auto [it, fresh] = current_->fields.try_emplace(key, std::string(value), line_no);
    if (!fresh) Issue(line_no, "field '" + std::string(name) + "' given twice; the first kept");
  }

  bool Installed(const std::string* status) const {
    if (status == nullptr) return false;
    // "want flag state"; opkg's flags may be a comma-separated list.
    std::vector<std::string_view> words;
    std::string_view rest = *status;
    while (!rest.empty()) {
      rest = DpkgTrim(rest);
      const size_t sp = rest.find_first_of(" \t");
      words.push_back(rest.substr(0, sp));
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    }
    if (words.size() != 3 || words[2] != "installed") return false;
    if (format_ == PackageFormat::kDeb) return words[1] == "ok";
    return words[1].find("reinstreq") == std::string_view::npos;
  }

  void Finish() {
    in_field_ = false;
    if (!current_) return;
    Stanza s = std::move(*current_);
    current_.reset();
    const std::string* status = s.Get("status");
    if (!Installed(status)) return;  // not installed: not part of the inventory
    const std::string* name = s.Get("package");
    const std::string* version = s.Get("version");
    if (name == nullptr || name->empty()) {
      Issue(s.first_line, "installed package stanza without a Package field; skipped");
      return;
    }
    if (HasSpaceOrControl(*name)) {
      Issue(s.fields["package"].second, "invalid package name '" + name->substr(0, 64) + "'; stanza skipped");
      return;
    }
    if (version == nullptr || version->empty()) {
      Issue(s.first_line, "package '" + *name + "' has no Version; skipped");
      return;
    }
    if (HasSpaceOrControl(*version)) {
      Issue(s.fields["version"].second, "package '" + *name + "': invalid version '" + version->substr(0, 64) +
                                            "'; skipped");
      return;
    }
    Package p;
    p.format = format_;
    p.name = *name;
    p.version = *version;
    if (const std::string* arch = s.Get("architecture")) p.arch = *arch;
    p.source_name = p.name;
    p.source_version = p.version;
    if (const std::string* source = s.Get("source")) {
      std::string src_name, src_version;
      if (SplitSourceField(*source, &src_name, &src_version)) {
        p.source_name = src_name;
        if (!src_version.empty()) p.source_version = src_version;
      } else {
        Issue(s.fields["source"].second,
              "package '" + p.name + "': malformed Source '" + source->substr(0, 64) + "'; the binary's name used");
      }
    }
    out_.packages.push_back(std::move(p));
  }

  const PackageFormat format_;
  const std::string_view file_;
  ParsedPackages out_;
  std::optional<Stanza> current_;
  bool in_field_ = false;  // the last line was a field or its continuation
};

}  // namespace

bool SplitSourceField(std::string_view value, std::string* name, std::string* version) {
  value = DpkgTrim(value);
  const size_t paren = value.find('(');
  std::string_view n = DpkgTrim(value.substr(0, paren));
  std::string_view v;
  if (paren != std::string_view::npos) {
    const size_t close = value.find(')', paren);
    if (close == std::string_view::npos || !DpkgTrim(value.substr(close + 1)).empty()) return false;
    v = DpkgTrim(value.substr(paren + 1, close - paren - 1));
    if (v.empty() || HasSpaceOrControl(v)) return false;
  }
  if (n.empty() || HasSpaceOrControl(n)) return false;
  *name = std::string(n);
  *version = std::string(v);
  return true;
}

ParsedPackages ParseDpkgStatus(std::string_view text, std::string_view file) {
  return StanzaParser(PackageFormat::kDeb, file).Run(text);
}

ParsedPackages ParseOpkgStatus(std::string_view text, std::string_view file) {
  return StanzaParser(PackageFormat::kOpkg, file).Run(text);
}

}  // namespace vigil::sbom
