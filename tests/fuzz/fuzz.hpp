#pragma once
/// Helpers shared by the libFuzzer targets (tests/fuzz/*_fuzz.cpp): a check that stops the
/// fuzzer on a broken invariant, and a signer that replays a decoded signature so a decoded
/// frame can be encoded again byte for byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/signer.hpp"
#include "protocols/common/bytes.hpp"

/// Stops the fuzzer (a crash with a reproducer) unless `cond` holds: for invariants that no
/// sanitizer sees, such as a decoded value that does not encode back to its input.
#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) __builtin_trap();                                                                 \
  } while (false)

namespace bft::fuzz {

inline byte_view input(const std::uint8_t* data, std::size_t size) { return {data, size}; }
inline std::string_view input_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// "Signs" every message with one fixed signature: the one a decoded frame carried, so that
/// encoding the decoded message again must give the frame back.
class replay_signer final : public crypto::signer {
public:
  explicit replay_signer(const signature& sig) : sig_(sig) {}
  [[nodiscard]] signature sign(byte_view) const override { return sig_; }
  [[nodiscard]] const public_key& key() const override { return key_; }

private:
  signature sig_;
  public_key key_{};
};

} // namespace bft::fuzz
