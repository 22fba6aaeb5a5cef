// RenderMarkdown: docs/events.md from a loaded Schema.
#include <string>
#include <vector>

#include "schema/schema.h"

namespace vigil::schema {
namespace {

// Text safe inside a Markdown table cell: one line, pipes escaped.
std::string Cell(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      out.push_back(' ');
    } else if (c == '|') {
      out.append("\\|");
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Code(std::string_view s) {
  // append(), not operator+: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string.
  std::string out;
  out.reserve(s.size() + 2);
  out.append("`").append(s).append("`");
  return out;
}

std::string CodeList(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += Code(items[i]);
  }
  return out;
}

std::string EnumText(const std::vector<Json>& values) {
  std::vector<std::string> items;
  for (const Json& v : values) items.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return CodeList(items);
}

// The description cell: the field's description plus what the schema says about its values.
std::string Describe(const FieldSpec& f) {
  std::string d = f.description;
  const FieldSpec* values = &f;
  while ((values->type == FieldType::kArray || values->type == FieldType::kMap) && !values->element.empty())
    values = &values->item();
  if (!values->enum_values.empty()) d += " One of " + EnumText(values->enum_values) + ".";
  if (!f.requires_fields.empty()) d += " Always with " + CodeList(f.requires_fields) + ".";
  if (!f.known_keys.empty()) {
    d += " Keys include:";
    for (size_t i = 0; i < f.known_keys.size(); ++i) {
      d += (i == 0 ? " " : "; ") + Code(f.known_keys[i].first) + ": " + f.known_keys[i].second;
      while (!d.empty() && d.back() == '.') d.pop_back();
    }
    d += ".";
  }
  return Cell(d);
}

std::string RequiredText(const FieldSpec& f) {
  std::string r = f.required ? "yes" : "no";
  if (!f.actions.empty()) r += " (" + CodeList(f.actions) + " only)";
  return r;
}

// The object fields under `f`, reached through arrays ("[]") and maps (".<key>").
const std::vector<FieldSpec>* NestedFields(const FieldSpec& f, std::string* suffix) {
  const FieldSpec* cur = &f;
  for (;;) {
    if (cur->type == FieldType::kObject) return &cur->fields;
    if (cur->type == FieldType::kArray && !cur->element.empty()) {
      *suffix += "[]";
    } else if (cur->type == FieldType::kMap && !cur->element.empty()) {
      *suffix += ".<key>";
    } else {
      return nullptr;
    }
    cur = &cur->item();
  }
}

void FieldRows(const std::vector<FieldSpec>& fields, const std::string& prefix, bool with_sigma, std::string* out) {
  for (const FieldSpec& f : fields) {
    const std::string path = prefix + f.name;
    *out += "| " + Code(path) + " | " + f.TypeText() + " | " + RequiredText(f) + " | ";
    if (with_sigma) *out += (f.sigma.empty() ? std::string() : Code(f.sigma)) + " | ";
    *out += Describe(f) + " |\n";
    std::string suffix;
    if (const std::vector<FieldSpec>* nested = NestedFields(f, &suffix); nested && !nested->empty())
      FieldRows(*nested, path + suffix + ".", with_sigma, out);
  }
}

bool HasSigma(const std::vector<FieldSpec>& fields) {
  for (const FieldSpec& f : fields) {
    if (!f.sigma.empty()) return true;
    std::string suffix;
    if (const std::vector<FieldSpec>* nested = NestedFields(f, &suffix); nested && HasSigma(*nested)) return true;
  }
  return false;
}

struct SigmaRow {
  std::string sigma, field;
};

void CollectSigma(const std::vector<FieldSpec>& fields, const std::string& prefix, std::vector<SigmaRow>* rows) {
  for (const FieldSpec& f : fields) {
    if (!f.sigma.empty()) rows->push_back({f.sigma, prefix + f.name});
    std::string suffix;
    if (const std::vector<FieldSpec>* nested = NestedFields(f, &suffix))
      CollectSigma(*nested, prefix + f.name + suffix + ".", rows);
  }
}

// "`exec`: category: process_creation, product: linux" for each action that is a log source.
std::string LogSources(const TypeSpec& t) {
  std::vector<std::string> parts;
  if (!t.sigma_logsource.empty()) parts.push_back(t.sigma_logsource.ToString());
  for (const ActionSpec& a : t.actions) {
    if (!a.sigma_logsource.empty()) parts.push_back(Code(a.name) + ": " + a.sigma_logsource.ToString());
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i > 0 ? "; " : "") + parts[i];
  return out;
}

}  // namespace

std::string RenderMarkdown(const Schema& schema, std::string_view source_name) {
  const std::string source(source_name);
  std::string out = "# Event reference\n\n";
  out += "Generated from `" + source + "` by `vigil-schema docs`; do not edit by hand\n";
  out += "(`make docs` regenerates it, and a test fails when it is out of date).\n";
  out += "`vigil-schema validate " + source + " FILE.jsonl` checks events against it.\n\n";
  out += "Schema version " + std::to_string(schema.version()) + ". " + Cell(schema.envelope_description()) + "\n\n";
  out +=
      "A field marked required is in every event of its type (a nested one: whenever the object\n"
      "holding it is). A field that is not listed is an error, in `data` and in every object in it.\n"
      "Arrays of objects are written `name[].field`, maps `name.<key>`.\n\n"
      "| type | actions | collector | Sigma log source |\n|---|---|---|---|\n";
  for (const TypeSpec& t : schema.types()) {
    std::vector<std::string> actions;
    for (const ActionSpec& a : t.actions) actions.push_back(a.name);
    out += "| " + Code(t.name) + " | " + (actions.empty() ? std::string("(none)") : CodeList(actions)) + " | " +
           Code(t.collector) + " | " + Cell(LogSources(t)) + " |\n";
  }

  out += "\n## Envelope\n\n| field | type | required | description |\n|---|---|---|---|\n";
  FieldRows(schema.envelope(), "", false, &out);

  out +=
      "\n## Sigma field names\n\n"
      "Fields that carry a name of the Sigma taxonomy, so that public Sigma rules for the log\n"
      "source run unmodified (the rule's field is looked up under `data`).\n\n"
      "| Sigma field | event field | Sigma log source |\n|---|---|---|\n";
  for (const TypeSpec& t : schema.types()) {
    std::vector<SigmaRow> rows;
    CollectSigma(t.fields, "", &rows);
    for (const SigmaRow& r : rows)
      out += "| " + Code(r.sigma) + " | " + Code(t.name) + " " + Code("data." + r.field) + " | " + Cell(LogSources(t)) +
             " |\n";
  }

  for (const TypeSpec& t : schema.types()) {
    out += "\n## " + Code(t.name) + "\n\n" + Cell(t.description) + "\n\nCollector: " + Code(t.collector) + ".";
    if (!t.sigma_logsource.empty()) out += " Sigma log source: " + t.sigma_logsource.ToString() + ".";
    out += "\n\n";
    if (t.actions.empty()) {
      out += "No action: the event has no `action` key.\n\n";
    } else {
      out += "| action | Sigma log source | description |\n|---|---|---|\n";
      for (const ActionSpec& a : t.actions) {
        out += "| " + Code(a.name) + " | " + Cell(a.sigma_logsource.ToString()) + " | " + Cell(a.description) + " |\n";
      }
      out += "\n";
    }
    if (t.fields.empty()) {
      out += "`data` is an empty object.\n";
      continue;
    }
    const bool sigma = HasSigma(t.fields);
    out += "Fields of `data`:\n\n";
    out += sigma ? "| field | type | required | Sigma | description |\n|---|---|---|---|---|\n"
                 : "| field | type | required | description |\n|---|---|---|---|\n";
    FieldRows(t.fields, "", sigma, &out);
  }
  return out;
}

}  // namespace vigil::schema
