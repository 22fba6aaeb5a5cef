#include "hub/vuln/version.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

namespace vigil::hub::vuln {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }

// The character at i, or '\0' past the end: the algorithms below are specified on C strings.
char At(std::string_view s, size_t i) { return i < s.size() ? s[i] : '\0'; }

// A run of digits as a number, saturating (far past any real version component) so that long
// runs cannot overflow.
uint64_t DigitsValue(std::string_view digits) {
  constexpr uint64_t kCap = 1'000'000'000'000'000'000ULL;
  uint64_t v = 0;
  for (char c : digits) v = std::min(kCap, v * 10 + static_cast<uint64_t>(c - '0'));
  return v;
}

int Sign(int64_t v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

// ---- dpkg ----

// The weight of one character in a dpkg non-digit run: '~' below the end (0), letters by their
// code, everything else after every letter.
int DpkgOrder(char c) {
  if (c == '\0' || IsDigit(c)) return 0;
  if (c == '~') return -1;
  if (IsAlpha(c)) return static_cast<unsigned char>(c);
  return static_cast<unsigned char>(c) + 256;
}

// Compares an upstream version or a revision, run by run.
int DpkgPartCompare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    while ((i < a.size() && !IsDigit(a[i])) || (j < b.size() && !IsDigit(b[j]))) {
      int ac = DpkgOrder(At(a, i)), bc = DpkgOrder(At(b, j));
      if (ac != bc) return Sign(ac - bc);
      if (i < a.size()) ++i;
      if (j < b.size()) ++j;
    }
    while (At(a, i) == '0') ++i;
    while (At(b, j) == '0') ++j;
    int first_diff = 0;
    while (IsDigit(At(a, i)) && IsDigit(At(b, j))) {
      if (first_diff == 0) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (IsDigit(At(a, i))) return 1;  // a's number has more digits
    if (IsDigit(At(b, j))) return -1;
    if (first_diff != 0) return Sign(first_diff);
  }
  return 0;
}

// Characters dpkg accepts in upstream versions and revisions (besides alphanumerics).
bool DpkgVersionChar(char c) { return IsAlnum(c) || c == '.' || c == '+' || c == '-' || c == '~' || c == ':'; }

// Splits without judging: what CompareDpkg falls back on for a version that does not parse.
DpkgVersion SplitDpkg(std::string_view text) {
  DpkgVersion v;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    std::string_view epoch = text.substr(0, colon);
    if (!epoch.empty() && std::all_of(epoch.begin(), epoch.end(), IsDigit)) v.epoch = DigitsValue(epoch);
    text.remove_prefix(colon + 1);
  }
  if (size_t dash = text.rfind('-'); dash != std::string_view::npos) {
    v.revision = text.substr(dash + 1);
    text = text.substr(0, dash);
  }
  v.upstream = text;
  return v;
}

// ---- apk ----

// Token kinds in the order apk-tools ranks them; kEnd is highest (a version that ends sorts
// below one that goes on, unless what follows is a pre-release suffix).
enum ApkToken { kApkInvalid = -1, kApkDigitOrZero, kApkDigit, kApkLetter, kApkSuffix, kApkSuffixNo, kApkRevision, kApkEnd };

constexpr std::array<std::string_view, 4> kApkPreSuffixes = {"alpha", "beta", "pre", "rc"};
constexpr std::array<std::string_view, 5> kApkPostSuffixes = {"cvs", "svn", "git", "hg", "p"};

struct ApkCursor {
  std::string_view rest;
  ApkToken type = kApkDigit;
};

