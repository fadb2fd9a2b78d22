#pragma once
/// A fast, deterministic stand-in for ed25519, for the simulator and engine tests only.
/// A fake key is derived from a small secret; a signature is a keyed hash of the message, so
/// a replica that does not hold the secret cannot produce a valid signature for another
/// replica's key (within the simulation). Never use outside tests and the simulator.
#include <cstdint>

#include "crypto/signer.hpp"

namespace bft::crypto {

/// The public key of fake identity `secret` (the secret is recoverable from the key: fine
/// for a simulator, where the verifier must be cheap and stateless).
public_key fake_public_key(std::uint64_t secret);

class fake_signer final : public signer {
public:
  explicit fake_signer(std::uint64_t secret);
  [[nodiscard]] signature sign(byte_view message) const override;
  [[nodiscard]] const public_key& key() const override { return key_; }

private:
  std::uint64_t secret_;
  public_key key_{};
};

class fake_verifier final : public verifier {
public:
  [[nodiscard]] bool verify(const public_key& key, byte_view message,
                            const signature& sig) const override;
};

} // namespace bft::crypto
