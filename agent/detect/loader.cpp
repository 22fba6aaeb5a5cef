// RuleSet::Load: YAML documents -> rule metadata -> instances compiled per (type, action) ->
// groups with their prefilter. Every yaml-cpp exception is caught here and becomes a LoadIssue
// with the file and line.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml-cpp/yaml.h>

#include "agent/detect/internal.h"
#include "schema/schema.h"

namespace vigil::detect {

using internal::Correlation;
using internal::FieldTest;
using internal::Instance;
using internal::Matcher;
using internal::RuleMeta;
using internal::Selection;
using internal::SlotDef;

std::string LoadIssue::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!rule.empty()) out += "rule '" + rule + "': ";
  out += message;
  return out;
}

namespace internal {

Regex::~Regex() {
  if (code) pcre2_code_free(static_cast<pcre2_code*>(code));
}

std::string_view CorrelationTypeName(Correlation::Type t) {
  switch (t) {
    case Correlation::Type::kEventCount:
      return "event_count";
    case Correlation::Type::kValueCount:
      return "value_count";
    case Correlation::Type::kTemporal:
      return "temporal";
    case Correlation::Type::kTemporalOrdered:
      return "temporal_ordered";
  }
  return "";
}

}  // namespace internal

namespace {

// An error at a YAML node: the loader unwinds with it to the document's handler.
struct RuleError {
  int line;  // 1-based within the file
  std::string message;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = internal::LowerAscii(c);
  return out;
}

// A (type, action) an event can have, with its schema entries.
struct Target {
  const schema::TypeSpec* type;
  std::string action;  // "" for types without actions
  std::string Name() const { return action.empty() ? type->name : type->name + "/" + action; }
};

// A document's text with the line it starts on.
struct Doc {
  std::string_view text;
  int first_line;  // 1-based line of the document's first line in the file
};

std::vector<Doc> SplitDocuments(std::string_view text) {
  std::vector<Doc> docs;
  size_t start = 0, pos = 0;
  int line = 1, start_line = 1;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view l = text.substr(pos, end - pos);
    if (l.starts_with("---") && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r')) {
      docs.push_back({text.substr(start, pos - start), start_line});
      start = pos;  // the marker line stays with its document (yaml-cpp accepts it)
      start_line = line;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
    ++line;
  }
  docs.push_back({text.substr(start), start_line});
  return docs;
}

class Loader {
 public:
  Loader(const LoadOptions& options, RuleSet::LoadResult* result) : result_(result) {
    schema_ = options.schema;
    if (!schema_) {
      const auto& builtin = schema::BuiltinSchema();
      if (builtin.ok()) schema_ = &*builtin;
    }
    impl_ = std::make_unique<RuleSet::Impl>();
    impl_->lists = options.lists ? options.lists : std::make_shared<Lists>();
  }

  void AddSource(const RuleSource& src) {
    for (const Doc& d : SplitDocuments(src.text)) {
      current_file_ = src.name;
      line_offset_ = d.first_line - 1;
      current_rule_.clear();
      try {
        YAML::Node node = YAML::Load(std::string(d.text));
        if (!node || node.IsNull()) continue;
        doc_line_ = Line(node);
        if (!node.IsMap()) throw RuleError{Line(node), "a rule document must be a map"};
        if (node["title"] && node["title"].IsScalar()) current_rule_ = node["title"].Scalar();
        if (node["correlation"]) {
          pending_corrs_.push_back({src.name, node, line_offset_});
        } else {
          LoadRule(node);
        }
      } catch (const RuleError& e) {
        Fail(e.line, e.message);
      } catch (const YAML::Exception& e) {
        Fail(e.mark.is_null() ? d.first_line : e.mark.line + 1 + line_offset_, "YAML: " + e.msg);
      } catch (const std::exception& e) {
        Fail(d.first_line, e.what());
      }
    }
  }

  std::unique_ptr<RuleSet::Impl> Finish() {
    for (auto& pc : pending_corrs_) {
      current_file_ = pc.file;
      line_offset_ = pc.line_offset;
      current_rule_ = pc.node["title"] && pc.node["title"].IsScalar() ? pc.node["title"].Scalar() : "";
      try {
        LoadCorrelation(pc.node);
      } catch (const RuleError& e) {
        Fail(e.line, e.message);
      } catch (const YAML::Exception& e) {
        Fail(e.mark.is_null() ? line_offset_ + 1 : e.mark.line + 1 + line_offset_, "YAML: " + e.msg);
      }
    }
    // Base rules used only by correlations without `generate: true` raise no alert of their own.
    for (const auto& [meta, gen] : corr_generate_) impl_->metas[static_cast<size_t>(meta)].generates = gen;
    BuildGroups();
    return std::move(impl_);
  }

 private:
  struct PendingCorr {
    std::string file;
    YAML::Node node;
    int line_offset;
  };
  struct PendingInstance {
    std::string target;  // group key "type\x1f" "action"
    Instance inst;
  };

  int Line(const YAML::Node& n) const {
    return n.Mark().is_null() ? line_offset_ + 1 : n.Mark().line + 1 + line_offset_;
  }

  void Fail(int line, std::string message) {
    result_->errors.push_back({current_file_, line, current_rule_, std::move(message)});
    ++result_->failed;
  }
  void Warn(int line, std::string message) {
    // A rule compiled for several event types would say the same thing once per type.
    for (const auto& w : result_->warnings)
      if (w.file == current_file_ && w.line == line && w.message == message) return;
    result_->warnings.push_back({current_file_, line, current_rule_, std::move(message)});
  }

  std::string Str(const YAML::Node& parent, const char* key, bool required) {
    YAML::Node n = parent[key];
    if (!n || n.IsNull()) {
      if (required) throw RuleError{Line(parent), std::string("missing '") + key + "'"};
      return "";
    }
    if (!n.IsScalar()) throw RuleError{Line(n), std::string("'") + key + "' must be a string"};
    return n.Scalar();
  }

