#pragma once
/// Signer and verifier interfaces. This header includes no crypto library: protocols and
/// tests use it, and tests may plug in a fake (see crypto/fake_signer.hpp).
#include "protocols/common/bytes.hpp"

namespace bft::crypto {

/// Signs with one secret key. Implementations are immutable after construction, so one
/// instance may be used from several threads.
class signer {
public:
  virtual ~signer() = default;
  [[nodiscard]] virtual signature sign(byte_view message) const = 0;
  [[nodiscard]] virtual const public_key& key() const = 0;
};

/// Verifies signatures of any key. Stateless; thread-safe.
class verifier {
public:
  virtual ~verifier() = default;
  [[nodiscard]] virtual bool verify(const public_key& key, byte_view message,
                                    const signature& sig) const = 0;
};

} // namespace bft::crypto
