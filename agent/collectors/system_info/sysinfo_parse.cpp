#include "agent/collectors/system_info/sysinfo_parse.h"

#include <charconv>
#include <limits>
#include <utility>

namespace vigil::system_info {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\0')) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\0')) s.remove_suffix(1);
  return s;
}

// Calls fn(line) for each line of text (without its '\n').
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    fn(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

// Length of the valid UTF-8 sequence at the start of s, or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;  // overlong, surrogate
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

bool ParseUnsigned(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits "key<spaces/tabs>: value" at the first ':'; false when there is none.
bool SplitKeyValue(std::string_view line, char sep, std::string_view* key, std::string_view* value) {
  const size_t pos = line.find(sep);
  if (pos == std::string_view::npos) return false;
  *key = Trim(line.substr(0, pos));
  *value = Trim(line.substr(pos + 1));
  return true;
}

bool IsKeyStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsKeyChar(char c) { return IsKeyStart(c) || (c >= '0' && c <= '9'); }

// The value part of one os-release line, with quotes and escapes resolved.
std::string UnquoteShellValue(std::string_view v) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    const char c = v[i];
    if (c == '"') {
      ++i;
      while (i < v.size() && v[i] != '"') {
        if (v[i] == '\\' && i + 1 < v.size()) {
          const char n = v[i + 1];
          if (n == '"' || n == '\\' || n == '$' || n == '`') {
            out.push_back(n);
            i += 2;
            continue;
          }
        }
        out.push_back(v[i++]);
      }
      if (i < v.size()) ++i;  // closing quote
    } else if (c == '\'') {
      ++i;
      while (i < v.size() && v[i] != '\'') out.push_back(v[i++]);
      if (i < v.size()) ++i;
    } else if (c == '\\') {
      if (i + 1 < v.size()) out.push_back(v[i + 1]);
      i += 2;
    } else if (IsSpace(c)) {
      break;  // an unquoted blank ends the value; the rest would be a comment or garbage
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return out;
}

struct PartName {
  uint32_t part;
  std::string_view name;
};

// ARM Ltd (implementer 0x41) part numbers, from the Arm technical reference manuals.
constexpr PartName kArmParts[] = {
    {0xb76, "ARM1176"},     {0xc05, "Cortex-A5"},   {0xc07, "Cortex-A7"},  {0xc08, "Cortex-A8"},
    {0xc09, "Cortex-A9"},   {0xc0e, "Cortex-A17"},  {0xc0f, "Cortex-A15"}, {0xd03, "Cortex-A53"},
    {0xd04, "Cortex-A35"},  {0xd05, "Cortex-A55"},  {0xd07, "Cortex-A57"}, {0xd08, "Cortex-A72"},
    {0xd09, "Cortex-A73"},  {0xd0a, "Cortex-A75"},  {0xd0b, "Cortex-A76"}, {0xd0c, "Neoverse-N1"},
    {0xd0d, "Cortex-A77"},  {0xd40, "Neoverse-V1"}, {0xd41, "Cortex-A78"}, {0xd44, "Cortex-X1"},
    {0xd46, "Cortex-A510"}, {0xd47, "Cortex-A710"}, {0xd48, "Cortex-X2"},  {0xd49, "Neoverse-N2"},
};

struct ImplementerName {
  uint32_t id;
  std::string_view name;
};

constexpr ImplementerName kImplementers[] = {
    {0x41, "ARM"},    {0x42, "Broadcom"}, {0x43, "Cavium"},   {0x46, "Fujitsu"}, {0x48, "HiSilicon"},
    {0x4e, "NVIDIA"}, {0x50, "APM"},      {0x51, "Qualcomm"}, {0x53, "Samsung"}, {0x56, "Marvell"},
    {0x61, "Apple"},  {0x69, "Intel"},    {0xc0, "Ampere"},
};

std::optional<uint32_t> ParseHex(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string SanitizeText(std::string_view in, size_t max_bytes) {
  std::string out;
  out.reserve(in.size() < max_bytes ? in.size() : max_bytes);
  size_t i = 0;
  while (i < in.size()) {
    const size_t len = Utf8SequenceLength(in.substr(i));
    if (len == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    const auto b0 = static_cast<unsigned char>(in[i]);
    const bool c0_control = len == 1 && (b0 < 0x20 || b0 == 0x7F);
    const bool c1_control = len == 2 && b0 == 0xC2 && static_cast<unsigned char>(in[i + 1]) < 0xA0;  // U+0080..9F
    if (c0_control || c1_control) {
      out.push_back(' ');
    } else {
      out.append(in.substr(i, len));
    }
    i += len;
  }
  // Trim spaces (every control character is a space by now).
  std::string_view v(out);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.size() > max_bytes) {
    // Cut before the character that would cross the limit (v is valid UTF-8 here, so
    // stepping back over continuation bytes lands on that character's first byte).
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;
    v = v.substr(0, cut);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  }
  return std::string(v);
}

std::map<std::string, std::string> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string> out;
  ForEachLine(text, [&](std::string_view line) {
    line = Trim(line);
    if (line.empty() || line.front() == '#') return;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return;
    const std::string_view key = line.substr(0, eq);
    if (!IsKeyStart(key.front())) return;
    for (char c : key) {
      if (!IsKeyChar(c)) return;
    }
    if (key.size() > 64) return;
    out[std::string(key)] = SanitizeText(UnquoteShellValue(line.substr(eq + 1)));
  });
  return out;
}

CpuInfo ParseCpuInfo(std::string_view text) {
  CpuInfo info;
  std::string model_name, legacy_processor, cpu_model, cpu, uarch;
  std::optional<uint32_t> implementer, part;
  ForEachLine(text, [&](std::string_view line) {
    std::string_view key, value;
    if (!SplitKeyValue(line, ':', &key, &value)) return;
    auto first = [&](std::string* slot) {
      if (slot->empty()) *slot = SanitizeText(value);
    };
    if (key == "processor") {
      if (AllDigits(value)) ++info.count;
    } else if (key == "model name") {
      first(&model_name);
    } else if (key == "Processor") {
      first(&legacy_processor);
    } else if (key == "cpu model") {
      first(&cpu_model);
    } else if (key == "cpu") {
      first(&cpu);
    } else if (key == "uarch") {
      first(&uarch);
    } else if (key == "vendor_id") {
      first(&info.vendor);
    } else if (key == "Hardware" || key == "system type") {
      first(&info.hardware);
    } else if (key == "Model") {
      first(&info.board_model);
    } else if (key == "CPU implementer") {
      if (!implementer) implementer = ParseHex(value);
    } else if (key == "CPU part") {
      if (!part) part = ParseHex(value);
    }
  });
  for (std::string* candidate : {&model_name, &legacy_processor, &cpu_model, &cpu, &uarch}) {
    if (!candidate->empty()) {
      info.model = std::move(*candidate);
      break;
    }
  }
  if (implementer) {
    if (info.vendor.empty()) {
      for (const auto& i : kImplementers) {
        if (i.id == *implementer) info.vendor = std::string(i.name);
      }
    }
    if (info.model.empty() && *implementer == 0x41 && part) {
      for (const auto& p : kArmParts) {
        if (p.part == *part) info.model = std::string(p.name);
      }
    }
  }
  return info;
}

std::optional<int> ParseCpuListCount(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  constexpr uint64_t kMaxCpu = 1 << 20;
  uint64_t total = 0;
  while (true) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t dash = item.find('-');
    uint64_t lo = 0, hi = 0;
    if (dash == std::string_view::npos) {
      if (!ParseUnsigned(item, &lo)) return std::nullopt;
      hi = lo;
    } else if (!ParseUnsigned(item.substr(0, dash), &lo) || !ParseUnsigned(item.substr(dash + 1), &hi)) {
      return std::nullopt;
    }
    if (hi < lo || hi >= kMaxCpu) return std::nullopt;
    total += hi - lo + 1;
    if (total > kMaxCpu) return std::nullopt;
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return static_cast<int>(total);
}

std::optional<uint64_t> ParseMemTotalBytes(std::string_view text) {
  std::optional<uint64_t> result;
  ForEachLine(text, [&](std::string_view line) {
    if (result) return;
    std::string_view key, value;
    if (!SplitKeyValue(line, ':', &key, &value) || key != "MemTotal") return;
    uint64_t multiplier = 1;
    const size_t space = value.find_first_of(" \t");
    std::string_view number = value.substr(0, space);
    if (space != std::string_view::npos) {
      const std::string_view unit = Trim(value.substr(space));
      if (unit == "kB") {
        multiplier = 1024;
      } else {
        return;  // the kernel writes only kB; anything else is not meminfo
      }
    }
    uint64_t n = 0;
    if (!ParseUnsigned(number, &n)) return;
    if (n > std::numeric_limits<uint64_t>::max() / multiplier) return;
    result = n * multiplier;
  });
  return result;
}

std::optional<int64_t> ParseBootTime(std::string_view text) {
  std::optional<int64_t> result;
  ForEachLine(text, [&](std::string_view line) {
    if (result || line.substr(0, 6) != "btime ") return;
    uint64_t n = 0;
    if (!ParseUnsigned(Trim(line.substr(6)), &n)) return;
    if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / 1000)) return;
    result = static_cast<int64_t>(n);
  });
  return result;
}

