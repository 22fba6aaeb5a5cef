#include "schema/schema.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace vigil::schema {
namespace {

// ---------------------------------------------------------------------------------------
// Loading

bool IsIdentifier(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool IsSigmaName(std::string_view s) {
  if (s.empty() || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(sep);
    out.append(items[i]);
  }
  return out;
}

std::string JoinPath(const std::string& base, std::string_view key) {
  return base.empty() ? std::string(key) : base + "." + std::string(key);
}

// The entries of one YAML map, in file order, each key checked against the allowed set.
struct Entry {
  std::string key;
  YAML::Node value;
};

class Loader {
 public:
  explicit Loader(std::string_view file) : file_(file) {}

  Status Error(const YAML::Node& node, const std::string& path, const std::string& what) const {
    std::string msg(file_);
    const YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
    // append(), not operator+: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
    if (!mark.is_null()) msg.append(":").append(std::to_string(mark.line + 1));
    msg += ": ";
    if (!path.empty()) msg += path + ": ";
    msg += what;
    return Status::InvalidArgument(std::move(msg));
  }

  static int Line(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
  }

  // The entries of a map; unknown and duplicate keys are errors.
  Result<std::vector<Entry>> Entries(const YAML::Node& node, const std::string& path,
                                     std::initializer_list<std::string_view> allowed) const {
    if (!node.IsMap()) return Error(node, path, "expected a map");
    std::vector<Entry> out;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) return Error(it->first, path, "keys must be plain names");
      std::string key = it->first.Scalar();
      if (allowed.size() > 0 && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        return Error(it->first, path, "unknown key '" + key + "' (allowed: " + Join(names, ", ") + ")");
      }
      for (const Entry& e : out) {
        if (e.key == key) return Error(it->first, path, "duplicate key '" + key + "'");
      }
      out.push_back(Entry{std::move(key), it->second});
    }
    return out;
  }

  static const YAML::Node* Find(const std::vector<Entry>& entries, std::string_view key) {
    for (const Entry& e : entries) {
      if (e.key == key) return &e.value;
    }
    return nullptr;
  }

  // A non-empty scalar. `parent` locates the error when the key is missing.
  Result<std::string> String(const std::vector<Entry>& entries, std::string_view key, const YAML::Node& parent,
                             const std::string& path, bool required) const {
    const YAML::Node* n = Find(entries, key);
    const std::string where = JoinPath(path, key);
    if (n == nullptr) {
      if (required) return Error(parent, path, "missing key '" + std::string(key) + "'");
      return std::string();
    }
    if (!n->IsScalar() || n->Scalar().empty()) return Error(*n, where, "expected a non-empty string");
    return n->Scalar();
  }

  Result<bool> Bool(const YAML::Node& n, const std::string& path) const {
    if (n.IsScalar()) {
      if (n.Scalar() == "true") return true;
      if (n.Scalar() == "false") return false;
    }
    return Error(n, path, "expected true or false");
  }

  Result<std::vector<std::string>> Names(const YAML::Node& n, const std::string& path) const {
    if (!n.IsSequence() || n.size() == 0) return Error(n, path, "expected a non-empty list of names");
    std::vector<std::string> out;
    for (const YAML::Node& item : n) {
      if (!item.IsScalar() || !IsIdentifier(item.Scalar()))
        return Error(item, path, "expected a name (lowercase letters, digits, _)");
      out.push_back(item.Scalar());
    }
    return out;
  }

  Result<LogSource> ParseLogSource(const YAML::Node& n, const std::string& path) const {
    auto entries = Entries(n, path, {"category", "product", "service"});
    if (!entries.ok()) return entries.status();
    LogSource ls;
    for (auto [key, dst] :
         {std::pair{"category", &ls.category}, std::pair{"product", &ls.product}, std::pair{"service", &ls.service}}) {
      auto v = String(*entries, key, n, path, false);
      if (!v.ok()) return v.status();
      *dst = std::move(*v);
    }
    if (ls.empty()) return Error(n, path, "expected at least one of category, product, service");
    return ls;
  }

