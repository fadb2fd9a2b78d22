#pragma once
/// The primitives of the secure link transport (net/secure_channel.hpp), from libsodium:
/// ephemeral X25519 key exchange (`crypto_kx`) and XChaCha20-Poly1305 secret streams
/// (`crypto_secretstream`), one stream per direction. No libsodium header here.
#include <array>
#include <cstdint>
#include <optional>

#include "protocols/common/bytes.hpp"

namespace bft::crypto {

inline constexpr std::size_t kx_key_bytes = 32;
using kx_public = std::array<std::uint8_t, kx_key_bytes>;
using stream_key = std::array<std::uint8_t, 32>;

/// An ephemeral X25519 key pair; the secret half is wiped when destroyed.
struct kx_keypair {
  kx_public pub{};
  std::array<std::uint8_t, kx_key_bytes> sec{};
  kx_keypair() = default;
  kx_keypair(const kx_keypair&) = default;
  kx_keypair& operator=(const kx_keypair&) = default;
  ~kx_keypair();
};

kx_keypair kx_generate();

/// The two keys of a session: `rx` opens what the other side sealed with its `tx`.
struct kx_session {
  stream_key rx{};
  stream_key tx{};
};

/// Session keys for the side that dialled (`client`) and the side that accepted (`server`);
/// nothing when the other side's public key is unacceptable (a low-order point).
std::optional<kx_session> kx_client_keys(const kx_keypair& mine, const kx_public& server);
std::optional<kx_session> kx_server_keys(const kx_keypair& mine, const kx_public& client);

/// Fills `out` from the system's random source.
void random_bytes(std::uint8_t* out, std::size_t n);

inline constexpr std::size_t stream_header_bytes = 24;
/// Bytes a sealed message carries beyond its plaintext (the tag byte and the MAC).
inline constexpr std::size_t stream_overhead = 17;
using stream_header = std::array<std::uint8_t, stream_header_bytes>;

/// The sending half of a secret stream. Each `seal` advances the stream: the receiver can
/// open the messages only in the order they were sealed, each once.
class stream_sealer {
public:
  /// Starts a stream under `key`; `header` is what the receiver needs to open it.
  stream_sealer(const stream_key& key, stream_header& header);
  stream_sealer(const stream_sealer&) = default;
  stream_sealer& operator=(const stream_sealer&) = default;
  ~stream_sealer();
  /// Writes `plain.size() + stream_overhead` bytes to `out`.
  void seal(byte_view plain, std::uint8_t* out);

private:
  alignas(16) std::array<std::uint8_t, 64> state_{};
};

/// The receiving half. A message that was altered, replayed, reordered or sealed under
/// another key does not open; the stream is then unusable (the caller closes it).
class stream_opener {
public:
  /// Nothing if `header` is not a valid stream header for `key`.
  static std::optional<stream_opener> start(const stream_key& key, const stream_header& header);
  stream_opener(const stream_opener&) = default;
  stream_opener& operator=(const stream_opener&) = default;
  ~stream_opener();
  /// Writes `sealed.size() - stream_overhead` bytes to `out`; false if it does not open.
  [[nodiscard]] bool open(byte_view sealed, std::uint8_t* out);

private:
  stream_opener() = default;
  alignas(16) std::array<std::uint8_t, 64> state_{};
};

} // namespace bft::crypto
