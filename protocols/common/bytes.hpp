#pragma once
/// Byte containers used throughout: owned `bytes` and borrowed `byte_view`.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bft {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

/// A SHA3-256 digest.
using digest = std::array<std::uint8_t, 32>;

inline byte_view as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// Lower-case hex of any byte range.
std::string to_hex(byte_view b);
/// Parses lower- or upper-case hex; returns false on odd length or a non-hex character.
bool from_hex(std::string_view hex, bytes& out);

} // namespace bft

namespace bft {
/// An ed25519 public key and signature (sizes fixed by RFC 8032).
using public_key = std::array<std::uint8_t, 32>;
using signature = std::array<std::uint8_t, 64>;
} // namespace bft