  struct FieldContext {
    bool element = false;                                    // array items / map values
    bool envelope = false;                                   // the envelope's own fields
    const std::vector<std::string>* type_actions = nullptr;  // the type's actions (data fields)
    int depth = 0;                                           // nesting of objects, arrays and maps
  };

  static constexpr int kMaxDepth = 16;

  Result<FieldSpec> ParseField(const YAML::Node& n, const std::string& path, std::string name,
                               const FieldContext& ctx) const {
    auto entries_or = ctx.element ? Entries(n, path, {"type", "enum", "fields", "items", "values", "known_keys"})
                                  : Entries(n, path,
                                            {"type", "required", "description", "sigma", "actions", "enum", "requires",
                                             "fields", "items", "values", "known_keys"});
    if (!entries_or.ok()) return entries_or.status();
    const std::vector<Entry>& entries = *entries_or;
    if (ctx.depth > kMaxDepth) return Error(n, path, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    FieldSpec f;
    f.name = std::move(name);
    f.line = Line(n);

    auto type = String(entries, "type", n, path, true);
    if (!type.ok()) return type.status();
    static constexpr std::pair<std::string_view, FieldType> kTypes[] = {
        {"string", FieldType::kString},   {"integer", FieldType::kInteger}, {"number", FieldType::kNumber},
        {"boolean", FieldType::kBoolean}, {"object", FieldType::kObject},   {"array", FieldType::kArray},
        {"map", FieldType::kMap}};
    bool known = false;
    for (const auto& [tname, t] : kTypes) {
      if (*type == tname) {
        f.type = t;
        known = true;
      }
    }
    if (!known) {
      return Error(*Find(entries, "type"), JoinPath(path, "type"),
                   "unknown type '" + *type + "' (expected string, integer, number, boolean, object, array or map)");
    }

    if (!ctx.element) {
      const YAML::Node* req = Find(entries, "required");
      if (req == nullptr) return Error(n, path, "missing key 'required' (true or false)");
      auto b = Bool(*req, JoinPath(path, "required"));
      if (!b.ok()) return b.status();
      f.required = *b;
      auto desc = String(entries, "description", n, path, true);
      if (!desc.ok()) return desc.status();
      f.description = std::move(*desc);
      auto sigma = String(entries, "sigma", n, path, false);
      if (!sigma.ok()) return sigma.status();
      if (!sigma->empty() && !IsSigmaName(*sigma))
        return Error(*Find(entries, "sigma"), JoinPath(path, "sigma"), "expected a Sigma field name such as Image");
      f.sigma = std::move(*sigma);
    }

    if (const YAML::Node* acts = Find(entries, "actions")) {
      const std::string where = JoinPath(path, "actions");
      if (ctx.envelope) return Error(*acts, where, "envelope fields are on every action");
      if (ctx.type_actions == nullptr || ctx.type_actions->empty())
        return Error(*acts, where, "the type has no actions");
      auto names = Names(*acts, where);
      if (!names.ok()) return names.status();
      for (const std::string& a : *names) {
        if (std::find(ctx.type_actions->begin(), ctx.type_actions->end(), a) == ctx.type_actions->end())
          return Error(*acts, where,
                       "unknown action '" + a + "' (the type's actions: " + Join(*ctx.type_actions, ", ") + ")");
      }
      f.actions = std::move(*names);
    }

    if (const YAML::Node* en = Find(entries, "enum")) {
      const std::string where = JoinPath(path, "enum");
      if (f.type != FieldType::kString && f.type != FieldType::kInteger)
        return Error(*en, where, "only string and integer fields take an enum");
      if (!en->IsSequence() || en->size() == 0) return Error(*en, where, "expected a non-empty list of values");
      for (const YAML::Node& v : *en) {
        if (!v.IsScalar()) return Error(v, where, "expected a scalar value");
        const std::string& s = v.Scalar();
        if (f.type == FieldType::kString) {
          f.enum_values.emplace_back(s);
          continue;
        }
        int64_t i = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
        if (ec != std::errc() || end != s.data() + s.size() || s.empty())
          return Error(v, where, "'" + s + "' is not an integer");
        f.enum_values.emplace_back(i);
      }
    }

    if (const YAML::Node* rq = Find(entries, "requires")) {
      auto names = Names(*rq, JoinPath(path, "requires"));
      if (!names.ok()) return names.status();
      f.requires_fields = std::move(*names);  // checked against the siblings by ParseFields
    }

    const YAML::Node* fields = Find(entries, "fields");
    const YAML::Node* items = Find(entries, "items");
    const YAML::Node* values = Find(entries, "values");
    const YAML::Node* known_keys = Find(entries, "known_keys");
    const bool envelope_data = ctx.envelope && f.name == "data";
    if (fields && f.type != FieldType::kObject)
      return Error(*fields, JoinPath(path, "fields"), "only object fields have fields");
    if (items && f.type != FieldType::kArray)
      return Error(*items, JoinPath(path, "items"), "only array fields have items");
    if (values && f.type != FieldType::kMap)
      return Error(*values, JoinPath(path, "values"), "only map fields have values");
    if (known_keys && f.type != FieldType::kMap)
      return Error(*known_keys, JoinPath(path, "known_keys"), "only map fields have known_keys");

    FieldContext inner = ctx;
    inner.element = false;
    inner.depth = ctx.depth + 1;
    FieldContext elem = inner;
    elem.element = true;
    switch (f.type) {
      case FieldType::kObject: {
        if (envelope_data) {
          if (fields) return Error(*fields, JoinPath(path, "fields"), "the fields of data are given per type");
          break;
        }
        if (!fields) return Error(n, path, "an object needs 'fields' (use {} for none)");
        auto sub = ParseFields(*fields, JoinPath(path, "fields"), inner);
        if (!sub.ok()) return sub.status();
        f.fields = std::move(*sub);
        break;
      }
      case FieldType::kArray: {
        if (!items) return Error(n, path, "an array needs 'items'");
        auto item = ParseField(*items, JoinPath(path, "items"), "", elem);
        if (!item.ok()) return item.status();
        f.element.push_back(std::move(*item));
        break;
      }
      case FieldType::kMap: {
        if (!values) return Error(n, path, "a map needs 'values'");
        auto item = ParseField(*values, JoinPath(path, "values"), "", elem);
        if (!item.ok()) return item.status();
        f.element.push_back(std::move(*item));
        if (known_keys) {
          auto kk = Entries(*known_keys, JoinPath(path, "known_keys"), {});
          if (!kk.ok()) return kk.status();
          for (const Entry& e : *kk) {
            if (!e.value.IsScalar() || e.value.Scalar().empty())
              return Error(e.value, JoinPath(path, "known_keys." + e.key), "expected a description");
            f.known_keys.emplace_back(e.key, e.value.Scalar());
          }
        }
        break;
      }
      default:
        break;
    }
    if (envelope_data && f.type != FieldType::kObject) return Error(n, path, "data must be an object");
    return f;
  }

  Result<std::vector<FieldSpec>> ParseFields(const YAML::Node& n, const std::string& path,
                                             const FieldContext& ctx) const {
    if (!n.IsMap()) return Error(n, path, "expected a map of fields (use {} for none)");
    auto entries = Entries(n, path, {});
    if (!entries.ok()) return entries.status();
    std::vector<FieldSpec> out;
    for (const Entry& e : *entries) {
      const std::string where = JoinPath(path, e.key);
      if (!IsIdentifier(e.key)) return Error(e.value, where, "field names are lowercase letters, digits and _");
      auto f = ParseField(e.value, where, e.key, ctx);
      if (!f.ok()) return f.status();
      out.push_back(std::move(*f));
    }
    for (size_t i = 0; i < out.size(); ++i) {
      for (const std::string& r : out[i].requires_fields) {
        const bool sibling =
            r != out[i].name && std::any_of(out.begin(), out.end(), [&](const FieldSpec& s) { return s.name == r; });
        if (!sibling) {
          return Error((*entries)[i].value, JoinPath(path, out[i].name + ".requires"),
                       "'" + r + "' is not another field of this object");
        }
      }
    }
    return out;
  }

  Result<TypeSpec> ParseType(const YAML::Node& n, const std::string& path, std::string name) const {
    auto entries = Entries(n, path, {"description", "collector", "sigma_logsource", "actions", "fields"});
    if (!entries.ok()) return entries.status();
    TypeSpec t;
    t.name = std::move(name);
    auto desc = String(*entries, "description", n, path, true);
    if (!desc.ok()) return desc.status();
    t.description = std::move(*desc);
    auto collector = String(*entries, "collector", n, path, true);
    if (!collector.ok()) return collector.status();
    t.collector = std::move(*collector);
    if (const YAML::Node* ls = Find(*entries, "sigma_logsource")) {
      auto parsed = ParseLogSource(*ls, JoinPath(path, "sigma_logsource"));
      if (!parsed.ok()) return parsed.status();
      t.sigma_logsource = std::move(*parsed);
    }
    std::vector<std::string> action_names;
    if (const YAML::Node* acts = Find(*entries, "actions")) {
      const std::string apath = JoinPath(path, "actions");
      auto list = Entries(*acts, apath, {});
      if (!list.ok()) return list.status();
      if (list->empty()) return Error(*acts, apath, "expected at least one action (or no 'actions' key)");
      for (const Entry& e : *list) {
        const std::string where = JoinPath(apath, e.key);
        if (!IsIdentifier(e.key)) return Error(e.value, where, "action names are lowercase letters, digits and _");
        auto a = Entries(e.value, where, {"description", "sigma_logsource"});
        if (!a.ok()) return a.status();
        ActionSpec spec;
        spec.name = e.key;
        auto adesc = String(*a, "description", e.value, where, true);
        if (!adesc.ok()) return adesc.status();
        spec.description = std::move(*adesc);
        if (const YAML::Node* ls = Find(*a, "sigma_logsource")) {
          auto parsed = ParseLogSource(*ls, JoinPath(where, "sigma_logsource"));
          if (!parsed.ok()) return parsed.status();
          spec.sigma_logsource = std::move(*parsed);
        }
        action_names.push_back(spec.name);
        t.actions.push_back(std::move(spec));
      }
    }
    const YAML::Node* fields = Find(*entries, "fields");
    if (fields == nullptr) return Error(n, path, "missing key 'fields' (use {} for none)");
    FieldContext ctx;
    ctx.type_actions = &action_names;
    auto parsed = ParseFields(*fields, JoinPath(path, "fields"), ctx);
    if (!parsed.ok()) return parsed.status();
    t.fields = std::move(*parsed);
    return t;
  }

 private:
  std::string_view file_;
};

const FieldSpec* FindField(const std::vector<FieldSpec>& fields, std::string_view name) {
  for (const FieldSpec& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The envelope fields the validator itself relies on.
Status CheckEnvelope(const Loader& loader, const YAML::Node& node, const std::vector<FieldSpec>& fields) {
  struct Need {
    std::string_view name;
    FieldType type;
    bool required;
  };
  static constexpr Need kNeeded[] = {{"v", FieldType::kInteger, true},
                                     {"type", FieldType::kString, true},
                                     {"action", FieldType::kString, false},
                                     {"data", FieldType::kObject, true}};
  for (const Need& need : kNeeded) {
    const FieldSpec* f = FindField(fields, need.name);
    if (f == nullptr || f->type != need.type || f->required != need.required) {
      return loader.Error(node, "envelope.fields",
                          "needs '" + std::string(need.name) + "' (" + std::string(FieldTypeName(need.type)) +
                              (need.required ? ", required)" : ", not required)"));
    }
  }
  return Status::Ok();
}

Status ParseDocument(const Loader& loader, const YAML::Node& root, int* version, std::string* envelope_description,
                     std::vector<FieldSpec>* envelope, std::vector<TypeSpec>* types) {
  auto top = loader.Entries(root, "", {"version", "envelope", "types"});
  if (!top.ok()) return top.status();

  const YAML::Node* v = Loader::Find(*top, "version");
  if (v == nullptr) return loader.Error(root, "", "missing key 'version'");
  {
    const std::string s = v->IsScalar() ? v->Scalar() : "";
    int parsed = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || parsed < 1)
      return loader.Error(*v, "version", "expected a positive integer");
    *version = parsed;
  }

  const YAML::Node* env = Loader::Find(*top, "envelope");
  if (env == nullptr) return loader.Error(root, "", "missing key 'envelope'");
  auto env_entries = loader.Entries(*env, "envelope", {"description", "fields"});
  if (!env_entries.ok()) return env_entries.status();
  auto desc = loader.String(*env_entries, "description", *env, "envelope", true);
  if (!desc.ok()) return desc.status();
  *envelope_description = std::move(*desc);
  const YAML::Node* env_fields = Loader::Find(*env_entries, "fields");
  if (env_fields == nullptr) return loader.Error(*env, "envelope", "missing key 'fields'");
  Loader::FieldContext ctx;
  ctx.envelope = true;
  auto fields = loader.ParseFields(*env_fields, "envelope.fields", ctx);
  if (!fields.ok()) return fields.status();
  VIGIL_RETURN_IF_ERROR(CheckEnvelope(loader, *env_fields, *fields));
  *envelope = std::move(*fields);

  const YAML::Node* t = Loader::Find(*top, "types");
  if (t == nullptr) return loader.Error(root, "", "missing key 'types'");
  auto type_entries = loader.Entries(*t, "types", {});
  if (!type_entries.ok()) return type_entries.status();
  if (type_entries->empty()) return loader.Error(*t, "types", "expected at least one type");
  for (const Entry& e : *type_entries) {
    const std::string where = "types." + e.key;
    if (!IsIdentifier(e.key)) return loader.Error(e.value, where, "type names are lowercase letters, digits and _");
    auto type = loader.ParseType(e.value, where, e.key);
    if (!type.ok()) return type.status();
    types->push_back(std::move(*type));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Validation

std::string JsonTypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    default:
      return "a non-JSON value";
  }
}

std::string Dump(const Json& j) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 64) s = s.substr(0, 61) + "...";
  return s;
}

