// Errors as values: Result<T> holds either a T or an Error whose message tells a person
// what happened and, where possible, what to do about it.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace hybrid {

// Error domains. Each layer declares its error enum a domain, in the enum's namespace:
//   enum class QrError { not_fido_url = 1, ... };
//   HYBRID_ERROR_DOMAIN(QrError, "qr")
// An Error built from QrError::bad_cbor then carries (domain "qr", value 3) as a
// std::error_code; e.is(QrError::bad_cbor) and e.as<QrError>() read it back, and a code of
// another domain (or an errno) never reads as one of ours, whatever its number.
template <class E>
class DomainCategory final : public std::error_category {
 public:
  explicit DomainCategory(const char* name) : name_(name) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int value) const override { return std::string(name_) + " error " + std::to_string(value); }

 private:
  const char* name_;
};

#define HYBRID_ERROR_DOMAIN(Enum, domain_name)                            \
  inline const std::error_category& error_category_of(Enum) {             \
    static const ::hybrid::DomainCategory<Enum> category(domain_name);    \
    return category;                                                      \
  }

// An enum that has been declared an error domain with HYBRID_ERROR_DOMAIN.
template <class E>
concept ErrorEnum = std::is_enum_v<E> && requires(E e) {
  { error_category_of(e) } -> std::same_as<const std::error_category&>;
};

template <ErrorEnum E>
std::error_code error_code_of(E e) {
  return std::error_code(static_cast<int>(e), error_category_of(e));
}

// An error: a typed code (which layer's domain, which value; empty when unspecified) and a
// message written for a person.
struct Error {
  std::error_code code;
  std::string message;

  Error() = default;
  Error(std::error_code c, std::string m) : code(c), message(std::move(m)) {}
  template <ErrorEnum E>
  Error(E e, std::string m) : code(error_code_of(e)), message(std::move(m)) {}

  // True when the code is `want` of `want`'s own domain.
  template <ErrorEnum E>
  bool is(E want) const { return code == error_code_of(want); }
  // An errno-style condition (std::errc::no_such_file_or_directory, ...).
  bool is(std::errc want) const { return code == want; }
  // The code as a value of domain E, or nullopt when the code is of another domain.
  template <ErrorEnum E>
  std::optional<E> as() const {
    if (!code || code.category() != error_category_of(E{})) return std::nullopt;
    return static_cast<E>(code.value());
  }

  // The same error with context put in front: "tunnel: " + message.
  Error with_context(const std::string& context) const { return Error{code, context + ": " + message}; }
};

inline Error make_error(std::string message) { return Error{std::error_code{}, std::move(message)}; }

template <ErrorEnum E>
Error make_error(E code, std::string message) {
  return Error{code, std::move(message)};
}

// An error from a failed system call: the errno value in the generic (POSIX) domain.
inline Error errno_error(int errno_value, std::string message) {
  return Error{std::error_code(errno_value, std::generic_category()), std::move(message)};
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
