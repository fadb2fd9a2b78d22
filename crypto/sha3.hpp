#pragma once
/// SHA3-256 (FIPS 202). Declared here without any crypto library header; implemented with
/// Crypto++ in sha3.cpp. Pure and deterministic, so engines may use it.
#include <initializer_list>
#include <memory>

#include "protocols/common/bytes.hpp"

namespace bft::crypto {

[[nodiscard]] digest sha3_256(byte_view data);
/// SHA3-256 of the concatenation of the parts.
[[nodiscard]] digest sha3_256(std::initializer_list<byte_view> parts);

/// Incremental SHA3-256. Not thread-safe.
class sha3_hasher {
public:
  sha3_hasher();
  ~sha3_hasher();
  sha3_hasher(const sha3_hasher&) = delete;
  sha3_hasher& operator=(const sha3_hasher&) = delete;
  void update(byte_view data);
  [[nodiscard]] digest finish();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bft::crypto
