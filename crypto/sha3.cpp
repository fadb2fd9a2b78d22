#include "crypto/sha3.hpp"

#include <cryptopp/sha3.h>

namespace bft::crypto {

struct sha3_hasher::impl {
  CryptoPP::SHA3_256 h;
};

sha3_hasher::sha3_hasher() : impl_(std::make_unique<impl>()) {}
sha3_hasher::~sha3_hasher() = default;

void sha3_hasher::update(byte_view data) { impl_->h.Update(data.data(), data.size()); }

digest sha3_hasher::finish() {
  digest out{};
  impl_->h.Final(out.data());
  return out;
}

digest sha3_256(byte_view data) {
  CryptoPP::SHA3_256 h;
  digest out{};
  h.CalculateDigest(out.data(), data.data(), data.size());
  return out;
}

digest sha3_256(std::initializer_list<byte_view> parts) {
  CryptoPP::SHA3_256 h;
  for (auto p : parts) h.Update(p.data(), p.size());
  digest out{};
  h.Final(out.data());
  return out;
}

} // namespace bft::crypto
