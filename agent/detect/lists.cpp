#include "agent/detect/lists.h"

#include <algorithm>
#include <cctype>

namespace vigil::detect {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

std::optional<std::array<uint8_t, 4>> ParseV4(std::string_view s) {
  std::array<uint8_t, 4> out{};
  size_t part = 0, i = 0;
  while (part < 4) {
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    int v = 0, digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i] - '0');
      if (++digits > 3 || v > 255) return std::nullopt;
      ++i;
    }
    out[part++] = static_cast<uint8_t>(v);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != s.size()) return std::nullopt;
  return out;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::array<uint8_t, 16>> ParseV6(std::string_view s) {
  if (auto pct = s.find('%'); pct != std::string_view::npos) s = s.substr(0, pct);
  if (s.empty()) return std::nullopt;
  std::array<uint16_t, 8> groups{};
  int n = 0, gap = -1;
  size_t i = 0;
  if (s.starts_with("::")) {
    gap = 0;
    i = 2;
    if (i == s.size()) return std::array<uint8_t, 16>{};
  } else if (s[0] == ':') {
    return std::nullopt;
  }
  std::array<uint8_t, 4> tail{};
  bool have_tail = false;
  while (i < s.size()) {
    if (n >= 8) return std::nullopt;
    size_t j = i;
    while (j < s.size() && s[j] != ':') ++j;
    std::string_view g = s.substr(i, j - i);
    if (g.find('.') != std::string_view::npos) {
      if (j != s.size() || n > 6) return std::nullopt;
      auto v4 = ParseV4(g);
      if (!v4) return std::nullopt;
      tail = *v4;
      have_tail = true;
      i = j;
      break;
    }
    if (g.empty() || g.size() > 4) return std::nullopt;
    uint16_t v = 0;
    for (char c : g) {
      int h = HexVal(c);
      if (h < 0) return std::nullopt;
      v = static_cast<uint16_t>(v * 16 + h);
    }
    groups[static_cast<size_t>(n++)] = v;
    if (j == s.size()) {
      i = j;
      break;
    }
    // j is ':'
    if (j + 1 < s.size() && s[j + 1] == ':') {
      if (gap >= 0) return std::nullopt;
      gap = n;
      i = j + 2;
      if (i == s.size()) break;
    } else {
      i = j + 1;
      if (i == s.size()) return std::nullopt;  // trailing single ':'
    }
  }
  int total = n + (have_tail ? 2 : 0);
  if (gap < 0 && total != 8) return std::nullopt;
  if (gap >= 0 && total >= 8) return std::nullopt;
  if (have_tail) {
    groups[static_cast<size_t>(n++)] = static_cast<uint16_t>(tail[0] << 8 | tail[1]);
    groups[static_cast<size_t>(n++)] = static_cast<uint16_t>(tail[2] << 8 | tail[3]);
  }
  std::array<uint16_t, 8> full{};
  if (gap >= 0) {
    int after = n - gap;
    for (int k = 0; k < gap; ++k) full[static_cast<size_t>(k)] = groups[static_cast<size_t>(k)];
    for (int k = 0; k < after; ++k) full[static_cast<size_t>(8 - after + k)] = groups[static_cast<size_t>(gap + k)];
  } else {
    full = groups;
  }
  std::array<uint8_t, 16> out{};
  for (size_t k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<uint8_t>(full[k] >> 8);
    out[2 * k + 1] = static_cast<uint8_t>(full[k] & 0xff);
  }
  return out;
}

bool Bit(const IpAddr& a, int i) { return (a.bytes[static_cast<size_t>(i / 8)] >> (7 - i % 8)) & 1; }

// Looks like an attempt at an address or a network: digits, dots, colons, hex, and '/' with a
// prefix length after it (a path such as /usr/bin/ls is a string).
bool LooksLikeNetwork(std::string_view s) {
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view len = s.substr(slash + 1);
    return slash > 0 && !len.empty() &&
           std::all_of(len.begin(), len.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  }
  bool digit_dot = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
  });
  if (digit_dot && std::count(s.begin(), s.end(), '.') >= 3) return true;
  return s.find("::") != std::string_view::npos ||
         (std::count(s.begin(), s.end(), ':') >= 2 &&
          std::all_of(s.begin(), s.end(), [](char c) { return HexVal(c) >= 0 || c == ':' || c == '.'; }));
}

bool LooksLikeDomain(std::string_view s) {
  if (s.find('.') == std::string_view::npos || s.front() == '.' || s.back() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

}  // namespace

std::optional<IpAddr> ParseIp(std::string_view text) {
  IpAddr a;
  if (auto v4 = ParseV4(text)) {
    std::copy(v4->begin(), v4->end(), a.bytes.begin());
    return a;
  }
  if (text.find(':') == std::string_view::npos) return std::nullopt;
  auto v6 = ParseV6(text);
  if (!v6) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, v6->begin())) {
    std::copy(v6->begin() + 12, v6->end(), a.bytes.begin());
    return a;
  }
  a.v6 = true;
  a.bytes = *v6;
  return a;
}

