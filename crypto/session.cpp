#include "crypto/session.hpp"

#include <sodium.h>

#include "crypto/ed25519.hpp"
#include "protocols/common/assert.hpp"

namespace bft::crypto {

using state_t = crypto_secretstream_xchacha20poly1305_state;
static_assert(sizeof(state_t) <= 64, "secretstream state fits the opaque buffer");
static_assert(crypto_kx_PUBLICKEYBYTES == kx_key_bytes && crypto_kx_SECRETKEYBYTES == kx_key_bytes);
static_assert(crypto_kx_SESSIONKEYBYTES == 32);
static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == 32);
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == stream_header_bytes);
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == stream_overhead);

kx_keypair::~kx_keypair() { sodium_memzero(sec.data(), sec.size()); }

kx_keypair kx_generate() {
  init_sodium();
  kx_keypair kp;
  crypto_kx_keypair(kp.pub.data(), kp.sec.data());
  return kp;
}

std::optional<kx_session> kx_client_keys(const kx_keypair& mine, const kx_public& server) {
  kx_session s;
  if (crypto_kx_client_session_keys(s.rx.data(), s.tx.data(), mine.pub.data(), mine.sec.data(),
                                    server.data()) != 0)
    return std::nullopt;
  return s;
}

std::optional<kx_session> kx_server_keys(const kx_keypair& mine, const kx_public& client) {
  kx_session s;
  if (crypto_kx_server_session_keys(s.rx.data(), s.tx.data(), mine.pub.data(), mine.sec.data(),
                                    client.data()) != 0)
    return std::nullopt;
  return s;
}

void random_bytes(std::uint8_t* out, std::size_t n) {
  init_sodium();
  randombytes_buf(out, n);
}

stream_sealer::stream_sealer(const stream_key& key, stream_header& header) {
  init_sodium();
  crypto_secretstream_xchacha20poly1305_init_push(reinterpret_cast<state_t*>(state_.data()),
                                                  header.data(), key.data());
}

stream_sealer::~stream_sealer() { sodium_memzero(state_.data(), state_.size()); }

void stream_sealer::seal(byte_view plain, std::uint8_t* out) {
  const int rc = crypto_secretstream_xchacha20poly1305_push(
      reinterpret_cast<state_t*>(state_.data()), out, nullptr, plain.data(), plain.size(), nullptr,
      0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  BFT_ASSERT(rc == 0, "secretstream push cannot fail on a valid state");
}

std::optional<stream_opener> stream_opener::start(const stream_key& key,
                                                  const stream_header& header) {
  init_sodium();
  stream_opener o;
  if (crypto_secretstream_xchacha20poly1305_init_pull(reinterpret_cast<state_t*>(o.state_.data()),
                                                      header.data(), key.data()) != 0)
    return std::nullopt;
  return o;
}

stream_opener::~stream_opener() { sodium_memzero(state_.data(), state_.size()); }

bool stream_opener::open(byte_view sealed, std::uint8_t* out) {
  if (sealed.size() < stream_overhead) return false;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(reinterpret_cast<state_t*>(state_.data()), out,
                                                 nullptr, &tag, sealed.data(), sealed.size(),
                                                 nullptr, 0) != 0)
    return false;
  return tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
}

} // namespace bft::crypto
