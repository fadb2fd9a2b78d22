#pragma once
/// Canonical encodings (protocols/common/codec.hpp) of what the actor layer itself puts in
/// frames: the link handshake (`hello`) and the client RPC (`client_call` / `client_reply`).
/// Engine messages are opaque to this layer. No CAF here: every decoder is tested alone and
/// never reads past its input.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/signer.hpp"
#include "protocols/common/bytes.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/request.hpp"
#include "protocols/smr/kv_tx.hpp"

namespace bft::actors {

inline constexpr std::uint16_t hello_type = 0x4801;
inline constexpr std::uint16_t client_call_type = 0x4c01;
inline constexpr std::uint16_t client_reply_type = 0x4c02;

using nonce = std::array<std::uint8_t, 32>;

/// A fresh random nonce (operating system randomness).
nonce make_nonce();

/// One step of the link handshake. The connecting link (L) proves its id to the acceptor (A)
/// and A proves its id to L, each by signing the other side's fresh nonce:
///   1. L -> A  {step 1, chain, L's id, nonce = n_L}
///   2. A -> L  {step 2, chain, A's id, nonce = n_A, echo = n_L, sig_A}
///   3. L -> A  {step 3, chain, L's id, echo = n_A, sig_L}
///   4. A -> L  {step 4}: accepted; frames from L are taken from now on.
/// The signature covers signing_bytes("bft/link/hello/v1", chain, epoch, step|id|echo).
struct hello {
  std::uint8_t step = 1;
  std::string chain_id;
  replica_id id{0};
  nonce fresh{};
  nonce echo{};
  signature sig{};

  static constexpr const char* sign_tag = "bft/link/hello/v1";
  [[nodiscard]] bytes signed_body() const;
  void sign(const crypto::signer& s, epoch e);
  [[nodiscard]] bool verify(const crypto::verifier& v, const public_key& key, epoch e) const;
  [[nodiscard]] std::string encode() const;
  static result<hello> decode(std::string_view b);
};

/// A client's call to one replica.
struct client_call {
  enum class kind : std::uint8_t { submit = 1, read = 2, status = 3 };
  kind what = kind::status;
  client_request request; ///< submit
  std::string key;        ///< read

  [[nodiscard]] std::string encode() const;
  static result<client_call> decode(std::string_view b);
};

/// One validator's line in a status reply.
struct validator_health {
  replica_id id{0};
  bool active = false;
  std::uint64_t messages = 0;
  std::uint64_t signature_failures = 0;
  std::uint64_t evidence = 0;
};

/// A replica's answer to a client call.
struct client_reply {
  enum class kind : std::uint8_t { receipt = 1, read = 2, status = 3, error = 4 };
  kind what = kind::error;
  // receipt
  public_key client{};
  std::uint64_t client_seq = 0;
  bool duplicate = false;
  std::vector<smr::kv_result> results;
  /// Microseconds from the request's admission at this replica's gateway to its execution
  /// there (the wait for a block plus consensus); `bft bench` reports its p50.
  std::uint64_t commit_us = 0;
  // read
  std::optional<std::string> value;
  // status (and the applied index of receipt/read)
  replica_id replica{0};
  std::uint64_t view = 0;
  std::uint64_t height = 0; ///< index of the last applied entry
  digest state_root{};
  std::uint64_t committed_txs = 0;
  std::uint32_t active = 0;
  std::uint32_t total = 0;
  std::uint32_t byzantine = 0;
  std::vector<validator_health> validators;
  // error
  std::string message;

  static client_reply failure(std::string m) {
    client_reply r;
    r.message = std::move(m);
    return r;
  }
  [[nodiscard]] std::string encode() const;
  static result<client_reply> decode(std::string_view b);
};

/// Several engine frames from one link carried as one message (`batch_atom`): fewer messages
/// through the middleman, one acknowledgement per batch. Layout: u32 count, then per frame
/// u32 length and its bytes (little-endian); nothing after the last frame. A batch holds at
/// least one and at most `max_batch_frames` frames, each at most `codec::max_frame_bytes`, and
/// the whole batch at most `max_batch_bytes`.
inline constexpr std::size_t max_batch_frames = 65536;
inline constexpr std::size_t max_batch_bytes = (16u << 20) + 64;

/// Appends one frame to a batch being built (`out` empty: a new batch).
void append_to_batch(std::string& out, byte_view frame);
/// Number of frames in a built batch.
[[nodiscard]] std::size_t batch_count(std::string_view batch);

/// Checks a whole batch and, only if it is well-formed, calls `each(byte_view)` per frame in
/// order (views into `batch`). Never reads past its input; returns what is wrong otherwise.
result<std::size_t> check_batch(std::string_view batch);
template <class F>
result<std::size_t> for_each_in_batch(std::string_view batch, F&& each) {
  auto n = check_batch(batch);
  if (!n) return n;
  std::size_t at = 4;
  for (std::size_t i = 0; i < *n; ++i) {
    std::uint32_t len = 0;
    for (int k = 3; k >= 0; --k)
      len = (len << 8) | static_cast<std::uint8_t>(batch[at + static_cast<std::size_t>(k)]);
    at += 4;
    each(byte_view(reinterpret_cast<const std::uint8_t*>(batch.data()) + at, len));
    at += len;
  }
  return n;
}

/// Signs a client request as the client with `s` (chain and epoch bind it to one network).
void sign_request(client_request& r, const crypto::signer& s, const std::string& chain, epoch e);
[[nodiscard]] bool verify_request(const client_request& r, const crypto::verifier& v,
                                  const std::string& chain, epoch e);

} // namespace bft::actors
