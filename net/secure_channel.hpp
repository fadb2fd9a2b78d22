#pragma once
/// The secure link transport's protocol, without CAF (actors/secure.cpp runs it inside a
/// middleman broker). The shape of CometBFT's SecretConnection:
///
/// **Framing.** Every message on a connection is a u32 little-endian length and that many
/// bytes. The length is checked against a hard maximum before anything is allocated for the
/// message: `max_handshake_bytes` until the handshake has proved a key, `max_sealed_bytes`
/// after it.
///
/// **Handshake** (D dialled, A accepted; signatures with the ed25519 keys of genesis, or the
/// client's own key for a client):
///   1. D -> A  hello:  magic, version, chain id, D's role, id and key, the validator D wants,
///                      D's ephemeral X25519 key, D's nonce
///   2. A -> D  answer: A's id and key, A's ephemeral key, A's nonce, A's stream header,
///                      A's signature over the transcript (side "accepted")
///   3. D -> A  proof:  D's stream header, D's signature over the transcript (side "dialled")
/// The transcript holds the chain id, both roles, ids, static and ephemeral keys and nonces,
/// so the signatures bind the session keys (X25519, `crypto_kx`) to the two validators; a
/// replayed hello meets a fresh nonce and ephemeral key and cannot produce the proof.
///
/// **Frames.** After the handshake each direction is one XChaCha20-Poly1305 secret stream
/// (`crypto_secretstream`): a tampered, replayed, reordered or dropped frame does not open and
/// the connection closes. Inside, every frame carries a kind, the link's sequence number and
/// the sender's clock: the link checks (a sequence gap, duplicate or reorder; a clock outside
/// the window) are counted and reported as suspicion, never used for safety.
///
/// Not thread-safe: one `handshake` or `session` per connection, used by its owner only.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "crypto/session.hpp"
#include "crypto/signer.hpp"
#include "protocols/common/bytes.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::net {

inline constexpr std::size_t prefix_bytes = 4;
/// Largest handshake message (the hello is ~190 bytes with a 64-byte chain id).
inline constexpr std::size_t max_handshake_bytes = 512;
/// Largest payload of one frame: an engine frame or a batch of them, with room for the call.
inline constexpr std::size_t max_payload_bytes = codec::max_frame_bytes + 4096;
inline constexpr std::size_t frame_header_bytes = 1 + 8 + 8;
inline constexpr std::size_t max_sealed_bytes =
    max_payload_bytes + frame_header_bytes + crypto::stream_overhead;
inline constexpr std::uint32_t magic = 0x31544642; // "BFT1" little-endian
inline constexpr std::uint8_t protocol_version = 1;
inline constexpr std::size_t nonce_bytes = 32;
using nonce = std::array<std::uint8_t, nonce_bytes>;

/// Why a connection was refused or closed; the label of `bft_link_rejections_total{reason}`.
enum class reason : std::uint8_t {
  oversized,         ///< a length prefix over the limit (or zero)
  malformed,         ///< a handshake message that does not parse
  version,           ///< another magic or version (not our protocol, e.g. a BASP header)
  wrong_chain,       ///< another chain id
  unknown_key,       ///< a validator id with another key, an unknown id, clients not served
  wrong_peer,        ///< the answer came from another validator than the one dialled
  bad_signature,     ///< a transcript signature that does not verify (also a replayed proof)
  replayed,          ///< a hello whose nonce was seen before
  bad_frame,         ///< a frame that does not open (tampered, replayed, reordered)
  handshake_timeout, ///< no proof within the handshake time limit
  pending_total,     ///< too many connections not yet authenticated
  pending_source,    ///< too many from one source address
  sessions,          ///< too many authenticated connections (per validator, or clients)
  rate,              ///< a client over its call rate (that call refused, the connection kept)
  queued,            ///< a peer or client not reading what is sent to it
  protocol,          ///< a valid frame that breaks the call protocol (a client's peer call)
  in_flight,         ///< more calls awaiting our answer than the limit (honest links never)
  count_
};
[[nodiscard]] std::string_view to_string(reason r);

/// The length in a prefix, if it is in 1..max.
[[nodiscard]] std::optional<std::size_t> read_prefix(const std::uint8_t* p, std::size_t max);
/// Appends a u32 little-endian length prefix.
void put_prefix(std::uint8_t* out, std::uint32_t len);

enum class role : std::uint8_t { validator = 1, client = 2 };

/// Dialling "whichever validator answers at this address": a bootstrap address, whose
/// validator is not known beforehand. The answer must still prove a validator key of genesis.
inline constexpr replica_id any_validator{0xffffffffu};

/// Who is at the other end, once proved.
struct party {
  net::role role = role::validator;
  replica_id id{0}; ///< validators only
  public_key key{};
};

/// Who we are and whom we accept. Shared (immutable) by every connection of a node.
struct local_identity {
  std::string chain_id;
  bft::epoch epoch{0};
  net::role role = role::validator;
  replica_id id{0}; ///< validators only
  std::shared_ptr<const crypto::signer> signer;
  std::shared_ptr<const crypto::verifier> verifier;
  validator_set validators;
  bool accept_clients = true; ///< the accepting side serves client connections
};

class session;

/// One side of the handshake. Dialling: `hello()` first, then `on_message(answer)` gives the
/// proof to send and completes. Accepting: `on_message(hello)` gives the answer, then
/// `on_message(proof)` completes.
class handshake {
public:
  static handshake dial(std::shared_ptr<const local_identity> me, replica_id peer);
  static handshake accept(std::shared_ptr<const local_identity> me);

