#include "agent/collectors/firewall/ruleset.h"

#include <sha2.h>  // libmd

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace vigil::firewall {
namespace {

struct DepthExceeded {};

void AddProblem(Backend& b, std::string what) {
  ++b.problem_count;
  if (b.problems.size() < kMaxProblems) b.problems.push_back(std::move(what));
}

// `s` with bytes outside printable ASCII shown as '?', cut to `max` bytes (for messages).
std::string Printable(std::string_view s, size_t max = 60) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > max) out += "...";
  return out;
}

bool IsName(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Drops what the kernel assigns or traffic changes (see the header), recursively.
void Normalize(Json& v) {
  if (v.is_array()) {
    for (Json& x : v) Normalize(x);
    return;
  }
  if (!v.is_object()) return;
  v.erase("handle");
  v.erase("expires");
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    if ((key == "counter" || key == "last") && it->is_object()) {
      *it = nullptr;  // an anonymous counter (or `last`) statement: only its presence matters
    } else if (key == "quota" && it->is_object()) {
      it->erase("used");
      it->erase("used_unit");
      Normalize(*it);
    } else {
      Normalize(*it);
    }
  }
}

bool HasFlag(const Json& body, std::string_view flag) {
  auto it = body.find("flags");
  if (it == body.end()) return false;
  if (it->is_string()) return it->get_ref<const std::string&>() == flag;
  if (!it->is_array()) return false;
  return std::any_of(it->begin(), it->end(),
                     [&](const Json& f) { return f.is_string() && f.get_ref<const std::string&>() == flag; });
}

