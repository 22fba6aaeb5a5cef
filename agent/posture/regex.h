// Regex: a compiled PCRE2 pattern (Perl syntax, UTF-8 off, 8-bit) for posture rules.
//
// Compiled once when a policy loads and shared by every scan that uses the policy. Matching
// is bounded (PCRE2 match and depth limits), so that a pattern with catastrophic
// backtracking over a long line ends with kError instead of running for minutes. Search is
// thread-safe (match data is per call).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/core/status.h"

namespace vigil::posture {

class Regex {
 public:
  enum class Match { kNo, kYes, kError };

  // InvalidArgument names the offset and PCRE2's reason.
  static Result<std::shared_ptr<const Regex>> Compile(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Searches `text` for the pattern; with `group1`, the first capture group (empty when the
  // pattern has none or it did not take part).
  Match Search(std::string_view text, std::string* group1 = nullptr) const;
  size_t capture_count() const { return captures_; }
  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code*
  size_t captures_ = 0;
};

}  // namespace vigil::posture
