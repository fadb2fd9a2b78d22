#pragma once
/// PBFT wire messages (Castro & Liskov OSDI'99 section 4, signature variant) and their
/// canonical codec.
///
/// Every signed frame is `envelope | body | 64-byte signature`; the signature covers
/// `codec::signing_bytes("bft/pbft/<type>/v1", chain_id, epoch, signed part)`. For every type
/// but pre-prepare the signed part is `envelope | body`. A pre-prepare signs only its header
/// `envelope | view | seq | digest | from`; the batch travels between header and signature and
/// is bound by the digest (d = D(m), OSDI 4.2). That lets a view-change carry a pre-prepare
/// without its batch (OSDI 4.4) and still verify it signature by signature.
///
/// Request relays and batch fetches are unsigned: client requests carry their own client
/// signatures and a fetched batch is checked against the digest that asked for it.
///
/// Decoding never crashes and never allocates more than the input could hold; all counts and
/// sizes have the stated maxima below. Decoding checks structure only; signatures and
/// certificates are checked by the `verify_*` functions, which need the validator set.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/request.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::crypto {
class signer;
class verifier;
} // namespace bft::crypto

namespace bft::pbft {

/// Envelope type numbers of PBFT frames.
enum class msg_type : std::uint16_t {
  pre_prepare = 0x0101,
  prepare = 0x0102,
  commit = 0x0103,
  checkpoint = 0x0104,
  view_change = 0x0105,
  new_view = 0x0106,
  request_relay = 0x0107,
  fetch_batch = 0x0108,
  batch_reply = 0x0109,
};
inline constexpr std::uint16_t wire_version = 1;

/// The `statement::phase` numbers of PBFT (protocol_inspector.hpp, evidence records).
enum class phase : std::uint8_t {
  pre_prepare = 1,
  prepare = 2,
  commit = 3,
  checkpoint = 4,
  view_change = 5,
  new_view = 6,
};

/// Stated maxima of the codec.
inline constexpr std::size_t max_batch_requests = 1u << 16; ///< requests in one pre-prepare
inline constexpr std::size_t max_replicas = 1024;           ///< signatures in one certificate
inline constexpr std::size_t max_certificates = 1u << 16;   ///< prepared certs / O entries
inline constexpr std::size_t max_view_change_bytes = 4u << 20;
inline constexpr std::size_t signature_bytes = 64;

/// The digest of the null request (an empty batch), used to fill gaps in a new view.
inline constexpr digest null_digest{};

using batch = std::vector<client_request>;
using batch_ptr = std::shared_ptr<const batch>;

/// Everything signatures are bound to besides the body.
struct signing_context {
  std::string chain_id;
  bft::epoch epoch{0};
};

/// D(m): SHA3-256 of the batch's canonical encoding; the null digest for an empty batch.
[[nodiscard]] digest batch_digest(const batch& b);
/// Canonical encoding of a batch (count, then each request).
[[nodiscard]] bytes encode_batch(const batch& b);

/// A signer id and its signature: one entry of a certificate.
struct signed_by {
  replica_id from;
  signature sig{};
  friend bool operator==(const signed_by&, const signed_by&) = default;
};

/// ⟨PRE-PREPARE, v, n, d⟩σp with m attached. `requests` is null when only the header is known
/// (certificates, O entries); an empty batch is the null request.
struct pre_prepare {
  view_number view;
  seq_number seq;
  digest d{};
  replica_id from;
  batch_ptr requests;
  signature sig{};
};

/// ⟨PREPARE, v, n, d, i⟩σi and ⟨COMMIT, v, n, d, i⟩σi share one layout.
struct vote {
  msg_type phase = msg_type::prepare; ///< prepare or commit
  view_number view;
  seq_number seq;
  digest d{};
  replica_id from;
  signature sig{};
  friend bool operator==(const vote&, const vote&) = default;
};

/// ⟨CHECKPOINT, n, d, i⟩σi, d = state digest after executing n.
struct checkpoint {
  seq_number seq;
  digest state{};
  replica_id from;
  signature sig{};
  friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

/// C of a view-change: 2f+1 checkpoint signatures on (seq, state). seq 0 is the genesis
/// checkpoint and needs no signatures.
struct checkpoint_proof {
  seq_number seq;
  digest state{};
  std::vector<signed_by> sigs;
  friend bool operator==(const checkpoint_proof&, const checkpoint_proof&) = default;
};

/// One element of P: the pre-prepare (without batch) of (view, seq, d), signed by primary(view),
/// and 2f matching prepares from distinct backups.
struct prepared_cert {
  view_number view;
  seq_number seq;
  digest d{};
  signature pp_sig{};
  std::vector<signed_by> prepares;
  friend bool operator==(const prepared_cert&, const prepared_cert&) = default;
};

/// ⟨VIEW-CHANGE, v+1, n, C, P, i⟩σi.
struct view_change {
  view_number new_view;
  replica_id from;
  checkpoint_proof stable;
  std::vector<prepared_cert> prepared; ///< ascending seq, one per seq
  signature sig{};
  friend bool operator==(const view_change&, const view_change&) = default;
};

/// One pre-prepare of O in a new-view, signed by the new primary as a pre-prepare header.
struct new_view_entry {
  seq_number seq;
  digest d{};
  signature pp_sig{};
  friend bool operator==(const new_view_entry&, const new_view_entry&) = default;
};

/// ⟨NEW-VIEW, v+1, V, O⟩σp. V holds the signed view-change frames as sent.
struct new_view {
  view_number view;
  replica_id from;
  std::vector<bytes> view_changes;
  std::vector<new_view_entry> entries; ///< O, ascending seq
  signature sig{};
};

/// A backup relays client requests it received (P5). Unsigned.
struct request_relay {
  std::vector<client_request> requests;
};

/// Ask peers for the batch with digest d (after a new-view named a digest we lack). Unsigned.
struct fetch_batch {
  digest d{};
};

/// Answer to fetch_batch; checked against d by the receiver. Unsigned.
struct batch_reply {
  digest d{};
  batch_ptr requests;
};

// ---- envelope, tags ---------------------------------------------------------------------

[[nodiscard]] std::string_view sign_tag(msg_type t);
/// The envelope type of a frame, if it is a PBFT frame of the supported version.
[[nodiscard]] std::optional<msg_type> frame_type(byte_view frame);

// ---- encoding (frames carry the signature stored in the struct) ---------------------------

[[nodiscard]] bytes encode(const pre_prepare& m);
[[nodiscard]] bytes encode(const vote& m);
[[nodiscard]] bytes encode(const checkpoint& m);
[[nodiscard]] bytes encode(const view_change& m);
[[nodiscard]] bytes encode(const new_view& m);
[[nodiscard]] bytes encode(const request_relay& m);
[[nodiscard]] bytes encode(const fetch_batch& m);
[[nodiscard]] bytes encode(const batch_reply& m);

/// Builds a pre-prepare frame from an already encoded batch (hash once, copy once).
[[nodiscard]] bytes encode_pre_prepare(const pre_prepare& header, byte_view batch_bytes);
/// The same pre-prepare frame with an empty batch (header and signature unchanged): what
/// evidence and certificates keep, so a record never holds a whole batch. Empty if `frame`
/// is not a well-formed pre-prepare.
[[nodiscard]] bytes strip_batch(byte_view frame);
/// Offset and length of the batch bytes inside a well-formed pre-prepare frame.
[[nodiscard]] byte_view batch_region(byte_view frame);

// ---- decoding (structure only) -------------------------------------------------------------

result<pre_prepare> decode_pre_prepare(byte_view frame);
result<vote> decode_vote(byte_view frame); ///< prepare or commit
result<checkpoint> decode_checkpoint(byte_view frame);
result<view_change> decode_view_change(byte_view frame);
result<new_view> decode_new_view(byte_view frame);
result<request_relay> decode_request_relay(byte_view frame);
result<fetch_batch> decode_fetch_batch(byte_view frame);
result<batch_reply> decode_batch_reply(byte_view frame);

// ---- the bytes each signature covers -------------------------------------------------------

[[nodiscard]] bytes signing_payload(const signing_context& c, view_number v, seq_number n,
                                    const digest& d, replica_id primary); ///< pre-prepare header
[[nodiscard]] bytes signing_payload(const signing_context& c, msg_type phase, view_number v,
                                    seq_number n, const digest& d, replica_id from); ///< vote
[[nodiscard]] bytes signing_payload(const signing_context& c, seq_number n, const digest& state,
                                    replica_id from); ///< checkpoint
[[nodiscard]] bytes signing_payload(const signing_context& c, const view_change& m);
[[nodiscard]] bytes signing_payload(const signing_context& c, const new_view& m);

void sign(pre_prepare& m, const signing_context& c, const crypto::signer& s);
void sign(vote& m, const signing_context& c, const crypto::signer& s);
void sign(checkpoint& m, const signing_context& c, const crypto::signer& s);
void sign(view_change& m, const signing_context& c, const crypto::signer& s);
void sign(new_view& m, const signing_context& c, const crypto::signer& s);
/// Signs the pre-prepare header of an O entry in view v by `primary`.
void sign(new_view_entry& e, view_number v, replica_id primary, const signing_context& c,
          const crypto::signer& s);

// ---- verification ------------------------------------------------------------------------

/// The primary of view v: leader_schedule[v] for v below its size, else the (v mod n)-th
/// validator in id order (P1).
[[nodiscard]] replica_id primary_of(view_number v, const validator_set& vs,
                                    const std::vector<replica_id>& leader_schedule);

/// What verification needs: validators, crypto, the binding context and the leader rule.
struct verify_context {
  const validator_set& validators;
  const crypto::verifier& verifier;
  const signing_context& signing;
  const std::vector<replica_id>& leader_schedule;
  std::uint64_t log_window = 200; ///< k = H − h
  bool skip_certificates = false; ///< mutant hook: certificates not checked
  [[nodiscard]] replica_id primary(view_number v) const {
    return primary_of(v, validators, leader_schedule);
  }
};

[[nodiscard]] bool verify(const pre_prepare& m, const verify_context& c);
[[nodiscard]] bool verify(const vote& m, const verify_context& c);
[[nodiscard]] bool verify(const checkpoint& m, const verify_context& c);
/// C: 2f+1 valid checkpoint signatures on (seq, state) from distinct replicas; a signer listed
/// twice counts once. seq 0 is genesis (no signatures, zero state).
[[nodiscard]] result<void> verify_checkpoint_proof(const checkpoint_proof& p,
                                                   const verify_context& c);
/// One P certificate: pre-prepare signed by primary(view), prepares from distinct backups
/// whose weight with the primary's makes a quorum; duplicates count once.
[[nodiscard]] result<void> verify_prepared_cert(const prepared_cert& p, const verify_context& c);
/// P22: signature, C, and every P certificate (view < new_view, stable < seq <= stable + k,
/// ascending, one per seq).
[[nodiscard]] result<void> verify_view_change(const view_change& m, const verify_context& c);

} // namespace bft::pbft