bool IsSimpleKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// "data.kernel", "collectors[0].dropped[\"a b\"]"
std::string KeyPath(const std::string& base, std::string_view key) {
  if (IsSimpleKey(key)) return JoinPath(base, key);
  std::string quoted = Dump(Json(std::string(key)));
  return base + "[" + quoted + "]";
}

bool TypeMatches(FieldType t, const Json& j) {
  switch (t) {
    case FieldType::kString:
      return j.is_string();
    case FieldType::kInteger:
      return j.is_number_integer();
    case FieldType::kNumber:
      return j.is_number();
    case FieldType::kBoolean:
      return j.is_boolean();
    case FieldType::kObject:
    case FieldType::kMap:
      return j.is_object();
    case FieldType::kArray:
      return j.is_array();
  }
  return false;
}

// Where a value sits in the event: a chain of keys and indexes on the caller's stack, rendered
// ("data.nics[0].mtu") only when a problem is reported, so a valid event costs no strings.
struct Path {
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  const Path* parent = nullptr;
  std::string_view key;     // an object key, when index is kNoIndex
  size_t index = kNoIndex;  // an array index

  Path Key(std::string_view k) const { return Path{this, k, kNoIndex}; }
  Path Index(size_t i) const { return Path{this, {}, i}; }
  std::string Render() const {
    if (parent == nullptr) return std::string(key);
    std::string base = parent->Render();
    if (index != kNoIndex) return base + "[" + std::to_string(index) + "]";
    return KeyPath(base, key);
  }
};