// Moves past the separator after a token and decides the next token's kind: a letter may only
// follow digits, digits a letter or a suffix, and kinds may not go backwards except '.' after
// digits, a new suffix after a suffix number, digits after a letter.
void ApkNextKind(ApkCursor& c) {
  ApkToken n = kApkInvalid;
  std::string_view& s = c.rest;
  if (s.empty() || s[0] == '\0') {
    n = kApkEnd;
  } else if ((c.type == kApkDigit || c.type == kApkDigitOrZero) && IsLower(s[0])) {
    n = kApkLetter;
  } else if (c.type == kApkLetter && IsDigit(s[0])) {
    n = kApkDigit;
  } else if (c.type == kApkSuffix && IsDigit(s[0])) {
    n = kApkSuffixNo;
  } else {
    if (s[0] == '.') {
      n = kApkDigitOrZero;
    } else if (s[0] == '_') {
      n = kApkSuffix;
    } else if (s[0] == '-') {
      if (s.size() > 1 && s[1] == 'r') {
        n = kApkRevision;
        s.remove_prefix(1);
      }
    }
    s.remove_prefix(1);
  }
  if (n < c.type) {
    bool allowed = (n == kApkDigitOrZero && c.type == kApkDigit) || (n == kApkSuffix && c.type == kApkSuffixNo) ||
                   (n == kApkDigit && c.type == kApkLetter);
    if (!allowed) n = kApkInvalid;
  }
  c.type = n;
}

// Reads the token of the cursor's kind and returns its value. Leading zeros after a '.' make a
// token of their own worth minus their count, so that 1.01 < 1.1 (a fraction, as apk reads it).
int64_t ApkTake(ApkCursor& c) {
  std::string_view& s = c.rest;
  if (s.empty()) {
    c.type = kApkEnd;
    return 0;
  }
  int64_t v = 0;
  size_t i = 0;
  ApkToken next_fixed = kApkInvalid;
  switch (c.type) {
    case kApkDigitOrZero:
      if (s[0] == '0') {
        // A token of minus the zeros before the component's last digit run starts: 1.0 reads
        // (0)(0), 1.05 (0)(5), 1.005 (-1)(5), so 1.005 < 1.05 < 1.5 and 1.00 < 1.0.
        while (i + 1 < s.size() && s[i + 1] == '0') ++i;
        next_fixed = kApkDigit;
        v = -static_cast<int64_t>(i);
        break;
      }
      [[fallthrough]];
    case kApkDigit:
    case kApkSuffixNo:
    case kApkRevision:
      while (i < s.size() && IsDigit(s[i])) ++i;
      v = static_cast<int64_t>(DigitsValue(s.substr(0, i)));
      break;
    case kApkLetter:
      v = static_cast<unsigned char>(s[i++]);
      break;
    case kApkSuffix: {
      bool found = false;
      for (size_t k = 0; k < kApkPreSuffixes.size() && !found; ++k) {
        if (s.starts_with(kApkPreSuffixes[k])) {
          i = kApkPreSuffixes[k].size();
          v = static_cast<int64_t>(k) - static_cast<int64_t>(kApkPreSuffixes.size());
          found = true;
        }
      }
      for (size_t k = 0; k < kApkPostSuffixes.size() && !found; ++k) {
        if (s.starts_with(kApkPostSuffixes[k])) {
          i = kApkPostSuffixes[k].size();
          v = static_cast<int64_t>(k);
          found = true;
        }
      }
      if (found) break;
      c.type = kApkInvalid;
      return -1;
    }
    default:
      c.type = kApkInvalid;
      return -1;
  }
  s.remove_prefix(i);
  if (s.empty()) {
    c.type = kApkEnd;
  } else if (next_fixed != kApkInvalid) {
    c.type = next_fixed;
  } else {
    ApkNextKind(c);
  }
  return v;
}

// ---- rpm ----

// Anything between segments (an embedded NUL included: only the real end ends a version).
bool RpmSeparator(char c) { return !IsAlnum(c) && c != '~' && c != '^'; }

RpmVersion SplitRpm(std::string_view text) {
  RpmVersion v;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    std::string_view epoch = text.substr(0, colon);
    if (!epoch.empty() && std::all_of(epoch.begin(), epoch.end(), IsDigit)) v.epoch = DigitsValue(epoch);
    text.remove_prefix(colon + 1);
  }
  if (size_t dash = text.rfind('-'); dash != std::string_view::npos) {
    v.release = text.substr(dash + 1);
    text = text.substr(0, dash);
  }
  v.version = text;
  return v;
}

}  // namespace

