// Errors as values: Result<T> holds either a T or an Error whose message tells a person
// what happened and, where possible, what to do about it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace hybrid {

// An error: a stable machine-readable code (0 = unspecified; each layer defines its own
// enum and stores it here as an int) and a message written for a person.
struct Error {
  int code = 0;
  std::string message;

  // The same error with context put in front: "tunnel: " + message.
  Error with_context(const std::string& context) const {
    return Error{code, context + ": " + message};
  }
};

inline Error make_error(std::string message, int code = 0) {
  return Error{code, std::move(message)};
}

template <class E>
Error make_error(E code, std::string message) {
  return Error{static_cast<int>(code), std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace hybrid

// Propagates an error: HYBRID_TRY(auto x, parse(...)); or HYBRID_TRY_STATUS(check(...));
#define HYBRID_CONCAT_INNER(a, b) a##b
#define HYBRID_CONCAT(a, b) HYBRID_CONCAT_INNER(a, b)
#define HYBRID_TRY_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                     \
  if (!tmp.ok()) return tmp.error();     \
  decl = std::move(tmp).value()
#define HYBRID_TRY(decl, expr) HYBRID_TRY_IMPL(HYBRID_CONCAT(try_tmp_, __LINE__), decl, expr)
#define HYBRID_TRY_STATUS(expr)                                   \
  do {                                                            \
    auto HYBRID_CONCAT(st_, __LINE__) = (expr);                   \
    if (!HYBRID_CONCAT(st_, __LINE__).ok())                       \
      return HYBRID_CONCAT(st_, __LINE__).error();                \
  } while (0)