class Checker {
 public:
  explicit Checker(size_t max_errors) : max_(std::max<size_t>(max_errors, 1)) {}

  // True once a problem beyond the limit was found: checking stops there.
  bool full() const { return overflow_; }

  void Add(const Path& path, std::string message) { Add(path.Render(), std::move(message)); }
  void Add(std::string path, std::string message) {
    if (errors_.size() >= max_) {
      overflow_ = true;
      return;
    }
    errors_.push_back(ValidationError{std::move(path), std::move(message)});
  }

  std::vector<ValidationError> Finish() && {
    if (overflow_) errors_.push_back(ValidationError{"", "more problems, not listed"});
    return std::move(errors_);
  }

  // `action`: the event's action, or nullptr when it is unknown (no action checks then).
  void Value(const FieldSpec& spec, const Json& value, const Path& path, const std::string* action) {
    if (!TypeMatches(spec.type, value)) {
      Add(path, "expected " + spec.TypeText() + ", got " + JsonTypeName(value));
      return;
    }
    if (!spec.enum_values.empty() &&
        std::find(spec.enum_values.begin(), spec.enum_values.end(), value) == spec.enum_values.end()) {
      std::vector<std::string> allowed;
      for (const Json& e : spec.enum_values) allowed.push_back(Dump(e));
      Add(path, "value " + Dump(value) + " is not one of " + Join(allowed, ", "));
      return;
    }
    switch (spec.type) {
      case FieldType::kObject:
        Object(spec.fields, value, path, action);
        break;
      case FieldType::kArray:
        for (size_t i = 0; i < value.size() && !full(); ++i)
          Value(spec.item(), value[i], path.Index(i), action);
        break;
      case FieldType::kMap:
        for (auto it = value.begin(); it != value.end() && !full(); ++it)
          Value(spec.item(), it.value(), path.Key(it.key()), action);
        break;
      default:
        break;
    }
  }

