#include "crypto/ed25519.hpp"

#include <sodium.h>

#include <stdexcept>

namespace bft::crypto {

secret_key::~secret_key() { sodium_memzero(bytes_.data(), bytes_.size()); }

void init_sodium() {
  static const int rc = sodium_init();
  if (rc < 0) throw std::runtime_error("libsodium failed to initialise");
}

key_pair generate_key_pair() {
  init_sodium();
  key_pair kp;
  crypto_sign_keypair(kp.pub.data(), kp.sec.bytes().data());
  return kp;
}

key_pair key_pair_from_seed(const std::array<std::uint8_t, 32>& seed) {
  init_sodium();
  key_pair kp;
  crypto_sign_seed_keypair(kp.pub.data(), kp.sec.bytes().data(), seed.data());
  return kp;
}

signature ed25519_signer::sign(byte_view message) const {
  signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), kp_.sec.bytes().data());
  return sig;
}

ed25519_verifier::ed25519_verifier() { init_sodium(); }

bool ed25519_verifier::verify(const public_key& key, byte_view message,
                              const signature& sig) const {
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

} // namespace bft::crypto