  // Common metadata of rules and correlations.
  RuleMeta LoadMeta(const YAML::Node& node) {
    RuleMeta m;
    m.title = Str(node, "title", true);
    m.id = Str(node, "id", false);
    m.name = Str(node, "name", false);
    m.description = Str(node, "description", false);
    m.file = current_file_;
    m.line = doc_line_;
    std::string level = Str(node, "level", false);
    if (level.empty()) level = "medium";
    static const std::set<std::string> kLevels = {"informational", "low", "medium", "high", "critical"};
    if (!kLevels.count(level))
      throw RuleError{Line(node["level"]),
                      "level '" + level + "': expected informational, low, medium, high or critical"};
    m.level = level;
    if (YAML::Node tags = node["tags"]) {
      if (!tags.IsSequence()) throw RuleError{Line(tags), "'tags' must be a list"};
      for (const auto& t : tags) {
        if (!t.IsScalar()) throw RuleError{Line(t), "a tag must be a string"};
        const std::string& s = t.Scalar();
        std::string low = Lower(s);
        if (low.starts_with("attack.t") && low.size() > 8 && std::isdigit(static_cast<unsigned char>(low[8]))) {
          std::string id = "T" + low.substr(8);
          for (char& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          m.attack.push_back(id);
        } else {
          m.tags.push_back(s);
        }
      }
    }
    for (const char* k : {"falsepositives", "fields", "references"}) {
      YAML::Node n = node[k];
      if (n && !n.IsNull() && !n.IsSequence() && !n.IsScalar())
        throw RuleError{Line(n), std::string("'") + k + "' must be a list"};
    }
    std::string key = !m.id.empty() ? m.id : !m.name.empty() ? m.name : m.title;
    if (by_key_.count(key)) throw RuleError{doc_line_, "duplicate rule id '" + key + "'"};
    return m;
  }

  int AddMeta(RuleMeta m) {
    int idx = static_cast<int>(impl_->metas.size());
    by_key_[!m.id.empty() ? m.id : !m.name.empty() ? m.name : m.title] = idx;
    if (!m.id.empty()) by_ref_[m.id] = idx;
    if (!m.name.empty()) by_ref_[m.name] = idx;
    impl_->metas.push_back(std::move(m));
    return idx;
  }

  // ---- log source -> targets ----

  std::vector<Target> Targets(const YAML::Node& node) {
    YAML::Node ls = node["logsource"];
    if (!ls) throw RuleError{doc_line_, "missing 'logsource'"};
    if (!ls.IsMap()) throw RuleError{Line(ls), "'logsource' must be a map"};
    std::string category = Lower(Str(ls, "category", false));
    std::string product = Lower(Str(ls, "product", false));
    std::string service = Lower(Str(ls, "service", false));
    if (category.empty() && product.empty() && service.empty())
      throw RuleError{Line(ls), "'logsource' needs a category, product or service"};
    if (!schema_) throw RuleError{Line(ls), "no event schema"};
    std::string text = "{category: " + category + ", product: " + product + ", service: " + service + "}";
    std::vector<Target> out;
    if (product == "vigil") {
      const schema::TypeSpec* t = schema_->FindType(category);
      if (!t) throw RuleError{Line(ls), "logsource " + text + ": '" + category + "' is not a Vigil event type"};
      if (t->actions.empty()) {
        if (!service.empty())
          throw RuleError{Line(ls), "logsource " + text + ": events of type '" + category + "' have no action"};
        out.push_back({t, ""});
      } else {
        for (const auto& a : t->actions)
          if (service.empty() || a.name == service) out.push_back({t, a.name});
        if (out.empty())
          throw RuleError{Line(ls), "logsource " + text + ": '" + service + "' is not an action of '" + category + "'"};
      }
      return out;
    }
    auto matches = [&](const schema::LogSource& s) {
      if (s.empty()) return false;
      return (category.empty() || Lower(s.category) == category) && (product.empty() || Lower(s.product) == product) &&
             (service.empty() || Lower(s.service) == service);
    };
    for (const auto& t : schema_->types()) {
      if (t.actions.empty()) {
        if (matches(t.sigma_logsource)) out.push_back({&t, ""});
        continue;
      }
      for (const auto& a : t.actions) {
        const schema::LogSource& s = a.sigma_logsource.empty() ? t.sigma_logsource : a.sigma_logsource;
        if (matches(s)) out.push_back({&t, a.name});
      }
    }
    if (out.empty())
      throw RuleError{Line(ls), "unsupported logsource " + text + ": no Vigil event type is this log source"};
    return out;
  }

  // ---- fields -> slots ----

  int SlotFor(SlotDef def) {
    auto it = impl_->slot_index.find(def.key);
    if (it != impl_->slot_index.end()) return it->second;
    int idx = static_cast<int>(impl_->slots.size());
    impl_->slot_index.emplace(def.key, idx);
    impl_->slots.push_back(std::move(def));
    return idx;
  }

  static bool FindSigma(const std::vector<schema::FieldSpec>& fields, std::string_view name, bool fold,
                        std::vector<std::string>* path) {
    for (const auto& f : fields) {
      bool eq = fold ? Lower(f.sigma) == Lower(name) : f.sigma == name;
      if (!f.sigma.empty() && eq) {
        path->push_back(f.name);
        return true;
      }
      const std::vector<schema::FieldSpec>* sub = nullptr;
      if (f.type == schema::FieldType::kObject) sub = &f.fields;
      if (f.type == schema::FieldType::kArray && f.item().type == schema::FieldType::kObject) sub = &f.item().fields;
      if (sub) {
        path->push_back(f.name);
        if (FindSigma(*sub, name, fold, path)) return true;
        path->pop_back();
      }
    }
    return false;
  }

  static bool FindPath(const std::vector<schema::FieldSpec>& fields, const std::vector<std::string>& parts, size_t i) {
    for (const auto& f : fields) {
      if (f.name != parts[i]) continue;
      const schema::FieldSpec* spec = &f;
      if (spec->type == schema::FieldType::kArray) spec = &spec->item();
      if (i + 1 == parts.size()) return true;
      if (spec->type == schema::FieldType::kObject) return FindPath(spec->fields, parts, i + 1);
      if (spec->type == schema::FieldType::kMap)
        return i + 2 == parts.size() || spec->item().type == schema::FieldType::kObject;
      return false;
    }
    return false;
  }

  // The slot of `field` in events of `t`; nullopt when the type has no such field.
  std::optional<int> Resolve(std::string_view field, const Target& t) {
    SlotDef def;
    if (field.empty()) {
      def.kind = SlotDef::Kind::kAllText;
      def.key = "@text";
      return SlotFor(std::move(def));
    }
    static const std::pair<const char*, SlotDef::Kind> kEnvelope[] = {{"type", SlotDef::Kind::kType},
                                                                      {"action", SlotDef::Kind::kAction},
                                                                      {"device", SlotDef::Kind::kDevice},
                                                                      {"priority", SlotDef::Kind::kPriority}};
    for (const auto& [n, k] : kEnvelope) {
      if (field == n) {
        def.kind = k;
        def.key = std::string("@") + n;
        return SlotFor(std::move(def));
      }
    }
    std::vector<std::string> path;
    if (!FindSigma(t.type->fields, field, false, &path) && !FindSigma(t.type->fields, field, true, &path)) {
      std::string_view f = field;
      if (f.starts_with("data.")) f.remove_prefix(5);
      std::vector<std::string> parts;
      size_t pos = 0;
      while (true) {
        size_t dot = f.find('.', pos);
        parts.emplace_back(f.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
        if (dot == std::string_view::npos) break;
        pos = dot + 1;
      }
      if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }) ||
          !FindPath(t.type->fields, parts, 0))
        return std::nullopt;
      path = std::move(parts);
    }
    def.kind = SlotDef::Kind::kData;
    def.key = "data";
    for (const auto& p : path) def.key += "." + p;
    def.path = std::move(path);
    return SlotFor(std::move(def));
  }

