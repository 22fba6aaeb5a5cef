#include "agent/sbom/os_release.h"

#include <gtest/gtest.h>

namespace vigil::sbom {
namespace {

TEST(OsRelease, ReadsQuotedAndUnquotedValues) {
  const ParsedOsRelease r = ParseOsRelease(
      "# c\nNAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME='Alpine Linux v3.19'\n"
      "VERSION_CODENAME=\"a \\\"b\\\" \\$c\"\n\n",
      "/etc/os-release");
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.os.id, "alpine");
  EXPECT_EQ(r.os.version_id, "3.19.1");
  EXPECT_EQ(r.os.name, "Alpine Linux");
  EXPECT_EQ(r.os.pretty_name, "Alpine Linux v3.19");
  EXPECT_EQ(r.os.version_codename, "a \"b\" $c");
}

TEST(OsRelease, MalformedLinesAreReportedAndSkipped) {
  const ParsedOsRelease r =
      ParseOsRelease("ID=openwrt\nnot a pair\n1BAD=x\nNAME=\"unterminated\nVERSION_ID=two words\nVERSION_ID=23.05.2\n",
                     "os-release");
  EXPECT_EQ(r.os.id, "openwrt");
  EXPECT_EQ(r.os.version_id, "23.05.2");
  EXPECT_EQ(r.os.name, "");
  ASSERT_EQ(r.issues.size(), 4u);
  EXPECT_EQ(r.issues[0].ToString(), "os-release:2: not KEY=value");
  EXPECT_EQ(r.issues[1].line, 3u);
  EXPECT_EQ(r.issues[2].line, 4u);
  EXPECT_EQ(r.issues[3].line, 5u);
}

}  // namespace
}  // namespace vigil::sbom