std::string_view VersionSchemeName(VersionScheme s) {
  switch (s) {
    case VersionScheme::kDpkg:
      return "dpkg";
    case VersionScheme::kApk:
      return "apk";
    case VersionScheme::kRpm:
      return "rpm";
  }
  return "dpkg";
}

Result<DpkgVersion> ParseDpkgVersion(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("version '" + std::string(text) + "': " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  if (text.find_first_of(" \t\n\r") != std::string_view::npos) return bad("contains white space");
  DpkgVersion v;
  std::string_view rest = text;
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    std::string_view epoch = rest.substr(0, colon);
    if (epoch.empty()) return bad("empty epoch");
    if (!std::all_of(epoch.begin(), epoch.end(), IsDigit)) return bad("epoch is not a number");
    if (epoch.size() > 10 || DigitsValue(epoch) > 2147483647ULL) return bad("epoch is too big");
    v.epoch = DigitsValue(epoch);
    rest.remove_prefix(colon + 1);
    if (rest.empty()) return bad("nothing after the epoch");
  }
  if (size_t dash = rest.rfind('-'); dash != std::string_view::npos) {
    v.revision = rest.substr(dash + 1);
    if (v.revision.empty()) return bad("empty revision");
    rest = rest.substr(0, dash);
  }
  if (rest.empty()) return bad("empty upstream version");
  v.upstream = rest;
  for (char c : v.upstream) {
    if (!DpkgVersionChar(c)) return bad(std::string("invalid character '") + c + "' in the upstream version");
  }
  for (char c : v.revision) {
    if (!IsAlnum(c) && c != '.' && c != '+' && c != '~') {
      return bad(std::string("invalid character '") + c + "' in the revision");
    }
  }
  return v;
}

int CompareDpkgParts(const DpkgVersion& a, const DpkgVersion& b) {
  if (a.epoch != b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (int c = DpkgPartCompare(a.upstream, b.upstream); c != 0) return c;
  return DpkgPartCompare(a.revision, b.revision);
}

int CompareDpkg(std::string_view a, std::string_view b) { return CompareDpkgParts(SplitDpkg(a), SplitDpkg(b)); }

Status ValidateApkVersion(std::string_view text) {
  // number{.number}...{letter}{_suffix{number}}...{-rN}, checked by hand (apk's tokenizer lets
  // a few malformed strings through, such as "1.0-r" or "a1").
  size_t i = 0;
  auto fail = [&](std::string_view why) {
    return Status::InvalidArgument("version '" + std::string(text) + "': " + std::string(why) + " at offset " +
                                   std::to_string(i));
  };
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    return i > start;
  };
  if (!digits()) return fail("a number expected");
  while (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return fail("a number expected after '.'");
  }
  if (i < text.size() && IsLower(text[i])) ++i;
  while (i < text.size() && text[i] == '_') {
    ++i;
    bool known = false;
    for (auto list : {std::span<const std::string_view>(kApkPreSuffixes), std::span<const std::string_view>(kApkPostSuffixes)}) {
      for (std::string_view suffix : list) {
        if (!known && text.substr(i).starts_with(suffix)) {
          i += suffix.size();
          known = true;
        }
      }
    }
    if (!known) return fail("unknown suffix");
    digits();
  }
  if (i < text.size() && text.substr(i).starts_with("-r")) {
    i += 2;
    if (!digits()) return fail("a revision number expected after -r");
  }
  if (i != text.size()) return fail("unexpected character");
  return Status::Ok();
}

