#pragma once
/// Transactions of the built-in key/value application and their results, with a small
/// canonical encoding (protocols/common/codec.hpp): one encoding per value, decode never reads
/// past its buffer and rejects anything malformed.
///
/// tx     = envelope{kv_tx_type, 1} | u8 op | blob key | op-specific fields
///   put  : blob value
///   get  : (nothing)
///   del  : (nothing)
///   cas  : bool has_expected | [blob expected] | blob value
/// result = envelope{kv_result_type, 1} | u8 status | bool has_value | [blob value]
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/errors.hpp"

namespace bft::smr {

inline constexpr std::uint16_t kv_tx_type = 0x5301;
inline constexpr std::uint16_t kv_result_type = 0x5302;
inline constexpr std::size_t max_key_bytes = 1024;
inline constexpr std::size_t max_value_bytes = 64 * 1024;

enum class kv_op : std::uint8_t { put = 1, get = 2, del = 3, cas = 4 };

/// One KV transaction. Plain value type.
struct kv_tx {
  kv_op op = kv_op::get;
  std::string key;
  std::string value;                   ///< put, cas: the new value
  std::optional<std::string> expected; ///< cas: the required current value; nullopt = absent

  static kv_tx put(std::string k, std::string v) {
    return {kv_op::put, std::move(k), std::move(v), std::nullopt};
  }
  static kv_tx get(std::string k) { return {kv_op::get, std::move(k), {}, std::nullopt}; }
  static kv_tx del(std::string k) { return {kv_op::del, std::move(k), {}, std::nullopt}; }
  static kv_tx cas(std::string k, std::optional<std::string> expected, std::string v) {
    return {kv_op::cas, std::move(k), std::move(v), std::move(expected)};
  }

  [[nodiscard]] bytes encode() const;
  static result<kv_tx> decode(byte_view b);
  friend bool operator==(const kv_tx&, const kv_tx&) = default;
};

enum class kv_status : std::uint8_t {
  ok = 0,           ///< applied (put, del of a present key, cas that matched, get of a present key)
  not_found = 1,    ///< get or del of an absent key
  cas_mismatch = 2, ///< cas whose expectation did not hold; `value` holds the current value
  malformed = 3,    ///< the transaction did not decode; nothing changed
};

/// What one transaction did. `value` is the read value (get), or the current value on a cas
/// mismatch.
struct kv_result {
  kv_status status = kv_status::ok;
  std::optional<std::string> value;

  [[nodiscard]] bytes encode() const;
  static result<kv_result> decode(byte_view b);
  friend bool operator==(const kv_result&, const kv_result&) = default;
};

const char* to_string(kv_status s);

} // namespace bft::smr