  void Object(const std::vector<FieldSpec>& fields, const Json& obj, const Path& path, const std::string* action) {
    for (auto it = obj.begin(); it != obj.end() && !full(); ++it) {
      const Path where = path.Key(it.key());
      const FieldSpec* spec = FindField(fields, it.key());
      if (spec == nullptr) {
        Add(where, "unknown field");
        continue;
      }
      if (action != nullptr && !OnAction(*spec, *action)) {
        Add(where, "not allowed on action '" + *action + "' (only " + Join(spec->actions, ", ") + ")");
        continue;
      }
      Value(*spec, it.value(), where, action);
    }
    Presence(fields, obj, path, action);
  }

  // Required fields that are missing, and fields whose companions are missing.
  void Presence(const std::vector<FieldSpec>& fields, const Json& obj, const Path& path, const std::string* action) {
    for (const FieldSpec& f : fields) {
      const bool present = obj.contains(f.name);
      if (!present && f.required && (f.actions.empty() || (action != nullptr && OnAction(f, *action))))
        Add(path.Key(f.name), "missing required field");
      if (present) {
        for (const std::string& r : f.requires_fields) {
          if (!obj.contains(r)) Add(path.Key(r), "missing (required with '" + f.name + "')");
        }
      }
    }
  }

 private:
  static bool OnAction(const FieldSpec& f, const std::string& action) {
    return f.actions.empty() || std::find(f.actions.begin(), f.actions.end(), action) != f.actions.end();
  }