int CompareApk(std::string_view a, std::string_view b) {
  ApkCursor ca{a, kApkDigit}, cb{b, kApkDigit};
  int64_t av = 0, bv = 0;
  while (ca.type == cb.type && ca.type != kApkEnd && ca.type != kApkInvalid && av == bv) {
    av = ApkTake(ca);
    bv = ApkTake(cb);
  }
  if (av != bv) return av < bv ? -1 : 1;
  if (ca.type == cb.type) return 0;
  // Equal so far: the version that goes on is newer, unless it goes on with a pre-release
  // suffix (_alpha, _beta, _pre, _rc).
  if (ca.type == kApkSuffix) {
    ApkCursor peek = ca;
    if (ApkTake(peek) < 0) return -1;
  }
  if (cb.type == kApkSuffix) {
    ApkCursor peek = cb;
    if (ApkTake(peek) < 0) return 1;
  }
  if (ca.type > cb.type) return -1;
  if (cb.type > ca.type) return 1;
  return 0;
}

Result<RpmVersion> ParseRpmVersion(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("version '': empty");
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    std::string_view epoch = text.substr(0, colon);
    if (epoch.empty() || !std::all_of(epoch.begin(), epoch.end(), IsDigit)) {
      return Status::InvalidArgument("version '" + std::string(text) + "': epoch is not a number");
    }
  }
  RpmVersion v = SplitRpm(text);
  if (v.version.empty()) return Status::InvalidArgument("version '" + std::string(text) + "': empty version");
  return v;
}

int RpmVerCmp(std::string_view a, std::string_view b) {
  if (a == b) return 0;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    while (i < a.size() && RpmSeparator(a[i])) ++i;
    while (j < b.size() && RpmSeparator(b[j])) ++j;
    char ca = At(a, i), cb = At(b, j);
    if (ca == '~' || cb == '~') {  // before everything, even the end
      if (ca != '~') return 1;
      if (cb != '~') return -1;
      ++i;
      ++j;
      continue;
    }
    if (ca == '^' || cb == '^') {  // after the end, before anything else
      if (ca == '\0') return -1;
      if (cb == '\0') return 1;
      if (ca != '^') return 1;
      if (cb != '^') return -1;
      ++i;
      ++j;
      continue;
    }
    if (ca == '\0' || cb == '\0') break;
    size_t ei = i, ej = j;
    bool numeric = IsDigit(ca);
    auto in_segment = numeric ? IsDigit : IsAlpha;
    while (ei < a.size() && in_segment(a[ei])) ++ei;
    while (ej < b.size() && in_segment(b[ej])) ++ej;
    if (ej == j) return numeric ? 1 : -1;  // segments of different kinds: the number is newer
    std::string_view sa = a.substr(i, ei - i), sb = b.substr(j, ej - j);
    if (numeric) {
      while (sa.size() > 1 && sa[0] == '0') sa.remove_prefix(1);
      while (sb.size() > 1 && sb[0] == '0') sb.remove_prefix(1);
      if (sa.size() != sb.size()) return sa.size() > sb.size() ? 1 : -1;
    }
    if (int c = sa.compare(sb); c != 0) return c < 0 ? -1 : 1;
    i = ei;
    j = ej;
  }
  bool a_done = i >= a.size(), b_done = j >= b.size();
  if (a_done && b_done) return 0;
  return a_done ? -1 : 1;
}

int CompareRpm(std::string_view a, std::string_view b) {
  RpmVersion va = SplitRpm(a), vb = SplitRpm(b);
  if (va.epoch != vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  if (int c = RpmVerCmp(va.version, vb.version); c != 0) return c;
  if (va.release.empty() || vb.release.empty()) return 0;
  return RpmVerCmp(va.release, vb.release);
}

int CompareVersions(VersionScheme scheme, std::string_view a, std::string_view b) {
  switch (scheme) {
    case VersionScheme::kDpkg:
      return CompareDpkg(a, b);
    case VersionScheme::kApk:
      return CompareApk(a, b);
    case VersionScheme::kRpm:
      return CompareRpm(a, b);
  }
  return 0;
}

Status ValidateVersion(VersionScheme scheme, std::string_view text) {
  switch (scheme) {
    case VersionScheme::kDpkg:
      return ParseDpkgVersion(text).status();
    case VersionScheme::kApk:
      return ValidateApkVersion(text);
    case VersionScheme::kRpm:
      return ParseRpmVersion(text).status();
  }
  return Status::Ok();
}

}  // namespace vigil::hub::vuln