const std::string* StringField(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

struct NftChain {
  Json definition = Json::object();
  Json rules = Json::array();
  Chain summary;
};

struct NftTable {
  Json attributes = Json::object();
  Json objects = Json::object();
  size_t sets = 0;
  std::map<std::string, NftChain> chains;
};

using TableKey = std::pair<std::string, std::string>;  // family, name

void HandleNftObject(Backend& b, std::map<TableKey, NftTable>& tables, size_t index, const std::string& kind,
                     Json body) {
  const std::string where = "nftables[" + std::to_string(index) + "] (" + Printable(kind, 24) + ")";
  if (!body.is_object()) return AddProblem(b, where + ": not an object");
  const std::string* family = StringField(body, "family");
  if (family == nullptr) return AddProblem(b, where + ": no 'family'");
  const std::string* table_name = StringField(body, kind == "table" ? "name" : "table");
  if (table_name == nullptr) return AddProblem(b, where + (kind == "table" ? ": no 'name'" : ": no 'table'"));
  const TableKey key{*family, *table_name};
  if (kind == "rule" && tables.count(key) == 0)
    return AddProblem(b, where + ": rule of unknown table '" + Printable(*table_name) + "'");
  NftTable& table = tables[key];  // chains and objects of an unlisted table create it

  if (kind == "table") {
    body.erase("family");
    body.erase("name");
    Normalize(body);
    table.attributes = std::move(body);
    return;
  }
  if (kind == "rule") {
    const std::string* chain = StringField(body, "chain");
    if (chain == nullptr) return AddProblem(b, where + ": no 'chain'");
    auto it = table.chains.find(*chain);
    if (it == table.chains.end()) return AddProblem(b, where + ": rule of unknown chain '" + Printable(*chain) + "'");
    for (const char* k : {"family", "table", "chain"}) body.erase(k);
    Normalize(body);
    it->second.rules.push_back(std::move(body));
    return;
  }
  const std::string* name = StringField(body, "name");
  if (kind == "chain") {
    if (name == nullptr) return AddProblem(b, where + ": no 'name'");
    NftChain& chain = table.chains[*name];
    Chain& s = chain.summary;
    s.family = *family;
    s.table = *table_name;
    s.name = *name;
    if (const std::string* v = StringField(body, "type")) s.type = *v;
    if (const std::string* v = StringField(body, "hook")) s.hook = *v;
    if (const std::string* v = StringField(body, "policy")) {
      if (*v == "accept" || *v == "drop")
        s.policy = *v;
      else
        AddProblem(b, where + ": unknown policy '" + Printable(*v) + "'");
    }
    if (auto p = body.find("prio"); p != body.end() && p->is_number_integer()) s.priority = p->get<int64_t>();
    for (const char* k : {"family", "table", "name"}) body.erase(k);
    Normalize(body);
    chain.definition = std::move(body);
    return;
  }
  // Sets, maps and stateful objects (counter, quota, limit, ct helper, flowtable, ...).
  if (kind == "set" || kind == "map") {
    ++table.sets;
    // Contents filled from the packet path or expiring: not part of the ruleset's identity.
    if (HasFlag(body, "dynamic") || HasFlag(body, "timeout") || body.contains("timeout")) body.erase("elem");
  } else if (kind == "counter") {
    body.erase("packets");
    body.erase("bytes");
  } else if (kind == "quota") {
    body.erase("used");
    body.erase("used_unit");
  }
  std::string object_key = kind + " " + (name != nullptr ? *name : "#" + std::to_string(index));
  for (const char* k : {"family", "table"}) body.erase(k);
  Normalize(body);
  table.objects[object_key] = std::move(body);
}

bool ChainOrder(const Chain& a, const Chain& b) {
  return std::tie(a.family, a.table, a.name) < std::tie(b.family, b.table, b.name);
}

bool TableOrder(const Table& a, const Table& b) { return std::tie(a.family, a.name) < std::tie(b.family, b.name); }

std::string HookOfBuiltin(std::string_view chain) {
  if (chain == "PREROUTING") return "prerouting";
  if (chain == "INPUT") return "input";
  if (chain == "FORWARD") return "forward";
  if (chain == "OUTPUT") return "output";
  if (chain == "POSTROUTING") return "postrouting";
  return "";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

size_t Backend::rule_count() const {
  size_t n = 0;
  for (const Chain& c : chains) n += c.rules;
  return n;
}

std::string Sha256Hex(std::string_view data) {
  SHA2_CTX ctx;
  SHA256Init(&ctx);
  SHA256Update(&ctx, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  uint8_t md[SHA256_DIGEST_LENGTH];
  SHA256Final(md, &ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (uint8_t byte : md) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

Result<Backend> ParseNftJson(std::string_view json_text) {
  Json doc;
  try {
    Json::parser_callback_t limit = [](int depth, Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth) throw DepthExceeded{};
      return true;
    };
    doc = Json::parse(json_text.begin(), json_text.end(), limit);
  } catch (const DepthExceeded&) {
    return Status::InvalidArgument("nft JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const Json::exception& e) {
    return Status::InvalidArgument(std::string("nft JSON: ") + e.what());
  }
  if (!doc.is_object()) return Status::InvalidArgument("nft JSON: expected an object with an 'nftables' array");
  auto list = doc.find("nftables");
  if (list == doc.end() || !list->is_array())
    return Status::InvalidArgument("nft JSON: expected an object with an 'nftables' array");

  Backend b;
  b.name = kNftables;
  std::map<TableKey, NftTable> tables;
  size_t index = 0;
  for (Json& item : *list) {
    if (!item.is_object() || item.size() != 1) {
      AddProblem(b, "nftables[" + std::to_string(index) + "]: not an object with one key");
    } else if (item.begin().key() != "metainfo") {
      HandleNftObject(b, tables, index, item.begin().key(), std::move(item.begin().value()));
    }
    ++index;
  }

  Json all = Json::object();
  for (auto& [key, t] : tables) {
    Json canonical = {{"attributes", std::move(t.attributes)}, {"objects", std::move(t.objects)}};
    b.tables.push_back(Table{key.first, key.second, t.sets, Sha256Hex(canonical.dump())});
    Json chains = Json::object();
    for (auto& [name, c] : t.chains) {
      Json chain = {{"definition", std::move(c.definition)}, {"rules", std::move(c.rules)}};
      c.summary.rules = chain["rules"].size();
      c.summary.digest = Sha256Hex(chain.dump());
      b.chains.push_back(std::move(c.summary));
      chains[name] = std::move(chain);
    }
    canonical["chains"] = std::move(chains);
    all[key.first + " " + key.second] = std::move(canonical);
  }
  b.digest = Sha256Hex(all.dump());
  std::sort(b.tables.begin(), b.tables.end(), TableOrder);
  std::sort(b.chains.begin(), b.chains.end(), ChainOrder);
  return b;
}

Result<Backend> ParseIptablesSave(std::string_view text, std::string_view family) {
  if (family != "ip" && family != "ip6")
    return Status::InvalidArgument("iptables-save: family must be ip or ip6, not '" + Printable(family) + "'");
  Backend b;
  b.name = kIptablesLegacy;
  struct LegacyChain {
    Chain summary;
    std::string canonical;  // policy and rules, one per line
  };
  struct LegacyTable {
    std::map<std::string, LegacyChain> chains;
  };
  std::map<std::string, LegacyTable> tables;
  std::string current;  // table being read, "" outside one
  size_t number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    const std::string at = "line " + std::to_string(number) + ": ";
    if (line[0] == '*') {
      const std::string_view name = line.substr(1);
      if (!IsName(name)) {
        AddProblem(b, at + "bad table name '" + Printable(name) + "'");
        current.clear();
        continue;
      }
      if (!current.empty()) AddProblem(b, at + "table '" + current + "' has no COMMIT before this one");
      current = name;
      tables[current];
      continue;
    }
    if (current.empty()) {
      AddProblem(b, at + "outside a table: '" + Printable(line) + "'");
      continue;
    }
    LegacyTable& table = tables[current];
    if (line == "COMMIT") {
      current.clear();
      continue;
    }
    if (line[0] == ':') {
      // :NAME POLICY [packets:bytes]
      std::string_view rest = line.substr(1);
      const size_t sp = rest.find(' ');
      const std::string_view name = rest.substr(0, sp);
      std::string_view policy = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      policy = policy.substr(0, policy.find(' '));
      if (!IsName(name) || !IsName(policy)) {
        AddProblem(b, at + "expected ':CHAIN POLICY [packets:bytes]', got '" + Printable(line) + "'");
        continue;
      }
      LegacyChain& chain = table.chains[std::string(name)];
      chain.summary.family = std::string(family);
      chain.summary.table = current;
      chain.summary.name = std::string(name);
      if (policy != "-") {
        chain.summary.policy = Lower(policy);
        chain.summary.hook = HookOfBuiltin(name);
        if (chain.summary.policy != "accept" && chain.summary.policy != "drop") {
          AddProblem(b, at + "unknown policy '" + Printable(policy) + "' of chain '" + std::string(name) + "'");
          chain.summary.policy.clear();
        }
      }
      chain.canonical = std::string(policy) + "\n";
      continue;
    }
    if (line[0] == '[') {  // [packets:bytes] before a rule (iptables-save -c)
      const size_t close = line.find("] ");
      if (close == std::string_view::npos) {
        AddProblem(b, at + "unterminated counters in '" + Printable(line) + "'");
        continue;
      }
      line = line.substr(close + 2);
    }
    if (line.starts_with("-A ")) {
      std::string_view rest = line.substr(3);
      const size_t sp = rest.find(' ');
      const std::string_view name = rest.substr(0, sp);
      const std::string_view rule = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      auto it = table.chains.find(std::string(name));
      if (it == table.chains.end()) {
        AddProblem(b, at + "-A for undeclared chain '" + Printable(name) + "'");
        continue;
      }
      ++it->second.summary.rules;
      it->second.canonical.append(rule).push_back('\n');
      continue;
    }
    AddProblem(b, at + "unexpected '" + Printable(line) + "'");
  }
  if (!current.empty()) AddProblem(b, "table '" + current + "' has no COMMIT (output cut short?)");

  std::string all;
  for (auto& [name, table] : tables) {
    b.tables.push_back(Table{std::string(family), name, 0, Sha256Hex(std::string(family) + " " + name)});
    all += "*" + name + "\n";
    for (auto& [chain_name, chain] : table.chains) {
      chain.summary.digest = Sha256Hex(chain_name + "\n" + chain.canonical);
      all += ":" + chain_name + " " + chain.summary.digest + "\n";
      b.chains.push_back(std::move(chain.summary));
    }
  }
  b.digest = Sha256Hex(std::string(family) + "\n" + all);
  return b;
}

Backend MergeBackends(std::string name, const std::vector<Backend>& parts) {
  Backend out;
  out.name = std::move(name);
  std::string digests;
  for (const Backend& p : parts) {
    out.tables.insert(out.tables.end(), p.tables.begin(), p.tables.end());
    out.chains.insert(out.chains.end(), p.chains.begin(), p.chains.end());
    for (const std::string& problem : p.problems) AddProblem(out, problem);
    out.problem_count += p.problem_count - p.problems.size();
    digests += p.digest + "\n";
  }
  std::sort(out.tables.begin(), out.tables.end(), TableOrder);
  std::sort(out.chains.begin(), out.chains.end(), ChainOrder);
  out.digest = Sha256Hex(digests);
  return out;
}

}  // namespace vigil::firewall
