// Status and Result<T>: errors as values.
//
// A function that can fail returns Status (no value) or Result<T> (a value or an error).
// Exceptions never cross a module boundary: code that calls a throwing third-party library
// catches at its edge and returns a Status whose message names what failed (file, line, key).
//
// Both types are cheap to move; an OK Status holds no allocation.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vigil {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad input: a config, a rule, a malformed record
    kNotFound,         // a file, a key, a process that is not there
    kPermissionDenied,
    kUnavailable,      // a kernel interface or service not offered here; try a fallback
    kIoError,
    kCorruption,       // stored data that fails its own checks
    kInternal,
  };

  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status PermissionDenied(std::string msg) { return Status(Code::kPermissionDenied, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : std::string_view(); }

  // "NotFound: /proc/42/exe" style; "OK" when ok.
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>"; OK stays OK.
  Status WithContext(std::string_view prefix) const;

  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, std::string msg) : rep_(std::make_unique<Rep>(Rep{code, std::move(msg)})) {}
  std::unique_ptr<Rep> rep_;
};

// A value of type T, or a non-OK Status explaining why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T value_or(T fallback) const& { return ok() ? std::get<T>(v_) : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

// Returns early from the enclosing function with the Status of `expr` if it is not OK.
#define VIGIL_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::vigil::Status _st = (expr);          \
    if (!_st.ok()) return _st;             \
  } while (0)

// `lhs = value of expr` (lhs may declare: `VIGIL_ASSIGN_OR_RETURN(auto x, F())`), or returns
// early with its Status when the Result of `expr` is not OK.
#define VIGIL_ASSIGN_OR_RETURN(lhs, expr) VIGIL_ASSIGN_OR_RETURN_IMPL_(VIGIL_CONCAT_(_result_, __LINE__), lhs, expr)
#define VIGIL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)
#define VIGIL_CONCAT_(a, b) VIGIL_CONCAT_IMPL_(a, b)
#define VIGIL_CONCAT_IMPL_(a, b) a##b

}  // namespace vigil
