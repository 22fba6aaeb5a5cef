#include "agent/detect/condition.h"

#include <cctype>
#include <string>

namespace vigil::detect {
namespace {

struct Token {
  enum class Kind { kIdent, kLParen, kRParen, kPipe, kEnd };
  Kind kind;
  std::string_view text;
  size_t col;  // 1-based
};

bool IdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '*';
}

bool GlobMatch(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>& idents) : text_(text), idents_(idents) {}

  Result<CondTree> Run() {
    Status st = Tokenize();
    if (!st.ok()) return st;
    int root = -1;
    st = ParseOr(0, &root);
    if (!st.ok()) return st;
    if (Peek().kind == Token::Kind::kPipe)
      return Error(Peek(), "aggregations ('| count() ...') are not supported: write a correlation rule");
    if (Peek().kind != Token::Kind::kEnd) return Error(Peek(), "expected 'and', 'or' or the end");
    tree_.root = root;
    return std::move(tree_);
  }

 private:
  Status Tokenize() {
    size_t i = 0;
    while (i < text_.size()) {
      char c = text_[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(') {
        toks_.push_back({Token::Kind::kLParen, text_.substr(i, 1), i + 1});
        ++i;
      } else if (c == ')') {
        toks_.push_back({Token::Kind::kRParen, text_.substr(i, 1), i + 1});
        ++i;
      } else if (c == '|') {
        return Status::InvalidArgument("column " + std::to_string(i + 1) +
                                       ": aggregations ('| count() ...') are not supported: write a correlation rule");
      } else if (IdentChar(c)) {
        size_t j = i;
        while (j < text_.size() && IdentChar(text_[j])) ++j;
        toks_.push_back({Token::Kind::kIdent, text_.substr(i, j - i), i + 1});
        i = j;
      } else {
        return Status::InvalidArgument("column " + std::to_string(i + 1) + ": unexpected character '" +
                                       std::string(1, c) + "' in condition");
      }
    }
    toks_.push_back({Token::Kind::kEnd, {}, text_.size() + 1});
    return Status::Ok();
  }

  const Token& Peek() const { return toks_[pos_]; }
  bool IsWord(const Token& t, std::string_view w) const { return t.kind == Token::Kind::kIdent && t.text == w; }

  Status Error(const Token& t, std::string_view what) const {
    std::string got = t.kind == Token::Kind::kEnd ? "the end" : "'" + std::string(t.text) + "'";
    return Status::InvalidArgument("column " + std::to_string(t.col) + ": " + std::string(what) + ", got " + got);
  }

  int Add(CondNode n) {
    tree_.nodes.push_back(std::move(n));
    return static_cast<int>(tree_.nodes.size() - 1);
  }

  Status ParseOr(int depth, int* out) {
    if (depth > kMaxConditionDepth) return Error(Peek(), "condition nested too deeply");
    int first = -1;
    VIGIL_RETURN_IF_ERROR(ParseAnd(depth, &first));
    if (!IsWord(Peek(), "or")) {
      *out = first;
      return Status::Ok();
    }
    CondNode n;
    n.kind = CondNode::Kind::kOr;
    n.children.push_back(first);
    while (IsWord(Peek(), "or")) {
      ++pos_;
      int next = -1;
      VIGIL_RETURN_IF_ERROR(ParseAnd(depth, &next));
      n.children.push_back(next);
    }
    *out = Add(std::move(n));
    return Status::Ok();
  }

  Status ParseAnd(int depth, int* out) {
    int first = -1;
    VIGIL_RETURN_IF_ERROR(ParseNot(depth, &first));
    if (!IsWord(Peek(), "and")) {
      *out = first;
      return Status::Ok();
    }
    CondNode n;
    n.kind = CondNode::Kind::kAnd;
    n.children.push_back(first);
    while (IsWord(Peek(), "and")) {
      ++pos_;
      int next = -1;
      VIGIL_RETURN_IF_ERROR(ParseNot(depth, &next));
      n.children.push_back(next);
    }
    *out = Add(std::move(n));
    return Status::Ok();
  }

  Status ParseNot(int depth, int* out) {
    if (depth > kMaxConditionDepth) return Error(Peek(), "condition nested too deeply");
    if (IsWord(Peek(), "not")) {
      ++pos_;
      int child = -1;
      VIGIL_RETURN_IF_ERROR(ParseNot(depth + 1, &child));
      CondNode n;
      n.kind = CondNode::Kind::kNot;
      n.children.push_back(child);
      *out = Add(std::move(n));
      return Status::Ok();
    }
    return ParsePrimary(depth, out);
  }

  Status ParsePrimary(int depth, int* out) {
    const Token& t = Peek();
    if (t.kind == Token::Kind::kLParen) {
      ++pos_;
      VIGIL_RETURN_IF_ERROR(ParseOr(depth + 1, out));
      if (Peek().kind != Token::Kind::kRParen) return Error(Peek(), "expected ')'");
      ++pos_;
      return Status::Ok();
    }
    if (t.kind == Token::Kind::kPipe)
      return Error(t, "aggregations ('| count() ...') are not supported: write a correlation rule");
    if (t.kind != Token::Kind::kIdent || IsWord(t, "and") || IsWord(t, "or") || IsWord(t, "of"))
      return Error(t, "expected an identifier, '(', 'not', '1 of' or 'all of'");
    if ((t.text == "1" || t.text == "all" || t.text == "any") && IsWord(toks_[pos_ + 1], "of")) {
      if (t.text == "any") return Error(t, "expected '1 of' or 'all of' ('any of' is not Sigma)");
      bool all = t.text == "all";
      pos_ += 2;
      const Token& p = Peek();
      if (p.kind != Token::Kind::kIdent) return Error(p, "expected an identifier pattern or 'them' after 'of'");
      ++pos_;
      std::vector<int> matched;
      for (size_t i = 0; i < idents_.size(); ++i) {
        bool m = p.text == "them" ? !idents_[i].starts_with("_") : GlobMatch(p.text, idents_[i]);
        if (m) {
          CondNode leaf;
          leaf.ident = static_cast<int>(i);
          matched.push_back(Add(std::move(leaf)));
        }
      }
      if (matched.empty()) return Error(p, "the pattern matches no search identifier");
      if (matched.size() == 1) {
        *out = matched[0];
        return Status::Ok();
      }
      CondNode n;
      n.kind = all ? CondNode::Kind::kAnd : CondNode::Kind::kOr;
      n.children = std::move(matched);
      *out = Add(std::move(n));
      return Status::Ok();
    }
    if (IsWord(t, "not")) return Error(t, "expected an identifier");
    if (t.text.find('*') != std::string_view::npos)
      return Error(t, "a wildcard identifier needs '1 of' or 'all of' before it");
    for (size_t i = 0; i < idents_.size(); ++i) {
      if (idents_[i] == t.text) {
        ++pos_;
        CondNode leaf;
        leaf.ident = static_cast<int>(i);
        *out = Add(std::move(leaf));
        return Status::Ok();
      }
    }
    return Status::InvalidArgument("column " + std::to_string(t.col) + ": unknown search identifier '" +
                                   std::string(t.text) + "'");
  }

  std::string_view text_;
  const std::vector<std::string>& idents_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  CondTree tree_;
};

void Print(const CondTree& t, int n, const std::vector<std::string>& idents, std::string* out) {
  const CondNode& node = t.nodes[static_cast<size_t>(n)];
  switch (node.kind) {
    case CondNode::Kind::kIdent:
      *out += idents[static_cast<size_t>(node.ident)];
      return;
    case CondNode::Kind::kNot:
      *out += "(not ";
      Print(t, node.children[0], idents, out);
      *out += ")";
      return;
    case CondNode::Kind::kAnd:
    case CondNode::Kind::kOr:
      *out += "(";
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i) *out += node.kind == CondNode::Kind::kAnd ? " and " : " or ";
        Print(t, node.children[i], idents, out);
      }
      *out += ")";
      return;
  }
}

}  // namespace

std::string CondTree::ToString(const std::vector<std::string>& idents) const {
  std::string out;
  if (root >= 0) Print(*this, root, idents, &out);
  return out;
}

Result<CondTree> ParseCondition(std::string_view text, const std::vector<std::string>& idents) {
  return Parser(text, idents).Run();
}

}  // namespace vigil::detect