  const size_t max_;
  bool overflow_ = false;
  std::vector<ValidationError> errors_;
};

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kNumber:
      return "number";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kObject:
      return "object";
    case FieldType::kArray:
      return "array";
    case FieldType::kMap:
      return "map";
  }
  return "?";
}

std::string FieldSpec::TypeText() const {
  if ((type == FieldType::kArray || type == FieldType::kMap) && !element.empty())
    return std::string(FieldTypeName(type)) + " of " + item().TypeText();
  return std::string(FieldTypeName(type));
}

std::string LogSource::ToString() const {
  std::vector<std::string> parts;
  if (!category.empty()) parts.push_back("category: " + category);
  if (!product.empty()) parts.push_back("product: " + product);
  if (!service.empty()) parts.push_back("service: " + service);
  return Join(parts, ", ");
}

const ActionSpec* TypeSpec::FindAction(std::string_view action) const {
  for (const ActionSpec& a : actions) {
    if (a.name == action) return &a;
  }
  return nullptr;
}

std::string ValidationError::ToString() const {
  return (path.empty() ? std::string("(event)") : path) + ": " + message;
}

Result<Schema> Schema::Parse(std::string_view yaml_text, std::string_view file_name) {
  Loader loader(file_name);
  Schema s;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root.IsDefined() || root.IsNull())
      return Status::InvalidArgument(std::string(file_name) + ": empty schema file");
    VIGIL_RETURN_IF_ERROR(ParseDocument(loader, root, &s.version_, &s.envelope_description_, &s.envelope_, &s.types_));
  } catch (const YAML::Exception& e) {
    std::string msg(file_name);
    if (!e.mark.is_null()) msg += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    return Status::InvalidArgument(msg + ": YAML syntax: " + e.msg);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string(file_name) + ": " + e.what());
  }
  return s;
}