std::vector<std::string> ParseNulList(std::string_view data, size_t max_items) {
  std::vector<std::string> out;
  while (!data.empty() && out.size() < max_items) {
    const size_t nul = data.find('\0');
    std::string item = SanitizeText(data.substr(0, nul));
    if (!item.empty()) out.push_back(std::move(item));
    if (nul == std::string_view::npos) break;
    data.remove_prefix(nul + 1);
  }
  return out;
}

std::string NormalizeMac(std::string_view text) {
  text = Trim(text);
  // 1 to 32 hex pairs separated by ':' (Ethernet has 6, InfiniBand 20).
  if (text.size() < 2 || text.size() > 32 * 3 - 1 || (text.size() + 1) % 3 != 0) return "";
  std::string out;
  out.reserve(text.size());
  bool nonzero = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i % 3 == 2) {
      if (c != ':') return "";
      out.push_back(':');
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
    if (c != '0') nonzero = true;
    out.push_back(c);
  }
  return nonzero ? out : "";
}

std::optional<int64_t> ParseDecimal(std::string_view text) {
  text = Trim(text);
  int64_t v = 0;
  if (text.empty()) return std::nullopt;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string CompatibleVendor(std::string_view compatible) {
  const size_t comma = compatible.find(',');
  if (comma == std::string_view::npos || comma == 0) return "";
  return SanitizeText(compatible.substr(0, comma));
}

}  // namespace vigil::system_info
