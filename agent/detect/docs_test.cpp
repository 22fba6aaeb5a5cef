// docs/rules.md holds the field mapping tables as the schema generates them. Run the test with
// VIGIL_UPDATE_DOCS=1 to rewrite the tables in place after a schema change.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/detect/detect.h"
#include "schema/schema.h"

namespace vigil::detect {
namespace {

constexpr const char* kBegin = "<!-- field-mapping:begin -->\n";
constexpr const char* kEnd = "<!-- field-mapping:end -->";

TEST(Docs, RulesMdHoldsTheGeneratedFieldMapping) {
  std::ifstream in(VIGIL_RULES_MD);
  ASSERT_TRUE(in) << VIGIL_RULES_MD;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  size_t b = doc.find(kBegin), e = doc.find(kEnd);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(e, std::string::npos);
  b += std::string(kBegin).size();
  const auto& schema = schema::BuiltinSchema();
  ASSERT_TRUE(schema.ok());
  std::string expected = FieldMappingMarkdown(*schema);
  if (std::getenv("VIGIL_UPDATE_DOCS")) {
    doc.replace(b, e - b, expected);
    std::ofstream(VIGIL_RULES_MD) << doc;
    return;
  }
  EXPECT_EQ(doc.substr(b, e - b), expected) << "docs/rules.md is out of date: run detect_test with VIGIL_UPDATE_DOCS=1";
}

TEST(Docs, MappingNamesTheSigmaFields) {
  std::string t = FieldMappingMarkdown(*schema::BuiltinSchema());
  EXPECT_NE(t.find("| CommandLine | `cmdline` |"), std::string::npos);
  EXPECT_NE(t.find("| DestinationIp | `remote_ip` |"), std::string::npos);
  EXPECT_NE(t.find("| TargetFilename | `path` |"), std::string::npos);
  EXPECT_NE(t.find("| `login` | `success`, `failure`, `logout` |"), std::string::npos);
}

}  // namespace
}  // namespace vigil::detect