Result<std::pair<IpAddr, int>> ParseCidr(std::string_view text) {
  size_t slash = text.find('/');
  auto addr = ParseIp(text.substr(0, slash));
  if (!addr) return Status::InvalidArgument("'" + std::string(text) + "' is not an IP address or network");
  int len = addr->bits();
  if (slash != std::string_view::npos) {
    std::string_view l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3 ||
        !std::all_of(l.begin(), l.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return Status::InvalidArgument("'" + std::string(text) + "': bad prefix length");
    len = std::stoi(std::string(l));
    // An IPv4-mapped IPv6 network: its length counts the 96 mapped bits.
    if (!addr->v6 && text.substr(0, slash).find(':') != std::string_view::npos) len -= 96;
    if (len < 0 || len > addr->bits())
      return Status::InvalidArgument("'" + std::string(text) + "': prefix length out of range");
  }
  return std::make_pair(*addr, len);
}

void PrefixSet::Add(const IpAddr& net, int len) {
  std::vector<Node>& t = net.v6 ? v6_ : v4_;
  int32_t n = 0;
  for (int i = 0; i < len; ++i) {
    if (t[static_cast<size_t>(n)].terminal) return;  // a wider network already covers it
    int b = Bit(net, i);
    if (t[static_cast<size_t>(n)].child[b] < 0) {
      t[static_cast<size_t>(n)].child[b] = static_cast<int32_t>(t.size());
      t.push_back(Node{});
    }
    n = t[static_cast<size_t>(n)].child[b];
  }
  t[static_cast<size_t>(n)].terminal = true;
  ++count_;
}

bool PrefixSet::Contains(const IpAddr& addr) const {
  const std::vector<Node>& t = addr.v6 ? v6_ : v4_;
  int32_t n = 0;
  for (int i = 0; i <= addr.bits(); ++i) {
    const Node& node = t[static_cast<size_t>(n)];
    if (node.terminal) return true;
    if (i == addr.bits()) break;
    n = node.child[Bit(addr, i)];
    if (n < 0) return false;
  }
  return false;
}

bool NamedList::Contains(std::string_view v) const {
  if (networks.size() > 0) {
    if (auto ip = ParseIp(v)) {
      if (networks.Contains(*ip)) return true;
    }
  }
  if (strings.empty() && domains.empty()) return false;
  // Heterogeneous lookup is not available for unordered_set<string> in C++20's libstdc++ 12
  // without a transparent hash; a key buffer is built (only when the list is non-empty).
  thread_local std::string key;
  key.assign(v);
  if (strings.count(key)) return true;
  if (!domains.empty()) {
    size_t dot = v.find('.');
    while (dot != std::string_view::npos) {
      key.assign(v.substr(dot + 1));
      if (domains.count(key)) return true;
      dot = v.find('.', dot + 1);
    }
  }
  return false;
}

std::shared_ptr<const NamedList> ParseList(std::string_view name, std::string_view text, std::string_view file_name,
                                           std::vector<ListIssue>* issues) {
  auto list = std::make_shared<NamedList>();
  list->name = std::string(name);
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (size_t c = line.find(" #"); c != std::string_view::npos) line = line.substr(0, c);
    if (size_t c = line.find("\t#"); c != std::string_view::npos) line = line.substr(0, c);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](std::string msg) {
      if (issues) issues->push_back({std::string(file_name), line_no, std::move(msg)});
    };
    if (std::any_of(line.begin(), line.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
      bad("white space inside the entry '" + std::string(line) + "'");
      continue;
    }
    if (std::any_of(line.begin(), line.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      bad("control character in the entry");
      continue;
    }
    if (LooksLikeNetwork(line)) {
      auto net = ParseCidr(line);
      if (!net.ok()) {
        bad(std::string(net.status().message()));
        continue;
      }
      list->networks.Add(net->first, net->second);
      ++list->entries;
      continue;
    }
    std::string lower = ToLower(line);
    if (lower.starts_with("*.")) lower.erase(0, 2);
    if (LooksLikeDomain(lower)) list->domains.insert(lower);
    list->strings.insert(std::move(lower));
    ++list->entries;
  }
  return list;
}

std::shared_ptr<ListSlot> Lists::Slot(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = lists_.find(name);
  if (it != lists_.end()) return it->second;
  auto slot = std::make_shared<ListSlot>();
  slot->name = std::string(name);
  lists_.emplace(std::string(name), slot);
  return slot;
}

void Lists::Set(const std::string& name, std::shared_ptr<const NamedList> list) {
  Slot(name)->current.store(std::move(list));
}

std::vector<ListIssue> Lists::Load(const std::string& name, std::string_view text, std::string_view file_name) {
  std::vector<ListIssue> issues;
  Set(name, ParseList(name, text, file_name, &issues));
  return issues;
}

std::shared_ptr<const NamedList> Lists::Get(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = lists_.find(name);
  return it == lists_.end() ? nullptr : it->second->current.load();
}

std::vector<std::string> Lists::Names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [n, slot] : lists_)
    if (slot->current.load()) out.push_back(n);
  return out;
}

}  // namespace vigil::detect
