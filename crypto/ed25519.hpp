#pragma once
/// ed25519 with libsodium (the header includes no libsodium header).
#include <array>
#include <cstdint>

#include "crypto/signer.hpp"

namespace bft::crypto {

/// libsodium's 64-byte secret key (seed followed by public key). Wiped when destroyed.
class secret_key {
public:
  secret_key() = default;
  explicit secret_key(const std::array<std::uint8_t, 64>& b) : bytes_(b) {}
  secret_key(const secret_key&) = default;
  secret_key& operator=(const secret_key&) = default;
  ~secret_key();
  [[nodiscard]] const std::array<std::uint8_t, 64>& bytes() const { return bytes_; }
  [[nodiscard]] std::array<std::uint8_t, 64>& bytes() { return bytes_; }

private:
  std::array<std::uint8_t, 64> bytes_{};
};

/// Initialises libsodium once; safe to call repeatedly from any thread.
void init_sodium();

struct key_pair {
  public_key pub{};
  secret_key sec;
};

/// A fresh key pair from the system's random source.
key_pair generate_key_pair();
/// The key pair derived from a 32-byte seed (RFC 8032 test vectors use this).
key_pair key_pair_from_seed(const std::array<std::uint8_t, 32>& seed);

class ed25519_signer final : public signer {
public:
  explicit ed25519_signer(key_pair kp) : kp_(std::move(kp)) {}
  [[nodiscard]] signature sign(byte_view message) const override;
  [[nodiscard]] const public_key& key() const override { return kp_.pub; }

private:
  key_pair kp_;
};

class ed25519_verifier final : public verifier {
public:
  ed25519_verifier();
  [[nodiscard]] bool verify(const public_key& key, byte_view message,
                            const signature& sig) const override;
};

} // namespace bft::crypto