  [[nodiscard]] bytes hello();

  struct step {
    bytes send;                    ///< to send (maybe empty)
    std::optional<reason> refused; ///< the connection must close
  };
  step on_message(byte_view msg);

  [[nodiscard]] bool done() const { return stage_ == stage::done; }
  /// Accepting side, after the hello: the dialler's nonce (for a replay cache).
  [[nodiscard]] const nonce& dialler_nonce() const { return d_nonce_; }
  [[nodiscard]] const party& peer() const { return peer_; }

  /// The established session (once `done()`).
  session take_session();

private:
  enum class stage { start, await_answer, await_hello, await_proof, done, failed };
  [[nodiscard]] bytes transcript(std::uint8_t side) const;
  step fail(reason r);
  step on_hello(byte_view msg);
  step on_answer(byte_view msg);
  step on_proof(byte_view msg);
  bool derive_keys();

  std::shared_ptr<const local_identity> me_;
  bool dialled_ = false;
  stage stage_ = stage::start;
  replica_id wanted_{0}; ///< dialling: the validator we want
  crypto::kx_keypair eph_;
  crypto::kx_public peer_eph_{};
  nonce d_nonce_{}; ///< the dialler's
  nonce a_nonce_{}; ///< the accepter's
  party d_party_;   ///< the dialler (as it claims, proved by its signature)
  party a_party_;   ///< the accepter
  party peer_;
  crypto::kx_session keys_;
  std::optional<crypto::stream_sealer> sealer_;
  std::optional<crypto::stream_opener> opener_;
  crypto::stream_header my_header_{};
};

/// What a frame is for (its first plaintext byte).
enum class frame_kind : std::uint8_t { call = 1, reply = 2, records = 3 };

/// Address records gossiped after a handshake (net/address_book.hpp): a count, then each
/// record as a length-prefixed string. At most `max_gossip_records` of at most
/// `max_gossip_record_bytes` each.
inline constexpr std::size_t max_gossip_records = 4096;
inline constexpr std::size_t max_gossip_record_bytes = 512;
[[nodiscard]] bytes encode_records(const std::vector<std::string>& records);
result<std::vector<std::string>> decode_records(byte_view body);

/// What the link checks noticed on one frame; counted and reported, never decisive.
struct link_anomaly {
  bool seq_gap = false;   ///< a sequence number ahead of the next one expected
  bool seq_back = false;  ///< a duplicate or earlier sequence number (reorder)
  bool clock_out = false; ///< the sender's clock outside the window of ours
};

struct opened {
  frame_kind kind = frame_kind::call;
  std::uint64_t seq = 0;
  std::uint64_t clock_ms = 0;
  link_anomaly anomaly;
  bytes body;
};

/// A connection after its handshake: seals outgoing frames and opens incoming ones.
class session {
public:
  session(party peer, crypto::stream_sealer s, crypto::stream_opener o)
      : peer_(peer), sealer_(std::move(s)), opener_(std::move(o)) {}
  [[nodiscard]] const party& peer() const { return peer_; }

  /// The whole wire message (prefix + sealed frame) for `body`, appended to `out`; the body
  /// is given in parts so that callers need not join them first.
  template <class Out>
  void seal(Out& out, frame_kind k, std::uint64_t now_ms, byte_view head, byte_view tail = {}) {
    const std::size_t plain_size = frame_header_bytes + head.size() + tail.size();
    plain_.resize(plain_size);
    write_header(k, now_ms);
    std::copy(head.begin(), head.end(), plain_.begin() + frame_header_bytes);
    std::copy(tail.begin(), tail.end(),
              plain_.begin() + static_cast<std::ptrdiff_t>(frame_header_bytes + head.size()));
    const std::size_t at = out.size();
    out.resize(at + prefix_bytes + plain_size + crypto::stream_overhead);
    auto* dst = reinterpret_cast<std::uint8_t*>(out.data()) + at;
    put_prefix(dst, static_cast<std::uint32_t>(plain_size + crypto::stream_overhead));
    sealer_.seal(plain_, dst + prefix_bytes);
    plain_.clear();
    if (plain_.capacity() > (1u << 20)) plain_.shrink_to_fit();
  }

  /// Opens one sealed frame (without its prefix); `window_ms` bounds the clock check.
  result<opened> open(byte_view sealed, std::uint64_t now_ms, std::uint64_t window_ms);

private:
  void write_header(frame_kind k, std::uint64_t now_ms);
  party peer_;
  crypto::stream_sealer sealer_;
  crypto::stream_opener opener_;
  std::uint64_t next_out_ = 1;
  std::uint64_t next_in_ = 1;
  bytes plain_;
};

/// A call through a session: the link's requests (hello, peer frame, batch, client call)
/// and their replies, matched by `id`.
struct call {
  enum class op : std::uint8_t { hello = 1, peer = 2, batch = 3, client = 4 };
  std::uint32_t id = 0;
  op what = op::peer;
  std::uint32_t from = 0;
  std::string_view data; ///< borrowed from the frame body
  static result<call> decode(byte_view body);
  /// The encoding without `data` (sealed with `data` as the tail).
  [[nodiscard]] bytes head() const;
};

struct reply {
  enum class status : std::uint8_t { frame = 1, ack = 2, error = 3 };
  std::uint32_t id = 0;
  status what = status::ack;
  std::uint32_t from = 0;
  std::string_view data; ///< the frame's bytes, or the error's text
  static result<reply> decode(byte_view body);
  [[nodiscard]] bytes head() const;
};

} // namespace bft::net
