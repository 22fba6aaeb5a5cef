// The filter language: lexer, recursive-descent parser, checks, printer, and the compiler to
// SQL for SQLite and PostgreSQL. The grammar and the semantics are written out in filter.h.
#include "hub/query/filter.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "schema/schema.h"

namespace vigil::hub {
namespace {

// ---------------------------------------------------------------------------------------------
// Characters and words.

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) {
  return IsAsciiLetter(c) || IsDigit(c) || c == '_' || c == '.' || c == '/' || c == ':' || c == '@' || c == '+' ||
         c == '-';
}
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

enum class Keyword { kNone, kAnd, kOr, kNot, kIn, kContains, kStartsWith, kEndsWith, kTrue, kFalse, kNull };

Keyword KeywordOf(std::string_view word) {
  if (word.size() > 10) return Keyword::kNone;
  const std::string w = Lower(word);
  if (w == "and") return Keyword::kAnd;
  if (w == "or") return Keyword::kOr;
  if (w == "not") return Keyword::kNot;
  if (w == "in") return Keyword::kIn;
  if (w == "contains") return Keyword::kContains;
  if (w == "startswith") return Keyword::kStartsWith;
  if (w == "endswith") return Keyword::kEndsWith;
  if (w == "true") return Keyword::kTrue;
  if (w == "false") return Keyword::kFalse;
  if (w == "null") return Keyword::kNull;
  return Keyword::kNone;
}

// -?DIGITS[.DIGITS][(e|E)[+|-]DIGITS]; sets *integer when there is neither fraction nor exponent.
bool IsNumber(std::string_view w, bool* integer) {
  size_t i = 0;
  if (i < w.size() && w[i] == '-') ++i;
  size_t start = i;
  while (i < w.size() && IsDigit(w[i])) ++i;
  if (i == start) return false;
  *integer = true;
  if (i < w.size() && w[i] == '.') {
    ++i;
    start = i;
    while (i < w.size() && IsDigit(w[i])) ++i;
    if (i == start) return false;
    *integer = false;
  }
  if (i < w.size() && (w[i] == 'e' || w[i] == 'E')) {
    ++i;
    if (i < w.size() && (w[i] == '+' || w[i] == '-')) ++i;
    start = i;
    while (i < w.size() && IsDigit(w[i])) ++i;
    if (i == start) return false;
    *integer = false;
  }
  return i == w.size();
}

// [A-Za-z_][A-Za-z0-9_]* { "." [A-Za-z0-9_]+ }
bool IsFieldName(std::string_view w) {
  if (w.empty() || !(IsAsciiLetter(w[0]) || w[0] == '_')) return false;
  bool segment_empty = false;
  for (char c : w) {
    if (c == '.') {
      if (segment_empty) return false;
      segment_empty = true;
    } else if (IsAsciiLetter(c) || IsDigit(c) || c == '_') {
      segment_empty = false;
    } else {
      return false;
    }
  }
  return !segment_empty;
}

std::vector<std::string> SplitDots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return IsDigit(c); });
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not valid (overlong, surrogate,
// beyond U+10FFFF, truncated).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A string as the printer writes it: double-quoted, JSON-style escapes.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Times.

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {  // Howard Hinnant's algorithm
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[*i].
std::optional<int> Digits(std::string_view s, size_t* i, size_t n) {
  if (*i + n > s.size()) return std::nullopt;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!IsDigit(s[*i + k])) return std::nullopt;
    v = v * 10 + (s[*i + k] - '0');
  }
  *i += n;
  return v;
}

// nullopt and *why set on failure.
std::optional<int64_t> Rfc3339(std::string_view s, std::string* why) {
  size_t i = 0;
  auto year = Digits(s, &i, 4);
  if (!year || i >= s.size() || s[i++] != '-') return *why = "expected YYYY-MM-DD at the start", std::nullopt;
  auto month = Digits(s, &i, 2);
  if (!month || i >= s.size() || s[i++] != '-') return *why = "expected YYYY-MM-DD at the start", std::nullopt;
  auto day = Digits(s, &i, 2);
  if (!day) return *why = "expected YYYY-MM-DD at the start", std::nullopt;
  if (*month < 1 || *month > 12) return *why = "month must be 01 to 12", std::nullopt;
  if (*day < 1 || *day > DaysInMonth(*year, *month))
    return *why = "day " + std::to_string(*day) + " is not in that month", std::nullopt;
  int64_t ms = DaysFromCivil(*year, *month, *day) * 86400000;
  if (i == s.size()) return ms;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return *why = "expected 'T' and a time after the date", std::nullopt;
  ++i;
  auto hour = Digits(s, &i, 2);
  if (!hour || i >= s.size() || s[i++] != ':') return *why = "expected HH:MM:SS after the date", std::nullopt;
  auto minute = Digits(s, &i, 2);
  if (!minute || i >= s.size() || s[i++] != ':') return *why = "expected HH:MM:SS after the date", std::nullopt;
  auto second = Digits(s, &i, 2);
  if (!second) return *why = "expected HH:MM:SS after the date", std::nullopt;
  if (*hour > 23 || *minute > 59 || *second > 59) return *why = "time of day out of range", std::nullopt;
  ms += (*hour * 3600LL + *minute * 60LL + *second) * 1000;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t frac_ms = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (i - start < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
      ++i;
    }
    const size_t n = i - start;
    if (n == 0 || n > 9) return *why = "expected 1 to 9 digits of fraction after '.'", std::nullopt;
    for (size_t k = n; k < 3; ++k) frac_ms *= 10;
    ms += frac_ms;
  }
  if (i >= s.size()) return *why = "expected 'Z' or an offset (+HH:MM) after the time", std::nullopt;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    const int sign = s[i] == '+' ? 1 : -1;
    ++i;
    auto oh = Digits(s, &i, 2);
    if (!oh || i >= s.size() || s[i++] != ':') return *why = "expected an offset as +HH:MM", std::nullopt;
    auto om = Digits(s, &i, 2);
    if (!om || *oh > 23 || *om > 59) return *why = "expected an offset as +HH:MM", std::nullopt;
    ms -= sign * (*oh * 3600LL + *om * 60LL) * 1000;
  } else {
    return *why = "expected 'Z' or an offset (+HH:MM) after the time", std::nullopt;
  }
  if (i != s.size()) return *why = "unexpected text after the time", std::nullopt;
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Fields.

