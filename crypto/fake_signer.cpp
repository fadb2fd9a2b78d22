#include "crypto/fake_signer.hpp"

namespace bft::crypto {
namespace {

constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::uint64_t keyed_hash(std::uint64_t secret, byte_view m, std::uint64_t lane) {
  std::uint64_t h = mix(secret ^ (lane * 0x9e3779b97f4a7c15ULL)) ^ m.size();
  std::size_t i = 0;
  for (; i + 8 <= m.size(); i += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= std::uint64_t{m[i + k]} << (8 * k);
    h = mix(h ^ w) + 0x632be59bd9b4e019ULL;
  }
  std::uint64_t tail = 0;
  for (int k = 0; i < m.size(); ++i, ++k) tail |= std::uint64_t{m[i]} << (8 * k);
  return mix(h ^ tail ^ 0xff51afd7ed558ccdULL);
}

const char magic[8] = {'f', 'a', 'k', 'e', 'k', 'e', 'y', '!'};

} // namespace

public_key fake_public_key(std::uint64_t secret) {
  public_key k{};
  for (int i = 0; i < 8; ++i) k[i] = static_cast<std::uint8_t>(magic[i]);
  for (int i = 0; i < 8; ++i) k[8 + i] = static_cast<std::uint8_t>(secret >> (8 * i));
  auto check = mix(secret);
  for (int i = 0; i < 8; ++i) k[16 + i] = static_cast<std::uint8_t>(check >> (8 * i));
  return k;
}

fake_signer::fake_signer(std::uint64_t secret) : secret_(secret), key_(fake_public_key(secret)) {}

signature fake_signer::sign(byte_view message) const {
  signature s{};
  for (std::uint64_t lane = 0; lane < 2; ++lane) {
    auto h = keyed_hash(secret_, message, lane);
    for (int i = 0; i < 8; ++i) s[lane * 8 + i] = static_cast<std::uint8_t>(h >> (8 * i));
  }
  return s;
}

bool fake_verifier::verify(const public_key& key, byte_view message, const signature& sig) const {
  for (int i = 0; i < 8; ++i)
    if (key[i] != static_cast<std::uint8_t>(magic[i])) return false;
  std::uint64_t secret = 0;
  for (int i = 0; i < 8; ++i) secret |= std::uint64_t{key[8 + i]} << (8 * i);
  if (fake_public_key(secret) != key) return false;
  return fake_signer(secret).sign(message) == sig;
}

} // namespace bft::crypto
