#include "agent/detect/condition.h"

#include <gtest/gtest.h>

namespace vigil::detect {
namespace {

const std::vector<std::string> kIdents = {"selection", "filter", "sel_a", "sel_b", "_helper", "keywords"};

std::string Parse(std::string_view text) {
  auto t = ParseCondition(text, kIdents);
  if (!t.ok()) return "ERROR " + std::string(t.status().message());
  return t->ToString(kIdents);
}

TEST(Condition, SingleIdentifier) { EXPECT_EQ(Parse("selection"), "selection"); }

TEST(Condition, NotBindsTighterThanAndTighterThanOr) {
  EXPECT_EQ(Parse("selection or filter and not sel_a"), "(selection or (filter and (not sel_a)))");
  EXPECT_EQ(Parse("not selection and filter"), "((not selection) and filter)");
  EXPECT_EQ(Parse("selection and filter or sel_a and sel_b"), "((selection and filter) or (sel_a and sel_b))");
}

TEST(Condition, ParenthesesOverridePrecedence) {
  EXPECT_EQ(Parse("(selection or filter) and not (sel_a or sel_b)"),
            "((selection or filter) and (not (sel_a or sel_b)))");
  EXPECT_EQ(Parse("not not selection"), "(not (not selection))");
}

TEST(Condition, OneOfAndAllOfPatterns) {
  EXPECT_EQ(Parse("1 of sel_*"), "(sel_a or sel_b)");
  EXPECT_EQ(Parse("all of sel_*"), "(sel_a and sel_b)");
  EXPECT_EQ(Parse("1 of sel_* and not filter"), "((sel_a or sel_b) and (not filter))");
  EXPECT_EQ(Parse("all of sel*"), "(selection and sel_a and sel_b)");
  EXPECT_EQ(Parse("1 of filter"), "filter");
}

TEST(Condition, ThemExcludesUnderscoreIdentifiers) {
  EXPECT_EQ(Parse("1 of them"), "(selection or filter or sel_a or sel_b or keywords)");
  EXPECT_EQ(Parse("all of them"), "(selection and filter and sel_a and sel_b and keywords)");
}

TEST(Condition, EvaluatesWithShortCircuit) {
  auto t = ParseCondition("selection and not filter", kIdents);
  ASSERT_TRUE(t.ok());
  int calls = 0;
  EXPECT_FALSE(t->Eval([&](int i) {
    ++calls;
    return i == 1;  // selection false
  }));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(t->Eval([&](int i) { return i == 0; }));
}

TEST(Condition, ErrorsNameTheColumn) {
  EXPECT_EQ(Parse("selection and fliter"), "ERROR column 15: unknown search identifier 'fliter'");
  EXPECT_NE(Parse("selection and").find("column 14"), std::string::npos);
  EXPECT_NE(Parse("(selection").find("expected ')'"), std::string::npos);
  EXPECT_NE(Parse("selection filter").find("column 11"), std::string::npos);
  EXPECT_NE(Parse("1 of nothing_*").find("matches no search identifier"), std::string::npos);
  EXPECT_NE(Parse("sel_*").find("needs '1 of'"), std::string::npos);
  EXPECT_NE(Parse("selection | count() by User > 5").find("correlation rule"), std::string::npos);
  EXPECT_NE(Parse("any of them").find("'any of' is not Sigma"), std::string::npos);
  EXPECT_NE(Parse("selection & filter").find("unexpected character '&'"), std::string::npos);
  EXPECT_NE(Parse("").find("expected an identifier"), std::string::npos);
  EXPECT_NE(Parse("and").find("column 1"), std::string::npos);
}

TEST(Condition, DeepNestingIsRefused) {
  std::string deep(200, '(');
  deep += "selection";
  deep += std::string(200, ')');
  EXPECT_NE(Parse(deep).find("nested too deeply"), std::string::npos);
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  EXPECT_NE(Parse(nots + "selection").find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace vigil::detect
