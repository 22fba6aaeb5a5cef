#include "agent/posture/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace vigil::posture {
namespace {

constexpr uint32_t kMatchLimit = 1000000;
constexpr uint32_t kDepthLimit = 10000;

// One match context with the limits, shared (read-only after creation).
pcre2_match_context* Limits() {
  static pcre2_match_context* ctx = [] {
    pcre2_match_context* c = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(c, kMatchLimit);
    pcre2_set_depth_limit(c, kDepthLimit);
    return c;
  }();
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const Regex>> Regex::Compile(std::string_view pattern) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), 0, &err, &off, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    return Status::InvalidArgument("invalid regular expression at offset " + std::to_string(off) + ": " +
                                   reinterpret_cast<const char*>(buf));
  }
  std::shared_ptr<Regex> re(new Regex());
  re->pattern_ = std::string(pattern);
  re->code_ = code;
  uint32_t n = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &n);
  re->captures_ = n;
  return std::shared_ptr<const Regex>(std::move(re));
}

Regex::~Regex() {
  if (code_) pcre2_code_free(static_cast<pcre2_code*>(code_));
}

Regex::Match Regex::Search(std::string_view text, std::string* group1) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  if (md == nullptr) return Match::kError;
  const int rc =
      pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, md, Limits());
  Match result = Match::kNo;
  if (rc >= 0) {
    result = Match::kYes;
    if (group1) {
      group1->clear();
      if (captures_ >= 1 && rc != 1) {
        PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        if (ov[2] != PCRE2_UNSET && ov[3] >= ov[2]) *group1 = std::string(text.substr(ov[2], ov[3] - ov[2]));
      }
    }
  } else if (rc != PCRE2_ERROR_NOMATCH) {
    result = Match::kError;
  }
  pcre2_match_data_free(md);
  return result;
}

}  // namespace vigil::posture