const TypeSpec* Schema::FindType(std::string_view name) const {
  for (const TypeSpec& t : types_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<ValidationError> Schema::Check(const Json& event, size_t max_errors) const {
  Checker c(max_errors);
  if (!event.is_object()) {
    c.Add("", "expected a JSON object, got " + JsonTypeName(event));
    return std::move(c).Finish();
  }
  const Path root;
  for (auto it = event.begin(); it != event.end() && !c.full(); ++it) {
    const Path where = root.Key(it.key());
    const FieldSpec* spec = FindField(envelope_, it.key());
    if (spec == nullptr) {
      c.Add(where, "unknown field");
    } else if (it.key() == "data") {
      if (!it.value().is_object()) c.Add("data", "expected object, got " + JsonTypeName(it.value()));
    } else {
      c.Value(*spec, it.value(), where, nullptr);
    }
  }
  c.Presence(envelope_, event, root, nullptr);

  if (auto v = event.find("v"); v != event.end() && v->is_number_integer() && *v != Json(version_))
    c.Add("v", "schema version " + Dump(*v) + ", but this schema is version " + std::to_string(version_));

  auto type_it = event.find("type");
  if (type_it == event.end() || !type_it->is_string()) return std::move(c).Finish();
  const TypeSpec* type = FindType(type_it->get_ref<const std::string&>());
  if (type == nullptr) {
    c.Add("type", "unknown event type " + Dump(*type_it));
    return std::move(c).Finish();
  }

  auto action_names = [&] {  // only on an error
    std::vector<std::string> names;
    for (const ActionSpec& a : type->actions) names.push_back(a.name);
    return Join(names, ", ");
  };
  const std::string* action = nullptr;
  static const std::string kNoAction;
  auto action_it = event.find("action");
  if (type->actions.empty()) {
    if (action_it != event.end())
      c.Add("action", "type '" + type->name + "' has no actions");
    else
      action = &kNoAction;
  } else if (action_it == event.end()) {
    c.Add("action", "missing: type '" + type->name + "' needs one of " + action_names());
  } else if (action_it->is_string()) {
    const std::string& name = action_it->get_ref<const std::string&>();
    if (type->FindAction(name) == nullptr) {
      c.Add("action",
            Dump(*action_it) + " is not an action of type '" + type->name + "' (" + action_names() + ")");
    } else {
      action = &name;
    }
  }

  if (auto data = event.find("data"); data != event.end() && data->is_object())
    c.Object(type->fields, *data, root.Key("data"), action);
  return std::move(c).Finish();
}

Status Schema::Validate(const Json& event) const {
  std::vector<ValidationError> errors = Check(event);
  if (errors.empty()) return Status::Ok();
  std::string msg;
  for (const ValidationError& e : errors) {
    if (!msg.empty()) msg += "; ";
    msg += e.ToString();
  }
  return Status::InvalidArgument(std::move(msg));
}

std::string BuiltinSchemaText() {
  const EmbeddedBundle& bundle = BuiltinSchemaBundle();
  return EmbeddedText(bundle, bundle.files.front());
}

Result<Schema> ParseBuiltinSchema() { return Schema::Parse(BuiltinSchemaText(), "schema/events.yml"); }

const Result<Schema>& BuiltinSchema() {
  static const Result<Schema> kSchema = ParseBuiltinSchema();
  return kSchema;
}

}  // namespace vigil::schema