enum class FieldKind { kTextColumn, kIntColumn, kTimeColumn, kJson, kSigma };

struct SigmaGroup {
  std::vector<std::string> path;  // from the event root: {"data", "exe"}
  std::vector<std::string> types;
};

using SigmaMap = std::map<std::string, std::vector<SigmaGroup>, std::less<>>;

void CollectSigma(const std::string& type, const std::vector<schema::FieldSpec>& fields, std::vector<std::string>& path,
                  SigmaMap& map) {
  for (const schema::FieldSpec& f : fields) {
    path.push_back(f.name);
    if (!f.sigma.empty()) {
      std::vector<SigmaGroup>& groups = map[f.sigma];
      auto it = std::find_if(groups.begin(), groups.end(), [&](const SigmaGroup& g) { return g.path == path; });
      if (it == groups.end()) {
        groups.push_back({path, {type}});
      } else if (std::find(it->types.begin(), it->types.end(), type) == it->types.end()) {
        it->types.push_back(type);
      }
    }
    if (f.type == schema::FieldType::kObject) CollectSigma(type, f.fields, path, map);
    path.pop_back();
  }
}

const SigmaMap& Sigma() {
  static const SigmaMap kMap = [] {
    SigmaMap map;
    const Result<schema::Schema>& s = schema::BuiltinSchema();
    if (!s.ok()) return map;
    for (const schema::TypeSpec& t : s->types()) {
      std::vector<std::string> path = {"data"};
      CollectSigma(t.name, t.fields, path, map);
    }
    return map;
  }();
  return kMap;
}

struct ResolvedField {
  FieldKind kind = FieldKind::kJson;
  std::string column;                              // the columns
  std::vector<std::string> path;                   // kJson: from the event root
  const std::vector<SigmaGroup>* sigma = nullptr;  // kSigma
};

// Resolves a field name that IsFieldName accepts; nullopt and *why on failure.
std::optional<ResolvedField> Resolve(std::string_view name, std::string* why) {
  static constexpr std::string_view kText[] = {"device", "type", "action", "priority"};
  static constexpr std::string_view kInt[] = {"seq", "count"};
  static constexpr std::string_view kTime[] = {"ts", "received"};
  ResolvedField r;
  for (auto c : kText)
    if (name == c) return r.kind = FieldKind::kTextColumn, r.column = c, r;
  for (auto c : kInt)
    if (name == c) return r.kind = FieldKind::kIntColumn, r.column = c, r;
  for (auto c : kTime)
    if (name == c) return r.kind = FieldKind::kTimeColumn, r.column = c, r;
  std::vector<std::string> segs = SplitDots(name);
  if (segs.size() == 1) {
    auto it = Sigma().find(name);
    if (it != Sigma().end()) {
      r.kind = FieldKind::kSigma;
      r.sigma = &it->second;
      return r;
    }
  }
  if (segs[0] == "body") {
    segs.erase(segs.begin());
  } else if (segs[0] != "data") {
    segs.insert(segs.begin(), "data");
  }
  for (std::string& seg : segs) {
    if (!AllDigits(seg)) continue;
    size_t nz = seg.find_first_not_of('0');
    seg = nz == std::string::npos ? "0" : seg.substr(nz);
    if (seg.size() > 9) {
      *why = "array index " + seg + " in '" + std::string(name) + "' is too large";
      return std::nullopt;
    }
  }
  r.kind = FieldKind::kJson;
  r.path = std::move(segs);
  return r;
}

bool IsStringOp(CompareOp op) {
  return op == CompareOp::kContains || op == CompareOp::kStartsWith || op == CompareOp::kEndsWith;
}
bool IsOrderOp(CompareOp op) {
  return op == CompareOp::kLt || op == CompareOp::kGt || op == CompareOp::kLe || op == CompareOp::kGe;
}

const char* KindText(FilterValue::Kind k) {
  switch (k) {
    case FilterValue::Kind::kString:
      return "a string";
    case FilterValue::Kind::kInteger:
    case FilterValue::Kind::kDecimal:
      return "a number";
    case FilterValue::Kind::kBool:
      return "a boolean";
    case FilterValue::Kind::kNull:
      return "null";
  }
  return "?";
}