  // ---- values ----

  // Parses Sigma wildcards: `*` and `?`, `\*` `\?` `\\` escaped, any other backslash literal.
  static void ParseWild(std::string_view v, std::string* chars, std::vector<uint8_t>* kinds) {
    for (size_t i = 0; i < v.size(); ++i) {
      char c = v[i];
      if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
        chars->push_back(v[++i]);
        kinds->push_back(0);
      } else if (c == '*' || c == '?') {
        chars->push_back(c);
        kinds->push_back(c == '*' ? 2 : 1);
      } else {
        chars->push_back(c);
        kinds->push_back(0);
      }
    }
  }

  static std::string Base64(std::string_view in) {
    static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      uint32_t v =
          static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8 | static_cast<uint8_t>(in[i + 2]);
      out += kAlpha[v >> 18];
      out += kAlpha[(v >> 12) & 63];
      out += kAlpha[(v >> 6) & 63];
      out += kAlpha[v & 63];
    }
    if (i + 1 == in.size()) {
      uint32_t v = static_cast<uint8_t>(in[i]) << 16;
      out += kAlpha[v >> 18];
      out += kAlpha[(v >> 12) & 63];
      out += "==";
    } else if (i + 2 == in.size()) {
      uint32_t v = static_cast<uint8_t>(in[i]) << 16 | static_cast<uint8_t>(in[i + 1]) << 8;
      out += kAlpha[v >> 18];
      out += kAlpha[(v >> 12) & 63];
      out += kAlpha[(v >> 6) & 63];
      out += '=';
    }
    return out;
  }

  struct Mods {
    bool contains = false, startswith = false, endswith = false, all = false, re = false, re_i = false, re_m = false,
         re_s = false, cidr = false, exists = false, base64 = false, base64offset = false, windash = false,
         cased = false, expand = false;
    std::optional<Matcher::Op> cmp;
  };

  Mods ParseMods(const std::vector<std::string>& names, int line) {
    Mods m;
    bool after_re = false;
    for (const std::string& n : names) {
      if (n == "contains")
        m.contains = true;
      else if (n == "startswith")
        m.startswith = true;
      else if (n == "endswith")
        m.endswith = true;
      else if (n == "all")
        m.all = true;
      else if (n == "re")
        m.re = after_re = true;
      else if (n == "i" || n == "m" || n == "s") {
        if (!after_re) throw RuleError{line, "modifier '" + n + "' is only valid after 're'"};
        (n == "i" ? m.re_i : n == "m" ? m.re_m : m.re_s) = true;
        continue;
      } else if (n == "cidr")
        m.cidr = true;
      else if (n == "exists")
        m.exists = true;
      else if (n == "gt")
        m.cmp = Matcher::Op::kGt;
      else if (n == "gte")
        m.cmp = Matcher::Op::kGte;
      else if (n == "lt")
        m.cmp = Matcher::Op::kLt;
      else if (n == "lte")
        m.cmp = Matcher::Op::kLte;
      else if (n == "base64")
        m.base64 = true;
      else if (n == "base64offset")
        m.base64offset = true;
      else if (n == "windash")
        m.windash = true;
      else if (n == "cased")
        m.cased = true;
      else if (n == "expand")
        m.expand = true;
      else if (n == "wide" || n == "utf16" || n == "utf16le" || n == "utf16be")
        throw RuleError{line, "unsupported modifier '" + n + "' (UTF-16 text is Windows-only)"};
      else if (n == "fieldref")
        throw RuleError{line, "unsupported modifier 'fieldref'"};
      else
        throw RuleError{line, "unknown modifier '" + n + "'"};
      after_re = n == "re";
    }
    int ops = m.contains + m.startswith + m.endswith;
    if (ops > 1) throw RuleError{line, "at most one of contains, startswith, endswith"};
    int kinds = (ops > 0) + m.re + m.cidr + m.exists + m.cmp.has_value();
    if (kinds > 1)
      throw RuleError{
          line, "modifiers that cannot be combined (re, cidr, exists, gt/gte/lt/lte, contains/startswith/endswith)"};
    if ((m.base64 || m.base64offset) && (m.re || m.cidr || m.exists || m.cmp))
      throw RuleError{line, "base64 modifiers apply to plain strings only"};
    if (m.base64 && m.base64offset) throw RuleError{line, "use one of base64 and base64offset"};
    if (m.expand && (ops > 0 || m.re || m.exists || m.cmp || m.base64 || m.base64offset || m.windash))
      throw RuleError{line,
                      "'expand' is supported alone (or with cidr): a whole value '%name%' is a list membership test"};
    return m;
  }

  // Appends the matchers for one scalar value.
  void CompileValue(const std::string& raw, const Mods& m, int line, std::vector<Matcher>* out) {
    if (m.expand) {
      if (raw.size() < 3 || raw.front() != '%' || raw.back() != '%' || raw.find('%', 1) != raw.size() - 1)
        throw RuleError{line, "'expand' needs a whole value '%name%', got '" + raw + "'"};
      std::string name = raw.substr(1, raw.size() - 2);
      Matcher mt;
      mt.op = Matcher::Op::kList;
      mt.list = impl_->lists->Slot(name);
      if (!mt.list->current.load()) Warn(line, "list '" + name + "' is not loaded (it matches nothing until it is)");
      out->push_back(std::move(mt));
      return;
    }
    if (m.re) {
      uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
      if (m.re_i) opts |= PCRE2_CASELESS;
      if (m.re_m) opts |= PCRE2_MULTILINE;
      if (m.re_s) opts |= PCRE2_DOTALL;
      int err = 0;
      PCRE2_SIZE off = 0;
      pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(raw.data()), raw.size(), opts, &err, &off, nullptr);
      if (!code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof(buf));
        throw RuleError{line, "bad regular expression '" + raw + "' at offset " + std::to_string(off) + ": " +
                                  reinterpret_cast<const char*>(buf)};
      }
      pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // where the platform has no JIT, the interpreter runs
      Matcher mt;
      mt.op = Matcher::Op::kRegex;
      mt.re = std::make_shared<internal::Regex>();
      mt.re->code = code;
      out->push_back(std::move(mt));
      return;
    }
    if (m.cidr) {
      auto net = ParseCidr(raw);
      if (!net.ok()) throw RuleError{line, "cidr: " + std::string(net.status().message())};
      Matcher mt;
      mt.op = Matcher::Op::kCidr;
      mt.net = net->first;
      mt.net_len = net->second;
      out->push_back(std::move(mt));
      return;
    }
    if (m.cmp) {
      double v = 0;
      auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
      if (ec != std::errc() || p != raw.data() + raw.size() || !std::isfinite(v))
        throw RuleError{line, "a number is needed for gt/gte/lt/lte, got '" + raw + "'"};
      Matcher mt;
      mt.op = *m.cmp;
      mt.num = v;
      out->push_back(std::move(mt));
      return;
    }
    // Plain strings: variants (windash), encodings (base64), then the position modifiers.
    std::vector<std::string> variants{raw};
    if (m.windash) {
      static const char* kDashes[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
      std::vector<std::string> acc{""};
      for (char c : raw) {
        std::vector<std::string> next;
        if (c == '-' || c == '/') {
          for (const auto& a : acc)
            for (const char* d : kDashes) next.push_back(a + d);
        } else {
          for (auto& a : acc) next.push_back(a + c);
        }
        acc = std::move(next);
        if (acc.size() > 625) throw RuleError{line, "windash: too many dashes in '" + raw + "' (at most 4)"};
      }
      variants = std::move(acc);
    }
    bool literal = false;
    if (m.base64 || m.base64offset) {
      std::vector<std::string> enc;
      for (const auto& v : variants) {
        if (v.find_first_of("*?") != std::string::npos)
          throw RuleError{line, "base64: wildcards cannot be encoded ('" + raw + "')"};
        if (m.base64) {
          enc.push_back(Base64(v));
        } else {
          static constexpr int kStart[3] = {0, 2, 3};
          for (int i = 0; i < 3; ++i) {
            std::string e = Base64(std::string(static_cast<size_t>(i), ' ') + v);
            int end_cut = (v.size() + static_cast<size_t>(i)) % 3 == 0   ? 0
                          : (v.size() + static_cast<size_t>(i)) % 3 == 1 ? 3
                                                                         : 2;
            if (static_cast<int>(e.size()) - end_cut <= kStart[i]) continue;
            enc.push_back(e.substr(static_cast<size_t>(kStart[i]),
                                   e.size() - static_cast<size_t>(end_cut) - static_cast<size_t>(kStart[i])));
          }
        }
      }
      variants = std::move(enc);
      literal = true;  // base64 text has no wildcards and is case-sensitive
    }
    for (const auto& v : variants) {
      std::string chars;
      std::vector<uint8_t> kinds;
      if (literal) {
        chars = v;
        kinds.assign(v.size(), 0);
      } else {
        ParseWild(v, &chars, &kinds);
      }
      if (m.contains || m.endswith) {
        chars.insert(chars.begin(), '*');
        kinds.insert(kinds.begin(), 2);
      }
      if (m.contains || m.startswith) {
        chars.push_back('*');
        kinds.push_back(2);
      }
      Matcher mt;
      mt.cased = m.cased || literal;
      // Classify: literal, *lit*, lit*, *lit, or a general pattern.
      size_t n = kinds.size();
      size_t wild = static_cast<size_t>(std::count_if(kinds.begin(), kinds.end(), [](uint8_t k) { return k != 0; }));
      bool lead = n > 0 && kinds[0] == 2, trail = n > 1 && kinds[n - 1] == 2;
      if (wild == 0) {
        mt.op = Matcher::Op::kEquals;
        mt.lit = chars;
      } else if (lead && trail && wild == 2) {
        mt.op = Matcher::Op::kContains;
        mt.lit = chars.substr(1, n - 2);
      } else if (n == 1 && lead) {
        mt.op = Matcher::Op::kContains;  // `*` alone: any value
      } else if (trail && wild == 1) {
        mt.op = Matcher::Op::kStartsWith;
        mt.lit = chars.substr(0, n - 1);
      } else if (lead && wild == 1) {
        mt.op = Matcher::Op::kEndsWith;
        mt.lit = chars.substr(1);
      } else {
        mt.op = Matcher::Op::kGlob;
        mt.lit = chars;
        mt.glob = kinds;
      }
      if (!mt.cased)
        for (char& c : mt.lit) c = internal::LowerAscii(c);
      out->push_back(std::move(mt));
    }
  }

  static std::vector<std::string> SplitMods(const std::string& key, std::string* field) {
    std::vector<std::string> mods;
    size_t bar = key.find('|');
    *field = key.substr(0, bar);
    while (bar != std::string::npos) {
      size_t next = key.find('|', bar + 1);
      mods.push_back(key.substr(bar + 1, next == std::string::npos ? std::string::npos : next - bar - 1));
      bar = next;
    }
    return mods;
  }

  // `key: value` of a selection map (or the keywords of a keyword list when key is "").
  FieldTest CompileField(const std::string& key, const YAML::Node& value, const Target& t, int line,
                         bool keyword_list) {
    std::string field;
    std::vector<std::string> mod_names = SplitMods(key, &field);
    Mods m = ParseMods(mod_names, line);
    FieldTest ft;
    ft.field = field;
    std::optional<int> slot = Resolve(field, t);
    if (!slot) {
      unresolved_.insert(field);
      ft.slot = -1;
    } else {
      ft.slot = *slot;
      resolved_.insert(field);
    }
    ft.all = m.all;
    if (m.exists) {
      if (!value.IsScalar() || (value.Scalar() != "true" && value.Scalar() != "false"))
        throw RuleError{line, "'exists' takes true or false"};
      ft.special = value.Scalar() == "true" ? FieldTest::Special::kExists : FieldTest::Special::kNotExists;
      return ft;
    }
    std::vector<YAML::Node> values;
    if (value.IsSequence()) {
      for (const auto& v : value) values.push_back(v);
      if (values.empty()) throw RuleError{line, "'" + key + "': empty list of values"};
    } else {
      values.push_back(value);
    }
    Mods mods = m;
    if (keyword_list || field.empty()) {
      // Keywords match anywhere in a text field.
      if (!mods.contains && !mods.startswith && !mods.endswith && !mods.re && !mods.cidr && !mods.cmp && !mods.expand)
        mods.contains = true;
    }
    for (const auto& v : values) {
      if (!v || v.IsNull()) {
        if (m.all || m.re || m.cidr || m.cmp || m.expand)
          throw RuleError{line, "null cannot be used with these modifiers"};
        ft.has_null = true;
        continue;
      }
      if (!v.IsScalar()) throw RuleError{Line(v), "'" + key + "': values must be strings, numbers or null"};
      CompileValue(v.Scalar(), mods, Line(v), &ft.values);
    }
    if (ft.has_null && ft.values.empty()) ft.special = FieldTest::Special::kNull;
    return ft;
  }

  Selection CompileSelection(const std::string& name, const YAML::Node& node, const Target& t) {
    Selection sel;
    auto compile_map = [&](const YAML::Node& map) {
      std::vector<FieldTest> alt;
      for (const auto& kv : map) {
        if (!kv.first.IsScalar()) throw RuleError{Line(kv.first), "a field name must be a string"};
        alt.push_back(CompileField(kv.first.Scalar(), kv.second, t, Line(kv.first), false));
      }
      if (alt.empty()) throw RuleError{Line(map), "selection '" + name + "' is empty"};
      sel.alternatives.push_back(std::move(alt));
    };
    if (node.IsMap()) {
      compile_map(node);
    } else if (node.IsSequence()) {
      if (node.size() == 0) throw RuleError{Line(node), "selection '" + name + "' is empty"};
      bool maps = node[0].IsMap();
      for (const auto& item : node) {
        if (item.IsMap() != maps) throw RuleError{Line(item), "selection '" + name + "' mixes maps and keywords"};
        if (!maps && !item.IsScalar()) throw RuleError{Line(item), "a keyword must be a string"};
      }
      if (maps) {
        for (const auto& item : node) compile_map(item);
      } else {
        sel.alternatives.push_back({CompileField("", node, t, Line(node), true)});
      }
    } else if (node.IsScalar()) {
      sel.alternatives.push_back({CompileField("", node, t, Line(node), true)});
    } else {
      throw RuleError{Line(node), "selection '" + name + "' must be a map, a list of maps or a list of keywords"};
    }
    return sel;
  }

  // ---- rules ----

  void LoadRule(const YAML::Node& node) {
    RuleMeta meta = LoadMeta(node);
    if (node["action"] && node["action"].IsScalar())
      throw RuleError{Line(node["action"]), "rule collections ('action: global') are not supported"};
    std::vector<Target> targets = Targets(node);
    YAML::Node det = node["detection"];
    if (!det) throw RuleError{doc_line_, "missing 'detection'"};
    if (!det.IsMap()) throw RuleError{Line(det), "'detection' must be a map"};
    if (det["timeframe"])
      throw RuleError{Line(det["timeframe"]), "'timeframe' is not supported: write a correlation rule"};
    YAML::Node cond = det["condition"];
    if (!cond) throw RuleError{Line(det), "detection has no 'condition'"};
    std::vector<std::string> idents;
    std::vector<YAML::Node> ident_nodes;
    for (const auto& kv : det) {
      if (!kv.first.IsScalar()) throw RuleError{Line(kv.first), "a search identifier must be a string"};
      if (kv.first.Scalar() == "condition") continue;
      idents.push_back(kv.first.Scalar());
      ident_nodes.push_back(kv.second);
    }
    // Condition: a string, or a list of strings (their or).
    std::vector<std::string> cond_texts;
    if (cond.IsScalar()) {
      cond_texts.push_back(cond.Scalar());
    } else if (cond.IsSequence() && cond.size() > 0) {
      for (const auto& c : cond) {
        if (!c.IsScalar()) throw RuleError{Line(c), "a condition must be a string"};
        cond_texts.push_back(c.Scalar());
      }
    } else {
      throw RuleError{Line(cond), "'condition' must be a string or a list of strings"};
    }
    std::string joined;
    for (size_t i = 0; i < cond_texts.size(); ++i) {
      auto parsed = ParseCondition(cond_texts[i], idents);
      if (!parsed.ok())
        throw RuleError{Line(cond), "condition '" + cond_texts[i] + "': " + std::string(parsed.status().message())};
      joined += (i ? " or (" : "(") + cond_texts[i] + ")";
    }
    CondTree tree = *ParseCondition(cond_texts.size() == 1 ? cond_texts[0] : joined, idents);

    resolved_.clear();
    unresolved_.clear();
    int meta_idx = -1;
    std::vector<PendingInstance> insts;
    for (const Target& t : targets) {
      Instance inst;
      for (size_t i = 0; i < idents.size(); ++i)
        inst.selections.push_back(CompileSelection(idents[i], ident_nodes[i], t));
      inst.cond = tree;
      insts.push_back({t.type->name + "\x1f" + t.action, std::move(inst)});
    }
    for (const std::string& f : unresolved_) {
      if (!resolved_.count(f)) {
        std::string names;
        for (const auto& t : targets) names += (names.empty() ? "" : ", ") + t.Name();
        throw RuleError{FieldLine(det, f), "field '" + f + "' is not a field of " + names + " events"};
      }
    }
    for (const auto& t : targets) meta.targets.push_back(t.Name());
    meta_idx = AddMeta(std::move(meta));
    for (auto& pi : insts) {
      pi.inst.meta = meta_idx;
      // Summary fields: the first distinct fields tested, at most 4.
      std::set<int> seen;
      for (const auto& sel : pi.inst.selections)
        for (const auto& alt : sel.alternatives)
          for (const auto& ft : alt)
            if (ft.slot >= 0 && impl_->slots[static_cast<size_t>(ft.slot)].kind != SlotDef::Kind::kAllText &&
                pi.inst.summary_fields.size() < 4 && seen.insert(ft.slot).second)
              pi.inst.summary_fields.emplace_back(ft.field, ft.slot);
      pending_instances_.push_back(std::move(pi));
    }
    ++impl_->base_rules;
    ++result_->loaded;
  }

  // The line where `field` is first used in a detection (for errors).
  int FieldLine(const YAML::Node& det, const std::string& field) {
    std::function<int(const YAML::Node&)> find = [&](const YAML::Node& n) -> int {
      if (n.IsMap()) {
        for (const auto& kv : n) {
          if (kv.first.IsScalar()) {
            std::string f;
            SplitMods(kv.first.Scalar(), &f);
            if (f == field) return Line(kv.first);
          }
          int l = find(kv.second);
          if (l) return l;
        }
      } else if (n.IsSequence()) {
        for (const auto& item : n) {
          int l = find(item);
          if (l) return l;
        }
      }
      return 0;
    };
    int l = find(det);
    return l ? l : Line(det);
  }

  // ---- correlations ----

  static int64_t ParseTimespan(const std::string& s, int line) {
    if (s.size() < 2) throw RuleError{line, "timespan '" + s + "': expected a number and a unit (s, m, h, d)"};
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size() - 1, n);
    if (ec != std::errc() || p != s.data() + s.size() - 1 || n <= 0)
      throw RuleError{line, "timespan '" + s + "': expected a positive number and a unit (s, m, h, d)"};
    int64_t unit = 0;
    switch (s.back()) {
      case 's':
        unit = 1000;
        break;
      case 'm':
        unit = 60'000;
        break;
      case 'h':
        unit = 3'600'000;
        break;
      case 'd':
        unit = 86'400'000;
        break;
      default:
        throw RuleError{line, "timespan '" + s + "': unit must be s, m, h or d"};
    }
    if (n > 366LL * 86'400'000 / unit) throw RuleError{line, "timespan '" + s + "' is longer than a year"};
    return n * unit;
  }

  void LoadCorrelation(const YAML::Node& node) {
    doc_line_ = Line(node);
    RuleMeta meta = LoadMeta(node);
    meta.is_correlation = true;
    YAML::Node c = node["correlation"];
    if (!c.IsMap()) throw RuleError{Line(c), "'correlation' must be a map"};
    Correlation corr;
    std::string type = Str(c, "type", true);
    if (type == "event_count")
      corr.type = Correlation::Type::kEventCount;
    else if (type == "value_count")
      corr.type = Correlation::Type::kValueCount;
    else if (type == "temporal")
      corr.type = Correlation::Type::kTemporal;
    else if (type == "temporal_ordered")
      corr.type = Correlation::Type::kTemporalOrdered;
    else
      throw RuleError{Line(c["type"]), "correlation type '" + type +
                                           "': expected event_count, value_count, temporal or temporal_ordered"};
    YAML::Node rules = c["rules"];
    if (!rules) throw RuleError{Line(c), "correlation has no 'rules'"};
    std::vector<YAML::Node> rule_nodes;
    if (rules.IsScalar())
      rule_nodes.push_back(rules);
    else if (rules.IsSequence())
      for (const auto& r : rules) rule_nodes.push_back(r);
    if (rule_nodes.empty()) throw RuleError{Line(rules), "'rules' must name one or more rules"};
    for (const auto& r : rule_nodes) {
      if (!r.IsScalar()) throw RuleError{Line(r), "'rules' entries must be rule names or ids"};
      auto it = by_ref_.find(r.Scalar());
      if (it == by_ref_.end())
        throw RuleError{Line(r), "unknown rule '" + r.Scalar() + "' (name or id of a loaded rule)"};
      if (impl_->metas[static_cast<size_t>(it->second)].is_correlation)
        throw RuleError{Line(r),
                        "rule '" + r.Scalar() + "' is a correlation: correlations of correlations are not supported"};
      corr.rules.push_back(it->second);
    }
    if ((corr.type == Correlation::Type::kTemporal || corr.type == Correlation::Type::kTemporalOrdered) &&
        corr.rules.size() < 2)
      throw RuleError{Line(rules), "temporal correlations need two or more rules"};
    if (YAML::Node g = c["group-by"]) {
      if (g.IsScalar())
        corr.group_by.push_back(g.Scalar());
      else if (g.IsSequence())
        for (const auto& f : g) {
          if (!f.IsScalar()) throw RuleError{Line(f), "'group-by' entries must be field names"};
          corr.group_by.push_back(f.Scalar());
        }
      else
        throw RuleError{Line(g), "'group-by' must be a list of field names"};
    }
    if (c["aliases"]) throw RuleError{Line(c["aliases"]), "correlation 'aliases' are not supported"};
    YAML::Node ts = c["timespan"] ? c["timespan"] : c["timeframe"];
    if (!ts || !ts.IsScalar()) throw RuleError{Line(c), "correlation needs a 'timespan' (e.g. 5m)"};
    corr.timespan_ms = ParseTimespan(ts.Scalar(), Line(ts));
    YAML::Node cond = c["condition"];
    if (cond) {
      if (!cond.IsMap()) throw RuleError{Line(cond), "'condition' must be a map such as {gte: 5}"};
      for (const auto& kv : cond) {
        std::string k = kv.first.Scalar();
        if (k == "field") {
          corr.value_field = kv.second.Scalar();
          continue;
        }
        Correlation::Cmp cmp;
        if (k == "gt")
          cmp = Correlation::Cmp::kGt;
        else if (k == "gte")
          cmp = Correlation::Cmp::kGte;
        else if (k == "lt")
          cmp = Correlation::Cmp::kLt;
        else if (k == "lte")
          cmp = Correlation::Cmp::kLte;
        else if (k == "eq")
          cmp = Correlation::Cmp::kEq;
        else
          throw RuleError{Line(kv.first), "condition '" + k + "': expected gt, gte, lt, lte, eq or field"};
        if (corr.cmp != Correlation::Cmp::kNone) throw RuleError{Line(kv.first), "one comparison per condition"};
        corr.cmp = cmp;
        int64_t v = 0;
        const std::string& s = kv.second.Scalar();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || p != s.data() + s.size() || v < 0 || v > 100'000)
          throw RuleError{Line(kv.second), "condition value '" + s + "': expected an integer from 0 to 100000"};
        corr.threshold = v;
      }
    }
    bool counts = corr.type == Correlation::Type::kEventCount || corr.type == Correlation::Type::kValueCount;
    if (counts && corr.cmp == Correlation::Cmp::kNone)
      throw RuleError{Line(cond ? cond : c), "event_count and value_count need a condition such as {gte: 5}"};
    if (corr.type == Correlation::Type::kValueCount && corr.value_field.empty())
      throw RuleError{Line(cond ? cond : c), "value_count needs 'field' in its condition"};
    if (corr.type != Correlation::Type::kValueCount && !corr.value_field.empty())
      throw RuleError{Line(cond), "'field' is only for value_count"};
    corr.window_cap = static_cast<size_t>(std::max<int64_t>(corr.threshold + 1, 1));
    bool generate = false;
    YAML::Node gen = c["generate"] ? c["generate"] : node["generate"];
    if (gen) {
      if (!gen.IsScalar() || (gen.Scalar() != "true" && gen.Scalar() != "false"))
        throw RuleError{Line(gen), "'generate' must be true or false"};
      generate = gen.Scalar() == "true";
    }
    // Resolve group-by and value fields in every instance of every base rule.
    int corr_idx = static_cast<int>(impl_->correlations.size());
    std::vector<std::pair<size_t, internal::CorrRef>> refs;
    for (size_t pos = 0; pos < corr.rules.size(); ++pos) {
      int base = corr.rules[pos];
      for (size_t i = 0; i < pending_instances_.size(); ++i) {
        PendingInstance& pi = pending_instances_[i];
        if (pi.inst.meta != base) continue;
        const std::string& tk = pi.target;
        size_t sep = tk.find('\x1f');
        Target t{schema_->FindType(tk.substr(0, sep)), tk.substr(sep + 1)};
        internal::CorrRef ref;
        ref.corr = corr_idx;
        ref.rule_pos = static_cast<int>(pos);
        for (const auto& f : corr.group_by) {
          auto s = Resolve(f, t);
          if (!s)
            throw RuleError{Line(c["group-by"]), "group-by field '" + f + "' is not a field of " + t.Name() +
                                                     " events (rule '" + impl_->metas[static_cast<size_t>(base)].title +
                                                     "')"};
          ref.group_slots.push_back(*s);
        }
        if (!corr.value_field.empty()) {
          auto s = Resolve(corr.value_field, t);
          if (!s)
            throw RuleError{Line(cond), "field '" + corr.value_field + "' is not a field of " + t.Name() + " events"};
          ref.value_slot = *s;
        }
        refs.emplace_back(i, std::move(ref));
      }
    }
    for (auto& [i, ref] : refs) pending_instances_[i].inst.corrs.push_back(std::move(ref));
    for (int base : corr.rules) {
      auto it = corr_generate_.find(base);
      corr_generate_[base] = (it != corr_generate_.end() && it->second) || generate;
    }
    meta.targets.clear();
    for (int base : corr.rules) {
      const auto& bt = impl_->metas[static_cast<size_t>(base)].targets;
      meta.targets.insert(meta.targets.end(), bt.begin(), bt.end());
    }
    corr.meta = AddMeta(std::move(meta));
    impl_->correlations.push_back(std::move(corr));
    ++result_->loaded;
  }

  // ---- groups and prefilter ----

  using Need = std::optional<std::vector<std::pair<int, std::string>>>;

  static size_t Score(const Need& n) {
    if (!n || n->empty()) return 0;
    size_t m = SIZE_MAX;
    for (const auto& p : *n) m = std::min(m, p.second.size());
    return m;
  }

  static std::string MatcherLiteral(const Matcher& m) {
    std::string lit;
    switch (m.op) {
      case Matcher::Op::kEquals:
      case Matcher::Op::kContains:
      case Matcher::Op::kStartsWith:
      case Matcher::Op::kEndsWith:
        lit = m.lit;
        break;
      case Matcher::Op::kGlob: {
        std::string run;
        for (size_t i = 0; i <= m.lit.size(); ++i) {
          if (i < m.lit.size() && m.glob[i] == 0) {
            run += m.lit[i];
          } else {
            if (run.size() > lit.size()) lit = run;
            run.clear();
          }
        }
        break;
      }
      default:
        return "";
    }
    for (char& c : lit) c = internal::LowerAscii(c);
    return lit;
  }

  Need FieldNeed(const FieldTest& ft) const {
    if (ft.slot < 0 || ft.special != FieldTest::Special::kNone || ft.has_null || ft.values.empty()) return std::nullopt;
    if (impl_->slots[static_cast<size_t>(ft.slot)].kind == SlotDef::Kind::kAllText) return std::nullopt;
    std::vector<std::pair<int, std::string>> out;
    if (ft.all) {
      std::string best;
      for (const auto& m : ft.values) {
        std::string l = MatcherLiteral(m);
        if (l.size() > best.size()) best = l;
      }
      if (best.empty()) return std::nullopt;
      out.emplace_back(ft.slot, best);
      return out;
    }
    for (const auto& m : ft.values) {
      std::string l = MatcherLiteral(m);
      if (l.empty()) return std::nullopt;
      out.emplace_back(ft.slot, std::move(l));
    }
    return out;
  }

  Need SelectionNeed(const Selection& s) const {
    std::vector<std::pair<int, std::string>> out;
    for (const auto& alt : s.alternatives) {
      Need best;
      for (const auto& ft : alt) {
        Need n = FieldNeed(ft);
        if (n && Score(n) > Score(best)) best = std::move(n);
      }
      if (!best) return std::nullopt;
      out.insert(out.end(), best->begin(), best->end());
    }
    return out;
  }

  Need NodeNeed(const Instance& inst, int n) const {
    const CondNode& node = inst.cond.nodes[static_cast<size_t>(n)];
    switch (node.kind) {
      case CondNode::Kind::kIdent:
        return SelectionNeed(inst.selections[static_cast<size_t>(node.ident)]);
      case CondNode::Kind::kNot:
        return std::nullopt;
      case CondNode::Kind::kAnd: {
        Need best;
        for (int c : node.children) {
          Need cn = NodeNeed(inst, c);
          if (cn && Score(cn) > Score(best)) best = std::move(cn);
        }
        return best;
      }
      case CondNode::Kind::kOr: {
        std::vector<std::pair<int, std::string>> out;
        for (int c : node.children) {
          Need cn = NodeNeed(inst, c);
          if (!cn) return std::nullopt;
          out.insert(out.end(), cn->begin(), cn->end());
        }
        return out;
      }
    }
    return std::nullopt;
  }

  void BuildGroups() {
    std::map<std::string, std::vector<Instance>> by_target;
    for (auto& pi : pending_instances_) by_target[pi.target].push_back(std::move(pi.inst));
    for (auto& [key, insts] : by_target) {
      size_t sep = key.find('\x1f');
      int gi = static_cast<int>(impl_->groups.size());
      impl_->group_index[key.substr(0, sep)][key.substr(sep + 1)] = gi;
      internal::Group g;
      g.instances = std::move(insts);
      g.needs_prefilter.assign(g.instances.size(), 0);
      std::map<std::pair<int, std::string>, std::vector<int>> literals;
      for (size_t i = 0; i < g.instances.size(); ++i) {
        Need n = NodeNeed(g.instances[i], g.instances[i].cond.root);
        if (!n || n->empty() || Score(n) == 0) continue;
        g.needs_prefilter[i] = 1;
        for (auto& p : *n) {
          auto& v = literals[p];
          if (v.empty() || v.back() != static_cast<int>(i)) v.push_back(static_cast<int>(i));
        }
      }
      std::vector<std::string> pats;
      std::set<int> slots;
      for (auto& [sl, rules] : literals) {
        pats.push_back(sl.second);
        g.prefilter_slot.push_back(sl.first);
        g.prefilter_rules.push_back(rules);
        slots.insert(sl.first);
      }
      g.scan_slots.assign(slots.begin(), slots.end());
      if (!pats.empty()) g.ac.Build(pats);
      impl_->max_instances = std::max(impl_->max_instances, g.instances.size());
      impl_->groups.push_back(std::move(g));
    }
  }

  RuleSet::LoadResult* result_;
  const schema::Schema* schema_ = nullptr;
  std::unique_ptr<RuleSet::Impl> impl_;
  std::string current_file_, current_rule_;
  int line_offset_ = 0;
  int doc_line_ = 0;
  std::map<std::string, int> by_key_, by_ref_;
  std::map<int, bool> corr_generate_;
  std::vector<PendingCorr> pending_corrs_;
  std::vector<PendingInstance> pending_instances_;
  std::set<std::string> resolved_, unresolved_;
};

}  // namespace

