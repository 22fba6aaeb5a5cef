// The condition of a Sigma rule's `detection:` (`condition: selection and not filter`), parsed
// into a small tree over the rule's search identifiers.
//
// Grammar (tokens are separated by white space or parentheses; keywords are lower case):
//
//   condition   := or_expr
//   or_expr     := and_expr { "or" and_expr }
//   and_expr    := not_expr { "and" not_expr }
//   not_expr    := "not" not_expr | primary
//   primary     := "(" or_expr ")" | quantifier | IDENT
//   quantifier  := ( "1" | "all" ) "of" ( PATTERN | "them" )
//   IDENT       := [A-Za-z0-9_.-]+ that names a search identifier of the rule's detection
//   PATTERN     := IDENT, optionally with "*" wildcards (any run of characters)
//
// Precedence: not binds tighter than and, which binds tighter than or; and/or are left
// associative. `1 of P` is the or of every identifier matching P, `all of P` their and; a
// pattern matching no identifier is an error. `them` means every identifier except those
// starting with "_" (Sigma's convention for helpers). Aggregations of the old Sigma syntax
// (`| count() by x > 5`) are refused: write a correlation rule instead. Nesting is limited
// to kMaxConditionDepth levels.
//
// OS-free; parsing is a pure function, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/core/status.h"

namespace vigil::detect {

inline constexpr int kMaxConditionDepth = 64;

struct CondNode {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kIdent };
  Kind kind = Kind::kIdent;
  int ident = -1;             // kIdent: index into the identifier list given to ParseCondition
  std::vector<int> children;  // kAnd, kOr: two or more; kNot: one (indices into CondTree::nodes)
};

struct CondTree {
  std::vector<CondNode> nodes;
  int root = -1;

  // Evaluates with `leaf(ident_index)` giving each identifier's value; short-circuits.
  template <typename Leaf>
  bool Eval(const Leaf& leaf) const {
    return EvalNode(root, leaf);
  }
  template <typename Leaf>
  bool EvalNode(int n, const Leaf& leaf) const {
    const CondNode& node = nodes[static_cast<size_t>(n)];
    switch (node.kind) {
      case CondNode::Kind::kIdent:
        return leaf(node.ident);
      case CondNode::Kind::kNot:
        return !EvalNode(node.children[0], leaf);
      case CondNode::Kind::kAnd:
        for (int c : node.children)
          if (!EvalNode(c, leaf)) return false;
        return true;
      case CondNode::Kind::kOr:
        for (int c : node.children)
          if (EvalNode(c, leaf)) return true;
        return false;
    }
    return false;
  }

  // Canonical text, fully parenthesised ("(a and (not b))"), for tests and messages.
  std::string ToString(const std::vector<std::string>& idents) const;
};

// Parses `text` over the rule's search identifiers `idents` (in detection order). Errors are
// InvalidArgument naming the column (1-based) and what was expected: "column 14: unknown
// identifier 'fliter'", "column 1: expected identifier, '(' , 'not', '1 of' or 'all of'".
Result<CondTree> ParseCondition(std::string_view text, const std::vector<std::string>& idents);

}  // namespace vigil::detect