// Why `field op value` is refused; "" when it is fine. `op` is never kIn (the caller checks
// each value of a list as kEq).
std::string CheckValue(std::string_view field, const ResolvedField& f, CompareOp op, const FilterValue& v) {
  const std::string q = "'" + std::string(field) + "'";
  const std::string opq = "'" + std::string(CompareOpName(op)) + "'";
  if (IsOrderOp(op) && (v.kind == FilterValue::Kind::kBool || v.kind == FilterValue::Kind::kNull))
    return opq + " takes a number or a string, not " + v.text;
  if (IsStringOp(op) && v.kind != FilterValue::Kind::kString)
    return opq + " takes a string, not " + std::string(KindText(v.kind));
  switch (f.kind) {
    case FieldKind::kTextColumn:
      if (v.kind == FilterValue::Kind::kBool) return q + " is text: compare it with a string, not " + v.text;
      return "";
    case FieldKind::kIntColumn:
      if (IsStringOp(op)) return opq + " needs a text field; " + q + " is a number";
      if (v.kind == FilterValue::Kind::kString || v.kind == FilterValue::Kind::kBool)
        return q + " is a number: compare it with a number, not " + KindText(v.kind);
      return "";
    case FieldKind::kTimeColumn:
      if (IsStringOp(op)) return opq + " needs a text field; " + q + " is a time";
      if (v.kind == FilterValue::Kind::kBool)
        return q + " is a time: compare it with epoch ms or an RFC 3339 time, not " + v.text;
      if (v.kind == FilterValue::Kind::kString) {
        std::string why;
        if (!Rfc3339(v.text, &why))
          return q + " is a time: " + Quote(v.text) + " is not an RFC 3339 time such as \"2026-12-06T10:00:00Z\" (" +
                 why + ")";
      }
      return "";
    case FieldKind::kJson:
    case FieldKind::kSigma:
      return "";
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Lexer.

enum class Tok { kEnd, kLParen, kRParen, kComma, kEq, kNe, kLt, kGt, kLe, kGe, kString, kWord };

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;    // byte offset
  std::string text;  // kString: decoded; kWord: as written; else the punctuation
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  size_t Column(size_t pos) const {
    size_t col = 1;
    for (size_t i = 0; i < pos && i < s_.size(); ++i)
      if ((static_cast<unsigned char>(s_[i]) & 0xC0) != 0x80) ++col;
    return col;
  }

  Status Error(size_t pos, std::string_view what) const {
    return Status::InvalidArgument("column " + std::to_string(Column(pos)) + ": " + std::string(what));
  }

  Result<Token> Next() {
    while (i_ < s_.size() && IsSpace(s_[i_])) ++i_;
    Token t;
    t.pos = i_;
    if (i_ >= s_.size()) return t;
    const char c = s_[i_];
    auto punct = [&](Tok k, size_t n) {
      t.kind = k;
      t.text = std::string(s_.substr(i_, n));
      i_ += n;
      return t;
    };
    switch (c) {
      case '(':
        return punct(Tok::kLParen, 1);
      case ')':
        return punct(Tok::kRParen, 1);
      case ',':
        return punct(Tok::kComma, 1);
      case '=':
        return punct(Tok::kEq, 1);
      case '!':
        if (i_ + 1 < s_.size() && s_[i_ + 1] == '=') return punct(Tok::kNe, 2);
        return Error(i_, "expected '=' after '!' (the operator is '!=')");
      case '<':
        if (i_ + 1 < s_.size() && s_[i_ + 1] == '=') return punct(Tok::kLe, 2);
        return punct(Tok::kLt, 1);
      case '>':
        if (i_ + 1 < s_.size() && s_[i_ + 1] == '=') return punct(Tok::kGe, 2);
        return punct(Tok::kGt, 1);
      case '"':
      case '\'':
        return String(c);
      default:
        break;
    }
    if (IsWordChar(c)) {
      size_t start = i_;
      while (i_ < s_.size() && IsWordChar(s_[i_])) ++i_;
      t.kind = Tok::kWord;
      t.text = std::string(s_.substr(start, i_ - start));
      return t;
    }
    if (static_cast<unsigned char>(c) >= 0x80)
      return Error(i_, "unexpected non-ASCII character outside quotes (quote the value)");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return Error(i_, "unexpected control character");
    return Error(i_, std::string("unexpected character '") + c + "'");
  }

 private:
  Result<uint32_t> Hex4(size_t at) {
    if (at + 4 > s_.size()) return Error(at, "expected four hex digits after \\u");
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char h = s_[at + k];
      v <<= 4;
      if (IsDigit(h))
        v |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<uint32_t>(h - 'A' + 10);
      else
        return Error(at, "expected four hex digits after \\u");
    }
    return v;
  }

  Result<Token> String(char quote) {
    Token t;
    t.kind = Tok::kString;
    t.pos = i_;
    const size_t open = i_++;
    std::string out;
    while (true) {
      if (i_ >= s_.size())
        return Error(open, std::string("unterminated string: expected a closing ") + quote + ", got end of filter");
      const char c = s_[i_];
      if (c == quote) {
        ++i_;
        break;
      }
      if (static_cast<unsigned char>(c) < 0x20)
        return Error(i_, "raw control character in a string (write it as an escape such as \\n)");
      if (c != '\\') {
        out += c;
        ++i_;
        continue;
      }
      const size_t esc = i_;
      if (i_ + 1 >= s_.size()) return Error(esc, "unterminated string: expected an escape after '\\'");
      const char e = s_[i_ + 1];
      i_ += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\'':
          out += '\'';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          auto hi = Hex4(i_);
          if (!hi.ok()) return hi.status();
          i_ += 4;
          uint32_t cp = *hi;
          if (cp == 0) return Error(esc, "\\u0000 is not allowed in a string");
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Error(esc, "lone UTF-16 low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i_ + 1 >= s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u')
              return Error(esc, "UTF-16 high surrogate in \\u escape without a following \\uDC00-\\uDFFF");
            auto lo = Hex4(i_ + 2);
            if (!lo.ok()) return lo.status();
            if (*lo < 0xDC00 || *lo > 0xDFFF)
              return Error(esc, "UTF-16 high surrogate in \\u escape without a following \\uDC00-\\uDFFF");
            i_ += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default: {
          std::string shown = static_cast<unsigned char>(e) >= 0x20 && static_cast<unsigned char>(e) < 0x80
                                  ? std::string(1, e)
                                  : std::string("?");
          return Error(esc, "unknown escape '\\" + shown + "' (known: \\\" \\' \\\\ \\/ \\n \\t \\r \\b \\f \\uXXXX)");
        }
      }
    }
    t.text = std::move(out);
    return t;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Parser.

class Parser {
 public:
  explicit Parser(std::string_view text) : lex_(text) {}

  Result<Filter> Run() {
    VIGIL_RETURN_IF_ERROR(Advance());
    if (tok_.kind == Tok::kEnd) return Filter{};
    auto f = Or();
    if (!f.ok()) return f;
    if (tok_.kind != Tok::kEnd) return Expected("'and', 'or' or end of filter");
    return f;
  }

 private:
  Status Advance() {
    auto t = lex_.Next();
    if (!t.ok()) return t.status();
    tok_ = std::move(t).value();
    return Status::Ok();
  }

  Keyword Kw() const { return tok_.kind == Tok::kWord ? KeywordOf(tok_.text) : Keyword::kNone; }

  std::string Describe(const Token& t) const {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of filter";
      case Tok::kString:
        return "string " + Quote(t.text.size() > 40 ? t.text.substr(0, 40) + "..." : t.text);
      case Tok::kWord:
        return "'" + (t.text.size() > 40 ? t.text.substr(0, 40) + "..." : t.text) + "'";
      default:
        return "'" + t.text + "'";
    }
  }

  Status Expected(std::string_view what) const {
    return lex_.Error(tok_.pos, "expected " + std::string(what) + ", got " + Describe(tok_));
  }

  Status Enter() {
    if (++depth_ > kMaxFilterDepth)
      return lex_.Error(tok_.pos,
                        "nesting deeper than " + std::to_string(kMaxFilterDepth) + " (parentheses and 'not')");
    return Status::Ok();
  }

  Result<Filter> Or() {
    auto first = And();
    if (!first.ok()) return first;
    if (Kw() != Keyword::kOr) return first;
    Filter f;
    f.kind = Filter::Kind::kOr;
    f.children.push_back(std::move(first).value());
    while (Kw() == Keyword::kOr) {
      VIGIL_RETURN_IF_ERROR(Advance());
      auto next = And();
      if (!next.ok()) return next;
      f.children.push_back(std::move(next).value());
    }
    return f;
  }

  Result<Filter> And() {
    auto first = Unary();
    if (!first.ok()) return first;
    if (Kw() != Keyword::kAnd) return first;
    Filter f;
    f.kind = Filter::Kind::kAnd;
    f.children.push_back(std::move(first).value());
    while (Kw() == Keyword::kAnd) {
      VIGIL_RETURN_IF_ERROR(Advance());
      auto next = Unary();
      if (!next.ok()) return next;
      f.children.push_back(std::move(next).value());
    }
    return f;
  }

  Result<Filter> Unary() {
    if (Kw() == Keyword::kNot) {
      VIGIL_RETURN_IF_ERROR(Enter());
      VIGIL_RETURN_IF_ERROR(Advance());
      auto inner = Unary();
      if (!inner.ok()) return inner;
      --depth_;
      Filter f;
      f.kind = Filter::Kind::kNot;
      f.children.push_back(std::move(inner).value());
      return f;
    }
    if (tok_.kind == Tok::kLParen) {
      VIGIL_RETURN_IF_ERROR(Enter());
      const size_t open = tok_.pos;
      VIGIL_RETURN_IF_ERROR(Advance());
      if (tok_.kind == Tok::kRParen) return Expected("a comparison inside '( )'");
      auto inner = Or();
      if (!inner.ok()) return inner;
      if (tok_.kind != Tok::kRParen)
        return Expected("')' to close the '(' at column " + std::to_string(lex_.Column(open)) + " (or 'and', 'or')");
      VIGIL_RETURN_IF_ERROR(Advance());
      --depth_;
      return inner;
    }
    return Comparison();
  }

  Result<Filter> Comparison() {
    if (tok_.kind != Tok::kWord || Kw() != Keyword::kNone) {
      return Expected("a field (such as type, data.exe or Image)");
    }
    bool integer;
    if (!IsFieldName(tok_.text) || IsNumber(tok_.text, &integer)) {
      return lex_.Error(tok_.pos, "expected a field, got '" + tok_.text +
                                      "' (a field is letters, digits, '_' and '.', starting with a letter or '_')");
    }
    Filter f;
    f.kind = Filter::Kind::kCompare;
    f.field = tok_.text;
    const size_t field_pos = tok_.pos;
    std::string why;
    auto resolved = Resolve(f.field, &why);
    if (!resolved) return lex_.Error(field_pos, why);
    VIGIL_RETURN_IF_ERROR(Advance());
    switch (tok_.kind) {
      case Tok::kEq:
        f.op = CompareOp::kEq;
        break;
      case Tok::kNe:
        f.op = CompareOp::kNe;
        break;
      case Tok::kLt:
        f.op = CompareOp::kLt;
        break;
      case Tok::kGt:
        f.op = CompareOp::kGt;
        break;
      case Tok::kLe:
        f.op = CompareOp::kLe;
        break;
      case Tok::kGe:
        f.op = CompareOp::kGe;
        break;
      case Tok::kWord:
        switch (Kw()) {
          case Keyword::kContains:
            f.op = CompareOp::kContains;
            break;
          case Keyword::kStartsWith:
            f.op = CompareOp::kStartsWith;
            break;
          case Keyword::kEndsWith:
            f.op = CompareOp::kEndsWith;
            break;
          case Keyword::kIn:
            f.op = CompareOp::kIn;
            break;
          default:
            return Expected("an operator (= != < > <= >= contains startswith endswith in) after '" + f.field + "'");
        }
        break;
      default:
        return Expected("an operator (= != < > <= >= contains startswith endswith in) after '" + f.field + "'");
    }
    const std::string op_text = tok_.text;
    VIGIL_RETURN_IF_ERROR(Advance());
    if (f.op != CompareOp::kIn) {
      auto v = Value(f.op, op_text);
      if (!v.ok()) return v.status();
      f.values.push_back(std::move(v).value());
      std::string bad = CheckValue(f.field, *resolved, f.op, f.values.back());
      if (!bad.empty()) return lex_.Error(value_pos_, bad);
      return f;
    }
    if (tok_.kind != Tok::kLParen) return Expected("'(' after 'in'");
    VIGIL_RETURN_IF_ERROR(Advance());
    while (true) {
      if (f.values.size() == kMaxInValues)
        return lex_.Error(tok_.pos, "more than " + std::to_string(kMaxInValues) + " values in an 'in' list");
      auto v = Value(CompareOp::kIn, f.values.empty() ? "(" : ",");
      if (!v.ok()) return v.status();
      f.values.push_back(std::move(v).value());
      std::string bad = CheckValue(f.field, *resolved, CompareOp::kEq, f.values.back());
      if (!bad.empty()) return lex_.Error(value_pos_, bad);
      if (tok_.kind == Tok::kComma) {
        VIGIL_RETURN_IF_ERROR(Advance());
        continue;
      }
      if (tok_.kind == Tok::kRParen) break;
      return Expected("',' or ')' in the 'in' list");
    }
    VIGIL_RETURN_IF_ERROR(Advance());
    return f;
  }

  // A value after the operator `op` (written `op_text`).
  Result<FilterValue> Value(CompareOp op, std::string_view op_text) {
    value_pos_ = tok_.pos;
    FilterValue v;
    if (tok_.kind == Tok::kString) {
      v = FilterValue::String(tok_.text);
    } else if (tok_.kind == Tok::kWord) {
      bool integer = false;
      switch (Kw()) {
        case Keyword::kTrue:
          v = FilterValue::Bool(true);
          break;
        case Keyword::kFalse:
          v = FilterValue::Bool(false);
          break;
        case Keyword::kNull:
          v = FilterValue::Null();
          break;
        case Keyword::kNone:
          if (IsNumber(tok_.text, &integer)) {
            if (IsStringOp(op)) {  // `cmdline contains 8080`: the number's text
              v = FilterValue::String(tok_.text);
            } else if (integer) {
              v.kind = FilterValue::Kind::kInteger;
              v.text = tok_.text;
              const char* b = tok_.text.data();
              auto [p, ec] = std::from_chars(b, b + tok_.text.size(), v.integer);
              if (ec != std::errc() || p != b + tok_.text.size())
                return lex_.Error(
                    tok_.pos, "integer " + tok_.text + " is out of range (-2^63 to 2^63-1); quote it to compare text");
            } else {
              v.kind = FilterValue::Kind::kDecimal;
              v.text = tok_.text;
              const char* b = tok_.text.data();
              auto [p, ec] = std::from_chars(b, b + tok_.text.size(), v.decimal);
              if (ec != std::errc() || p != b + tok_.text.size())
                return lex_.Error(tok_.pos, "number " + tok_.text + " is out of range for a double");
            }
          } else {
            v = FilterValue::String(tok_.text);
          }
          break;
        default:
          return Expected("a value after '" + std::string(op_text) + "'");
      }
    } else {
      return Expected("a value after '" + std::string(op_text) + "'");
    }
    VIGIL_RETURN_IF_ERROR(Advance());
    return v;
  }

  Lexer lex_;
  Token tok_;
  int depth_ = 0;
  size_t value_pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Printer.

void Print(const Filter& f, std::string& out);

void PrintChild(const Filter& c, bool parens, std::string& out) {
  if (parens) out += '(';
  Print(c, out);
  if (parens) out += ')';
}

std::string ValueText(const FilterValue& v) { return v.kind == FilterValue::Kind::kString ? Quote(v.text) : v.text; }

void Print(const Filter& f, std::string& out) {
  switch (f.kind) {
    case Filter::Kind::kAll:
      return;
    case Filter::Kind::kCompare:
      out += f.field;
      out += ' ';
      out += CompareOpName(f.op);
      out += ' ';
      if (f.op == CompareOp::kIn) {
        out += '(';
        for (size_t i = 0; i < f.values.size(); ++i) {
          if (i) out += ", ";
          out += ValueText(f.values[i]);
        }
        out += ')';
      } else if (!f.values.empty()) {
        out += ValueText(f.values.front());
      }
      return;
    case Filter::Kind::kAnd:
    case Filter::Kind::kOr:
      for (size_t i = 0; i < f.children.size(); ++i) {
        if (i) out += f.kind == Filter::Kind::kAnd ? " and " : " or ";
        // An and inside an or needs no parentheses; anything else nested does, to keep its shape.
        const Filter& c = f.children[i];
        PrintChild(c, c.kind == Filter::Kind::kOr || (c.kind == Filter::Kind::kAnd && f.kind == Filter::Kind::kAnd),
                   out);
      }
      return;
    case Filter::Kind::kNot:
      out += "not ";
      if (!f.children.empty()) {
        const Filter& c = f.children.front();
        PrintChild(c, c.kind == Filter::Kind::kAnd || c.kind == Filter::Kind::kOr, out);
      }
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiler.

class Compiler {
 public:
  Compiler(SqlDialect dialect, int first_param) : pg_(dialect == SqlDialect::kPostgres), next_(first_param) {}

  Result<std::string> Compile(const Filter& f, int depth) {
    if (depth > kMaxFilterDepth * 4)
      return Status::InvalidArgument("filter nested deeper than " + std::to_string(kMaxFilterDepth));
    switch (f.kind) {
      case Filter::Kind::kAll:
        return std::string("1=1");
      case Filter::Kind::kCompare:
        return CompileCompare(f);
      case Filter::Kind::kNot: {
        if (f.children.size() != 1) return Status::InvalidArgument("'not' needs exactly one operand");
        auto c = Compile(f.children[0], depth + 1);
        if (!c.ok()) return c;
        return "(NOT " + *c + ")";
      }
      case Filter::Kind::kAnd:
      case Filter::Kind::kOr: {
        if (f.children.size() < 2) return Status::InvalidArgument("'and' and 'or' need at least two operands");
        std::vector<std::string> parts;
        for (const Filter& child : f.children) {
          if (child.kind == Filter::Kind::kAll) return Status::InvalidArgument("an empty filter can only stand alone");
          auto c = Compile(child, depth + 1);
          if (!c.ok()) return c;
          parts.push_back(std::move(c).value());
        }
        return Balanced(parts, 0, parts.size(), f.kind == Filter::Kind::kAnd ? " AND " : " OR ");
      }
    }
    return Status::Internal("unknown filter node");
  }

  std::vector<SqlParam> TakeParams() { return std::move(params_); }

  // parts[begin, end) joined by `op` as a balanced tree of parenthesised groups of at most
  // four: SQLite parses a flat chain of n operators n deep, and refuses trees deeper than 1000.
  static std::string Balanced(const std::vector<std::string>& parts, size_t begin, size_t end, const char* op) {
    std::string out = "(";
    if (end - begin <= 4) {
      for (size_t i = begin; i < end; ++i) {
        if (i > begin) out += op;
        out += parts[i];
      }
    } else {
      const size_t mid = begin + (end - begin) / 2;
      out += Balanced(parts, begin, mid, op) + op + Balanced(parts, mid, end, op);
    }
    return out + ")";
  }
  size_t param_count() const { return params_.size(); }

 private:
  Status Budget() {
    if (params_.size() > kMaxFilterParams)
      return Status::InvalidArgument("the filter needs more than " + std::to_string(kMaxFilterParams) +
                                     " parameters; make it shorter");
    return Status::Ok();
  }

  // Adds a parameter; returns its placeholder, with the PostgreSQL cast `pg_cast`.
  std::string Param(SqlParam p, std::string_view pg_cast) {
    params_.push_back(std::move(p));
    const int n = next_++;
    if (!pg_) return "?" + std::to_string(n);
    return "$" + std::to_string(n) + "::" + std::string(pg_cast);
  }

  static std::string OpSql(CompareOp op) {
    switch (op) {
      case CompareOp::kEq:
        return "=";
      case CompareOp::kLt:
        return "<";
      case CompareOp::kGt:
        return ">";
      case CompareOp::kLe:
        return "<=";
      case CompareOp::kGe:
        return ">=";
      default:
        return "=";
    }
  }

  Result<std::string> CompileCompare(const Filter& f) {
    if (!IsFieldName(f.field)) return Status::InvalidArgument("'" + f.field + "' is not a field name");
    std::string why;
    auto r = Resolve(f.field, &why);
    if (!r) return Status::InvalidArgument(why);
    if (f.op == CompareOp::kIn) {
      if (f.values.empty() || f.values.size() > kMaxInValues)
        return Status::InvalidArgument("an 'in' list holds 1 to " + std::to_string(kMaxInValues) + " values");
      std::vector<std::string> parts;
      for (const FilterValue& v : f.values) {
        auto c = One(f.field, *r, CompareOp::kEq, v);
        if (!c.ok()) return c;
        parts.push_back(std::move(c).value());
      }
      return Balanced(parts, 0, parts.size(), " OR ");
    }
    if (f.values.size() != 1) return Status::InvalidArgument("a comparison holds exactly one value");
    if (f.op == CompareOp::kNe) {
      auto c = One(f.field, *r, CompareOp::kEq, f.values[0]);
      if (!c.ok()) return c;
      return "(NOT " + *c + ")";
    }
    return One(f.field, *r, f.op, f.values[0]);
  }

  // One comparison (op is not kNe or kIn), never NULL.
  Result<std::string> One(const std::string& field, const ResolvedField& r, CompareOp op, const FilterValue& v) {
    std::string bad = CheckValue(field, r, op, v);
    if (!bad.empty()) return Status::InvalidArgument(bad);
    Result<std::string> body = std::string();
    switch (r.kind) {
      case FieldKind::kTextColumn:
        body = TextColumn(r.column, op, v);
        break;
      case FieldKind::kIntColumn:
      case FieldKind::kTimeColumn:
        body = IntColumn(r.column, op, v);
        break;
      case FieldKind::kJson:
        body = Json(r.path, op, v);
        break;
      case FieldKind::kSigma: {
        std::string out = "(";
        for (size_t g = 0; g < r.sigma->size(); ++g) {
          const SigmaGroup& group = (*r.sigma)[g];
          if (g) out += " OR ";
          out += "(";
          if (group.types.size() == 1) {
            out += "type = " + Param(group.types[0], "text");
          } else {
            out += "type IN (";
            for (size_t t = 0; t < group.types.size(); ++t) {
              if (t) out += ", ";
              out += Param(group.types[t], "text");
            }
            out += ")";
          }
          auto c = Json(group.path, op, v);
          if (!c.ok()) return c;
          out += " AND " + *c + ")";
        }
        body = out + ")";
        break;
      }
    }
    if (!body.ok()) return body;
    VIGIL_RETURN_IF_ERROR(Budget());
    // Columns are NOT NULL and values are bound, so a column comparison is never NULL; left bare,
    // `device = ?` and `ts >= ?` can use the store's indexes. A JSON access may be NULL.
    if (r.kind != FieldKind::kJson && r.kind != FieldKind::kSigma) return *body;
    return "COALESCE(" + *body + ", 1=0)";
  }

  std::string SubstringTest(const std::string& x, CompareOp op, const std::string& pattern) {
    if (pattern.empty()) return "";
    if (!pg_) {
      std::string p = Param(pattern, "text");
      switch (op) {
        case CompareOp::kContains:
          return "instr(" + x + ", " + p + ") > 0";
        case CompareOp::kStartsWith:
          return "substr(" + x + ", 1, length(" + p + ")) = " + p;
        default:
          return "substr(" + x + ", -length(" + p + ")) = " + p;
      }
    }
    std::string p = Param(pattern, "text");
    switch (op) {
      case CompareOp::kContains:
        return "strpos(" + x + ", " + p + ") > 0";
      case CompareOp::kStartsWith:
        return "left(" + x + ", length(" + p + ")) = " + p;
      default:
        return "right(" + x + ", length(" + p + ")) = " + p;
    }
  }

  Result<std::string> TextColumn(const std::string& col, CompareOp op, const FilterValue& v) {
    if (v.kind == FilterValue::Kind::kNull) {
      if (op != CompareOp::kEq) return Status::InvalidArgument("null takes = or != only");
      return col == "action" ? std::string("(COALESCE(action, '') = '')") : std::string("(1=0)");
    }
    if (IsStringOp(op)) {
      std::string t = SubstringTest(col, op, v.text);
      return t.empty() ? "(" + col + " IS NOT NULL)" : "(" + t + ")";
    }
    const std::string c = pg_ && IsOrderOp(op) ? col + " COLLATE \"C\"" : col;
    return "(" + c + " " + OpSql(op) + " " + Param(v.text, "text") + ")";
  }

  Result<std::string> IntColumn(const std::string& col, CompareOp op, const FilterValue& v) {
    switch (v.kind) {
      case FilterValue::Kind::kNull:
        if (op != CompareOp::kEq) return Status::InvalidArgument("null takes = or != only");
        return std::string("(1=0)");
      case FilterValue::Kind::kInteger:
        return "(" + col + " " + OpSql(op) + " " + Param(v.integer, "bigint") + ")";
      case FilterValue::Kind::kDecimal:
        return "(" + col + " " + OpSql(op) + " " + Param(v.decimal, "float8") + ")";
      case FilterValue::Kind::kString: {
        std::string why;
        auto ms = Rfc3339(v.text, &why);
        if (!ms) return Status::InvalidArgument("'" + col + "': " + Quote(v.text) + " is not an RFC 3339 time");
        return "(" + col + " " + OpSql(op) + " " + Param(static_cast<int64_t>(*ms), "bigint") + ")";
      }
      case FilterValue::Kind::kBool:
        break;
    }
    return Status::InvalidArgument("'" + col + "' is a number");
  }

  // The JSON access expressions of one path, parameters added in text order.
  struct Access {
    std::string type;   // the JSON type name: SQLite json_type (text, integer, real, true, ...)
                        // or PostgreSQL jsonb_typeof (string, number, boolean, ...); NULL when missing
    std::string value;  // SQLite: json_extract; PostgreSQL: the scalar as text
  };

  Access Path(const std::vector<std::string>& path) {
    Access a;
    if (!pg_) {
      std::string p = "$";
      for (const std::string& seg : path) p += AllDigits(seg) ? "[" + seg + "]" : ".\"" + seg + "\"";
      const std::string ph = Param(p, "");
      a.type = "json_type(body, " + ph + ")";
      a.value = "json_extract(body, " + ph + ")";
      return a;
    }
    auto literal = [](const std::vector<std::string>& segs, size_t n) {
      std::string s = "{";
      for (size_t i = 0; i < n; ++i) {
        if (i) s += ',';
        s += "\"" + segs[i] + "\"";
      }
      return s + "}";
    };
    std::string guard;
    for (size_t i = 0; i < path.size(); ++i) {
      if (!AllDigits(path[i])) continue;
      if (!guard.empty()) guard += " AND ";
      guard += "jsonb_typeof(body #> " + Param(literal(path, i), "text[]") + ") = 'array'";
    }
    const std::string ph = Param(literal(path, path.size()), "text[]");
    if (guard.empty()) {
      a.type = "jsonb_typeof(body #> " + ph + ")";
      a.value = "(body #>> " + ph + ")";
    } else {
      const std::string j = "(CASE WHEN " + guard + " THEN body #> " + ph + " END)";
      a.type = "jsonb_typeof(" + j + ")";
      a.value = "(" + j + " #>> '{}')";
    }
    return a;
  }

  Result<std::string> Json(const std::vector<std::string>& path, CompareOp op, const FilterValue& v) {
    const Access a = Path(path);
    switch (v.kind) {
      case FilterValue::Kind::kNull:
        if (op != CompareOp::kEq) return Status::InvalidArgument("null takes = or != only");
        return "(COALESCE(" + a.type + ", 'null') = 'null')";
      case FilterValue::Kind::kBool:
        if (op != CompareOp::kEq) return Status::InvalidArgument("true and false take = or != only");
        if (!pg_) return "(" + a.type + " = " + Param(v.text, "") + ")";
        return "(" + a.type + " = 'boolean' AND " + a.value + " = " + Param(v.text, "text") + ")";
      case FilterValue::Kind::kString: {
        const std::string is_string = a.type + (pg_ ? " = 'string'" : " = 'text'");
        if (IsStringOp(op)) {
          std::string t = SubstringTest(a.value, op, v.text);
          return "(" + is_string + (t.empty() ? "" : " AND " + t) + ")";
        }
        const std::string x = pg_ && IsOrderOp(op) ? a.value + " COLLATE \"C\"" : a.value;
        return "(" + is_string + " AND " + x + " " + OpSql(op) + " " + Param(v.text, "text") + ")";
      }
      case FilterValue::Kind::kInteger:
        if (!pg_)
          return "(" + a.type + " IN ('integer', 'real') AND " + a.value + " " + OpSql(op) + " " +
                 Param(v.integer, "") + ")";
        return "(CASE WHEN " + a.type + " = 'number' THEN " + a.value + "::numeric " + OpSql(op) + " " +
               Param(v.integer, "numeric") + " END)";
      case FilterValue::Kind::kDecimal:
        if (!pg_)
          return "(" + a.type + " IN ('integer', 'real') AND " + a.value + " " + OpSql(op) + " " +
                 Param(v.decimal, "") + ")";
        // float8 as SQLite does; the guard keeps the cast from raising on numbers beyond a double.
        return "(CASE WHEN " + a.type + " = 'number' AND abs(" + a.value + "::numeric) < 1e308 AND (" + a.value +
               "::numeric = 0 OR abs(" + a.value + "::numeric) > 1e-307) THEN " + a.value + "::float8 " + OpSql(op) +
               " " + Param(v.decimal, "float8") + " END)";
    }
    return Status::Internal("unknown value kind");
  }

  bool pg_;
  int next_;
  std::vector<SqlParam> params_;
};

}  // namespace

std::string_view CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGe:
      return ">=";
    case CompareOp::kContains:
      return "contains";
    case CompareOp::kStartsWith:
      return "startswith";
    case CompareOp::kEndsWith:
      return "endswith";
    case CompareOp::kIn:
      return "in";
  }
  return "?";
}

FilterValue FilterValue::String(std::string s) {
  FilterValue v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  return v;
}

FilterValue FilterValue::Integer(int64_t i) {
  FilterValue v;
  v.kind = Kind::kInteger;
  v.integer = i;
  v.text = std::to_string(i);
  return v;
}

FilterValue FilterValue::Bool(bool b) {
  FilterValue v;
  v.kind = Kind::kBool;
  v.boolean = b;
  v.text = b ? "true" : "false";
  return v;
}

FilterValue FilterValue::Null() {
  FilterValue v;
  v.kind = Kind::kNull;
  v.text = "null";
  return v;
}

bool Filter::operator==(const Filter& o) const {
  return kind == o.kind && field == o.field && op == o.op && values == o.values && children == o.children;
}

std::string Filter::ToString() const {
  std::string out;
  Print(*this, out);
  return out;
}

Result<Filter> ParseFilter(std::string_view text) {
  if (text.size() > kMaxFilterBytes)
    return Status::InvalidArgument("the filter is " + std::to_string(text.size()) + " bytes long; at most " +
                                   std::to_string(kMaxFilterBytes) + " are allowed");
  for (size_t i = 0; i < text.size();) {
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return Lexer(text).Error(i, "invalid UTF-8");
    i += n;
  }
  return Parser(text).Run();
}

Result<SqlFilter> CompileFilter(const Filter& filter, SqlDialect dialect, int first_param) {
  if (first_param < 1) return Status::InvalidArgument("first_param must be 1 or more");
  Compiler c(dialect, first_param);
  auto where = c.Compile(filter, 0);
  if (!where.ok()) return where.status();
  SqlFilter out;
  out.where = std::move(where).value();
  out.params = c.TakeParams();
  if (out.params.size() > kMaxFilterParams)
    return Status::InvalidArgument("the filter needs " + std::to_string(out.params.size()) + " parameters; at most " +
                                   std::to_string(kMaxFilterParams) + " are allowed");
  return out;
}

Result<int64_t> ParseRfc3339Ms(std::string_view text) {
  std::string why;
  auto ms = Rfc3339(text, &why);
  if (!ms) return Status::InvalidArgument("time " + Quote(text) + ": " + why);
  return *ms;
}

Result<int64_t> ParseTimeSpec(std::string_view spec, int64_t now_ms) {
  const std::string shown = Quote(spec.substr(0, 64));
  const std::string expected =
      ": expected a duration before now (90s, 30m, 1h, 7d, 2w), an RFC 3339 time (2026-12-06T10:00:00Z), a date "
      "(2026-12-06), epoch milliseconds, or 'now'";
  if (spec.empty()) return Status::InvalidArgument("empty time" + expected);
  if (Lower(spec) == "now") return now_ms;
  if (AllDigits(spec)) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), v);
    if (ec != std::errc() || p != spec.data() + spec.size())
      return Status::InvalidArgument("time " + shown + ": epoch milliseconds out of range");
    return v;
  }
  const char unit = spec.back();
  if (spec.size() >= 2 && AllDigits(spec.substr(0, spec.size() - 1)) && IsAsciiLetter(unit)) {
    int64_t per;
    switch (unit) {
      case 's':
        per = 1000;
        break;
      case 'm':
        per = 60 * 1000;
        break;
      case 'h':
        per = 3600 * 1000;
        break;
      case 'd':
        per = 86400LL * 1000;
        break;
      case 'w':
        per = 7 * 86400LL * 1000;
        break;
      default:
        return Status::InvalidArgument("time " + shown + ": unknown unit '" + std::string(1, unit) +
                                       "' (s, m, h, d or w)");
    }
    int64_t n = 0;
    auto [p, ec] = std::from_chars(spec.data(), spec.data() + spec.size() - 1, n);
    if (ec != std::errc() || n > (INT64_MAX / 2) / per)
      return Status::InvalidArgument("time " + shown + ": duration out of range");
    return now_ms - n * per;
  }
  if (spec.size() >= 10 && IsDigit(spec[0]) && spec[4] == '-') {
    std::string why;
    auto ms = Rfc3339(spec, &why);
    if (!ms) return Status::InvalidArgument("time " + shown + ": " + why);
    return *ms;
  }
  return Status::InvalidArgument("time " + shown + expected);
}

Filter FieldEquals(std::string field, std::string value) {
  Filter f;
  f.kind = Filter::Kind::kCompare;
  f.field = std::move(field);
  f.values.push_back(FilterValue::String(std::move(value)));
  return f;
}

Filter AllOf(std::vector<Filter> terms) {
  Filter f;
  f.kind = Filter::Kind::kAnd;
  f.children = std::move(terms);
  return f;
}

Filter AnyOf(std::vector<Filter> terms) {
  Filter f;
  f.kind = Filter::Kind::kOr;
  f.children = std::move(terms);
  return f;
}

}  // namespace vigil::hub
