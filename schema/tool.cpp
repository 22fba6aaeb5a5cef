// vigil-schema: the event schema on the command line.
//
//   vigil-schema docs SCHEMA                 Markdown reference of every event type (docs/events.md)
//   vigil-schema validate SCHEMA FILE...     check JSON Lines files ('-' for stdin), one event a line
//
// validate prints one line per problem, "FILE:LINE: FIELD: what is wrong", and a summary per
// file on stderr. Exit codes: 0 every event valid, 1 some event invalid, 2 usage error or a
// schema or input file that cannot be read or loaded.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "schema/schema.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return !in.bad();
}

vigil::Result<vigil::schema::Schema> LoadSchema(const std::string& path) {
  std::string text;
  if (!ReadFile(path, &text)) return vigil::Status::NotFound(path + ": cannot read the schema file");
  return vigil::schema::Schema::Parse(text, path);
}

// Validates every line of `in`; returns the number of invalid lines, counting `*events`.
size_t ValidateStream(const vigil::schema::Schema& schema, std::istream& in, const std::string& name, size_t* events) {
  size_t invalid = 0;
  size_t line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    ++*events;
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    auto j = vigil::schema::Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      std::printf("%snot a JSON value\n", where.c_str());
      ++invalid;
      continue;
    }
    const std::vector<vigil::schema::ValidationError> errors = schema.Check(j);
    if (errors.empty()) continue;
    ++invalid;
    for (const auto& e : errors) std::printf("%s%s\n", where.c_str(), e.ToString().c_str());
  }
  return invalid;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vigil-schema: the Vigil event schema (schema/events.yml).\n"
      "Exit codes: 0 success, 1 invalid events, 2 usage error or unreadable schema or input."};
  app.require_subcommand(1);

  std::string docs_schema;
  CLI::App* docs = app.add_subcommand("docs", "Print the Markdown reference of every event type (docs/events.md)");
  docs->add_option("SCHEMA", docs_schema, "The schema file (schema/events.yml)")->required();

  std::string validate_schema;
  std::vector<std::string> files;
  CLI::App* validate = app.add_subcommand(
      "validate", "Validate JSON Lines files of events: one line per problem, FILE:LINE: FIELD: why");
  validate->add_option("SCHEMA", validate_schema, "The schema file (schema/events.yml)")->required();
  validate->add_option("FILE", files, "JSON Lines files, '-' for stdin")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (docs->parsed()) {
    auto schema = LoadSchema(docs_schema);
    if (!schema.ok()) {
      std::fprintf(stderr, "%s\n", std::string(schema.status().message()).c_str());
      return kExitUsage;
    }
    const std::string md = vigil::schema::RenderMarkdown(*schema, docs_schema);
    std::fwrite(md.data(), 1, md.size(), stdout);
    return std::fflush(stdout) == 0 ? kExitOk : kExitUsage;
  }

  auto schema = LoadSchema(validate_schema);
  if (!schema.ok()) {
    std::fprintf(stderr, "%s\n", std::string(schema.status().message()).c_str());
    return kExitUsage;
  }
  bool any_invalid = false;
  bool unreadable = false;
  for (const std::string& file : files) {
    size_t events = 0, invalid = 0;
    if (file == "-") {
      invalid = ValidateStream(*schema, std::cin, "(stdin)", &events);
    } else {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "%s: cannot read\n", file.c_str());
        unreadable = true;
        continue;
      }
      invalid = ValidateStream(*schema, in, file, &events);
    }
    std::fprintf(stderr, "%s: %zu events, %zu invalid\n", file == "-" ? "(stdin)" : file.c_str(), events, invalid);
    any_invalid = any_invalid || invalid > 0;
  }
  std::fflush(stdout);
  if (unreadable) return kExitUsage;
  return any_invalid ? kExitInvalid : kExitOk;
}
