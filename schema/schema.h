// The event schema: loads schema/events.yml (its format is written out at the top of that
// file) and checks events against it.
//
// One Schema serves the agent's tests, the hub's ingest, the documentation generator and the
// vigil-schema tool. OS-free: it parses text handed to it and never opens a file itself.
//
// Errors are values. Loading fails with InvalidArgument naming the file, the line and the
// path of the offending entry ("events.yml:42: types.process.fields.pid: unknown key 'tpye'").
// Validation returns every problem found (up to a limit), each naming the JSON path of the
// field ("data.nics[2].mtu: expected integer, got string").
//
// A loaded Schema is immutable; Check and Validate may be called from any number of threads
// at once. Validation work is bounded by the size of the event and its recursion by the
// depth of the schema (never by the depth of the event).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/core/embedded.h"
#include "agent/core/status.h"

namespace vigil::schema {

using Json = nlohmann::json;

enum class FieldType { kString, kInteger, kNumber, kBoolean, kObject, kArray, kMap };

// "string", "integer", ... as written in events.yml.
std::string_view FieldTypeName(FieldType type);

struct FieldSpec {
  std::string name;  // the JSON key; empty for array items and map values
  FieldType type = FieldType::kString;
  bool required = false;
  std::string description;
  std::string sigma;                                            // Sigma taxonomy field name; empty when none
  std::vector<std::string> actions;                             // actions it may appear on; empty: all
  std::vector<Json> enum_values;                                // the only values allowed; empty: any
  std::vector<std::string> requires_fields;                     // siblings that must be present with it
  std::vector<FieldSpec> fields;                                // kObject: its fields, in file order
  std::vector<FieldSpec> element;                               // kArray items / kMap values: exactly one entry
  std::vector<std::pair<std::string, std::string>> known_keys;  // kMap: documented keys
  int line = 0;                                                 // 1-based line in the schema file

  // The spec of array items or map values (only for kArray and kMap).
  const FieldSpec& item() const { return element.front(); }
  // "string", "array of string", "map of integer", "array of object".
  std::string TypeText() const;
};

// A Sigma rule's `logsource:`; all empty when the events are not a Sigma log source.
struct LogSource {
  std::string category;
  std::string product;
  std::string service;

  bool empty() const { return category.empty() && product.empty() && service.empty(); }
  // "category: process_creation, product: linux"
  std::string ToString() const;
};

struct ActionSpec {
  std::string name;
  std::string description;
  LogSource sigma_logsource;
};

struct TypeSpec {
  std::string name;
  std::string description;
  std::string collector;
  LogSource sigma_logsource;
  std::vector<ActionSpec> actions;  // empty: events of this type carry no action
  std::vector<FieldSpec> fields;    // the keys of `data`

  const ActionSpec* FindAction(std::string_view action) const;
};

// One problem with one event.
struct ValidationError {
  std::string path;  // JSON path of the field: "seq", "data.pid", "data.nics[0].mtu"; "" for the event
  std::string message;

  // "data.pid: expected integer, got string"
  std::string ToString() const;
};

class Schema {
 public:
  // Parses the text of events.yml. `file_name` is used in error messages only.
  static Result<Schema> Parse(std::string_view yaml_text, std::string_view file_name);

  int version() const { return version_; }
  const std::string& envelope_description() const { return envelope_description_; }
  const std::vector<FieldSpec>& envelope() const { return envelope_; }
  const std::vector<TypeSpec>& types() const { return types_; }  // in file order
  const TypeSpec* FindType(std::string_view name) const;

  // Every problem with `event` (within an object in key order, then missing fields); empty
  // when it is valid. Stops after `max_errors` problems, adding one more that says further
  // problems were not listed.
  std::vector<ValidationError> Check(const Json& event, size_t max_errors = 32) const;

  // OK, or InvalidArgument whose message lists the problems joined by "; ".
  Status Validate(const Json& event) const;

 private:
  int version_ = 0;
  std::string envelope_description_;
  std::vector<FieldSpec> envelope_;
  std::vector<TypeSpec> types_;
};

// The Markdown reference of every event type (docs/events.md). `source_name` is how the
// schema file is named in the "generated from" note.
std::string RenderMarkdown(const Schema& schema, std::string_view source_name);

// schema/events.yml as it was when this library was built, compressed (agent/core/embedded.h).
const EmbeddedBundle& BuiltinSchemaBundle();
// The text of that schema/events.yml.
std::string BuiltinSchemaText();
// BuiltinSchemaText() parsed, each call anew: for a caller that needs it only for a while.
Result<Schema> ParseBuiltinSchema();
// ParseBuiltinSchema(), computed once and kept for the life of the process.
const Result<Schema>& BuiltinSchema();

}  // namespace vigil::schema
