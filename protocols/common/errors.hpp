#pragma once
/// Error codes of the whole project and `result<T>`, a value or an error.
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "protocols/common/assert.hpp"

namespace bft {

enum class errc {
  ok = 0,
  truncated,        ///< input ended before the value did
  oversized,        ///< a length prefix exceeds its stated maximum
  wrong_type,       ///< envelope type is not the one expected
  wrong_version,    ///< envelope version is not supported
  trailing_bytes,   ///< bytes left after a complete value
  malformed,        ///< structurally invalid (bad enum, bad count, ...)
  bad_signature,    ///< a signature does not verify
  unknown_signer,   ///< signer is not in the validator set
  duplicate_signer, ///< one signer counted twice in a certificate
  no_quorum,        ///< not enough voting weight
  invalid_config,   ///< configuration failed validation
  io_error,         ///< a file could not be read or written
  insecure_key_file ///< a secret key file is readable by group or others
};

const std::error_category& bft_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), bft_category()};
}

/// An error code with a human-readable detail (which field, which file).
struct error {
  std::error_code code;
  std::string detail;
  error(errc e, std::string d = {}) : code(make_error_code(e)), detail(std::move(d)) {}
  [[nodiscard]] std::string message() const {
    return detail.empty() ? code.message() : code.message() + ": " + detail;
  }
  bool operator==(errc e) const { return code == make_error_code(e); }
};

/// A value of type T or an `error`.
template <class T>
class [[nodiscard]] result {
public:
  result(T v) : v_(std::move(v)) {}
  result(bft::error e) : v_(std::move(e)) {}
  result(errc e) : v_(bft::error{e}) {}
  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & {
    BFT_ASSERT(has_value(), "result holds an error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    BFT_ASSERT(has_value(), "result holds an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    BFT_ASSERT(has_value(), "result holds an error");
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  [[nodiscard]] const bft::error& error() const {
    BFT_ASSERT(!has_value(), "result holds a value");
    return std::get<1>(v_);
  }

private:
  std::variant<T, bft::error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(bft::error e) : e_(std::move(e)), ok_(false) {}
  result(errc e) : e_(e), ok_(false) {}
  [[nodiscard]] bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const bft::error& error() const {
    BFT_ASSERT(!ok_, "result holds a value");
    return e_;
  }

private:
  bft::error e_{errc::ok};
  bool ok_ = true;
};

} // namespace bft

template <>
struct std::is_error_code_enum<bft::errc> : std::true_type {};