RuleSet::RuleSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RuleSet::~RuleSet() = default;

RuleSet::LoadResult RuleSet::Load(std::span<const RuleSource> sources, const LoadOptions& options) {
  LoadResult result;
  Loader loader(options, &result);
  for (const RuleSource& s : sources) loader.AddSource(s);
  result.rules = std::shared_ptr<const RuleSet>(new RuleSet(loader.Finish()));
  return result;
}

size_t RuleSet::rule_count() const { return impl_->base_rules; }
size_t RuleSet::correlation_count() const { return impl_->correlations.size(); }
const std::shared_ptr<Lists>& RuleSet::lists() const { return impl_->lists; }

std::vector<RuleInfo> RuleSet::Rules() const {
  std::vector<RuleInfo> out;
  for (const auto& m : impl_->metas) {
    RuleInfo r;
    r.id = !m.id.empty() ? m.id : !m.name.empty() ? m.name : m.title;
    r.title = m.title;
    r.level = m.level;
    r.file = m.file;
    r.line = m.line;
    r.correlation = m.is_correlation;
    r.generates_alerts = m.generates;
    r.targets = m.targets;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace vigil::detect

namespace vigil::detect {
namespace {

void SigmaFields(const std::vector<schema::FieldSpec>& fields, const std::string& prefix,
                 std::vector<std::pair<std::string, std::string>>* out) {
  for (const auto& f : fields) {
    if (!f.sigma.empty()) out->emplace_back(f.sigma, prefix + f.name);
    if (f.type == schema::FieldType::kObject) SigmaFields(f.fields, prefix + f.name + ".", out);
  }
}

}  // namespace

std::string FieldMappingMarkdown(const schema::Schema& schema) {
  // Log source text -> ("type/action" list, fields).
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::pair<std::string, std::string>>>> by_ls;
  std::vector<std::string> order;
  for (const auto& t : schema.types()) {
    auto add = [&](const schema::LogSource& ls, const std::string& target) {
      if (ls.empty()) return;
      std::string key = ls.ToString();
      if (!by_ls.count(key)) {
        order.push_back(key);
        SigmaFields(t.fields, "", &by_ls[key].second);
      }
      by_ls[key].first.push_back(target);
    };
    if (t.actions.empty()) add(t.sigma_logsource, t.name);
    for (const auto& a : t.actions)
      add(a.sigma_logsource.empty() ? t.sigma_logsource : a.sigma_logsource, t.name + "/" + a.name);
  }
  std::string out;
  out += "| Sigma log source | Vigil events (type/action) | Sigma field | Vigil field under `data` |\n";
  out += "|---|---|---|---|\n";
  for (const auto& key : order) {
    const auto& [targets, fields] = by_ls[key];
    std::string t;
    for (const auto& x : targets) t += (t.empty() ? "" : ", ") + ("`" + x + "`");
    if (fields.empty()) {
      out += "| `" + key + "` | " + t + " | | |\n";
      continue;
    }
    bool first = true;
    for (const auto& [sigma, path] : fields) {
      out += "| " + (first ? "`" + key + "`" : std::string()) + " | " + (first ? t : std::string()) + " | " + sigma +
             " | `" + path + "` |\n";
      first = false;
    }
  }
  out += "\nVigil's own log sources (`product: vigil`):\n\n";
  out += "| category (event type) | service (action) |\n|---|---|\n";
  for (const auto& t : schema.types()) {
    std::string acts;
    for (const auto& a : t.actions) acts += (acts.empty() ? "" : ", ") + ("`" + a.name + "`");
    out += "| `" + t.name + "` | " + (acts.empty() ? std::string("(none: leave `service` out)") : acts) + " |\n";
  }
  return out;
}

}  // namespace vigil::detect
