#include "agent/sbom/os_release.h"

#include <cctype>
#include <optional>

namespace vigil::sbom {
namespace {

bool OsKeyValid(std::string_view key) {
  if (key.empty() || std::isdigit(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// The value of a shell-style word; nullopt (with `why`) when malformed.
std::optional<std::string> OsUnquote(std::string_view v, std::string* why) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    const char c = v[i];
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < v.size()) {
        if (v[i] == '\\' && i + 1 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\' || v[i + 1] == '$' || v[i + 1] == '`')) {
          out += v[i + 1];
          i += 2;
        } else if (v[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          out += v[i++];
        }
      }
      if (!closed) {
        *why = "unterminated double quote";
        return std::nullopt;
      }
    } else if (c == '\'') {
      const size_t end = v.find('\'', i + 1);
      if (end == std::string_view::npos) {
        *why = "unterminated single quote";
        return std::nullopt;
      }
      out.append(v.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == ' ' || c == '\t') {
      *why = "space in an unquoted value";
      return std::nullopt;
    } else if (c == '\\' && i + 1 < v.size()) {
      out += v[i + 1];
      i += 2;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace

ParsedOsRelease ParseOsRelease(std::string_view text, std::string_view file) {
  ParsedOsRelease out;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      out.issues.push_back({std::string(file), line_no, "not KEY=value"});
      continue;
    }
    const std::string_view key = line.substr(0, eq);
    if (!OsKeyValid(key)) {
      out.issues.push_back({std::string(file), line_no, "invalid key '" + std::string(key.substr(0, 64)) + "'"});
      continue;
    }
    std::string why;
    std::optional<std::string> value = OsUnquote(line.substr(eq + 1), &why);
    if (!value) {
      out.issues.push_back({std::string(file), line_no, std::string(key) + ": " + why});
      continue;
    }
    if (key == "ID") out.os.id = std::move(*value);
    else if (key == "VERSION_ID") out.os.version_id = std::move(*value);
    else if (key == "NAME") out.os.name = std::move(*value);
    else if (key == "PRETTY_NAME") out.os.pretty_name = std::move(*value);
    else if (key == "VERSION_CODENAME") out.os.version_codename = std::move(*value);
  }
  return out;
}

}  // namespace vigil::sbom
