#include "agent/detect/builtin.h"

#include <string>

namespace vigil::detect {

std::vector<RuleSource> BuiltinRuleSources() {
  const EmbeddedBundle& bundle = BuiltinRuleBundle();
  const EmbeddedTexts texts(bundle);
  std::vector<RuleSource> sources;
  for (const EmbeddedFile& f : bundle.files) sources.push_back({std::string(f.name), std::string(texts.Text(f))});
  return sources;
}

std::vector<ListIssue> LoadBuiltinLists(Lists* lists) {
  const EmbeddedBundle& bundle = BuiltinListBundle();
  const EmbeddedTexts texts(bundle);
  std::vector<ListIssue> all;
  for (const EmbeddedFile& f : bundle.files) {
    std::string name(f.name.substr(0, f.name.rfind('.')));
    auto issues = lists->Load(name, texts.Text(f), "builtin:rules/lists/" + std::string(f.name));
    all.insert(all.end(), issues.begin(), issues.end());
  }
  return all;
}

}  // namespace vigil::detect
