#pragma once
/// The amnesia guard shared by both engines: what a replica that starts WITHOUT a safety
/// record (its data directory was deleted) must learn from its peers before it may sign
/// anything that can conflict with what it signed before it lost its record.
///
/// The recovering replica multicasts a `status_request` carrying a fresh nonce (from the
/// driver, `engine_config::recovery_nonce`). Every peer that holds a safety record answers with
/// a signed `status_report` for that nonce: the highest view it is in (or asked for, or voted
/// in) and the highest sequence number or height it has executed or made stable. A report
/// answers this nonce, so it was made after the restart, hence after the crash: an honest
/// peer's views and indexes only grow, so it reports at least what it had then.
///
/// Quorum intersection: whatever the recovering replica X signed in a view v, a certificate
/// signed by a quorum S of 2f+1 replicas (2f besides X) put someone in view v−1 or v first.
/// Reports from peers of weight R ≥ total − quorum + f + 1 (2f+1 of the 3f peers for equal
/// weights) share more than f weight with S \ {X}, so an honest member of S reported: the
/// maximum reported view V is at least v − 1. Each engine turns that into its rule (README).
/// Byzantine peers can report too high a view; that only delays the replica (liveness), they
/// cannot make the guard lift too early.
///
/// Pure and deterministic; header-only so both engines share one codec and one tracker.
/// Not thread-safe; owned by one engine.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/common/bytes.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/signer.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::recovery {

/// "Tell me where you are": sent by a recovering replica, signed by `sender`.
struct status_request {
  replica_id sender{0};
  std::uint64_t nonce = 0;
};

/// A peer's answer to one nonce, signed by `sender`. `proof` is engine-defined (HotStuff:
/// the sender's highest QC; PBFT: the new-view frame of its view) and lets the recovering
/// replica catch up with the view at once.
struct status_report {
  replica_id sender{0};
  std::uint64_t nonce = 0;
  std::uint64_t view = 0;  ///< highest view entered, asked for or voted in
  std::uint64_t index = 0; ///< highest sequence number / height executed or made stable
  bytes proof;
};

inline constexpr std::size_t max_proof_bytes = codec::max_frame_bytes - 1024;

/// Body bytes (envelope included, signature excluded) of a request.
inline bytes encode_body(std::uint16_t type, const status_request& m) {
  codec::writer w(32);
  w.header({type, 1});
  w.id(m.sender);
  w.u64(m.nonce);
  return w.take();
}

inline bytes encode_body(std::uint16_t type, const status_report& m) {
  codec::writer w(64 + m.proof.size());
  w.header({type, 1});
  w.id(m.sender);
  w.u64(m.nonce);
  w.u64(m.view);
  w.u64(m.index);
  w.blob(m.proof, max_proof_bytes);
  return w.take();
}

/// Decodes a request body (the frame without its 64-byte signature).
inline std::optional<status_request> decode_request(std::uint16_t type, byte_view body) {
  codec::reader r(body);
  r.expect({type, 1});
  status_request m;
  m.sender = r.id<replica_id>();
  m.nonce = r.u64();
  if (!r.finish()) return std::nullopt;
  return m;
}

inline std::optional<status_report> decode_report(std::uint16_t type, byte_view body) {
  codec::reader r(body);
  r.expect({type, 1});
  status_report m;
  m.sender = r.id<replica_id>();
  m.nonce = r.u64();
  m.view = r.u64();
  m.index = r.u64();
  m.proof = r.blob(max_proof_bytes);
  if (!r.finish()) return std::nullopt;
  return m;
}

/// Signing of status frames, shared by both engines: a frame is the body followed by the
/// sender's 64-byte signature over signing_bytes(tag, chain, epoch, body); each engine has its
/// own tags, so a status message of one protocol is no status message of the other.
struct frame_signing {
  std::string_view request_tag;
  std::string_view report_tag;
  std::string_view chain_id;
  epoch ep{0};

  /// Appends the signature of `tag` over `body`.
  [[nodiscard]] bytes seal(bytes body, std::string_view tag, const crypto::signer& s) const {
    auto sig = s.sign(codec::signing_bytes(tag, chain_id, ep, body));
    body.insert(body.end(), sig.begin(), sig.end());
    return body;
  }
  [[nodiscard]] bytes seal(std::uint16_t type, const status_request& m,
                           const crypto::signer& s) const {
    return seal(encode_body(type, m), request_tag, s);
  }
  [[nodiscard]] bytes seal(std::uint16_t type, const status_report& m,
                           const crypto::signer& s) const {
    return seal(encode_body(type, m), report_tag, s);
  }
};

/// A status frame split into its body and its signature, once its size is checked.
struct opened_frame {
  byte_view body;
  signature sig{};
  /// True if `signer` is a validator other than `self` and signed the body under `tag`.
  [[nodiscard]] bool signed_by(replica_id signer, std::string_view tag, const frame_signing& fs,
                               const validator_set& vs, replica_id self,
                               const crypto::verifier& v) const {
    const validator* val = vs.find(signer);
    return val != nullptr && signer != self &&
           v.verify(val->key, codec::signing_bytes(tag, fs.chain_id, fs.ep, body), sig);
  }
};

/// Splits a frame into body and signature; nullopt if it is too short or too long.
inline std::optional<opened_frame> open_frame(const bytes& frame) {
  if (frame.size() < 4 + 64 || frame.size() > codec::max_frame_bytes) return std::nullopt;
  opened_frame o;
  o.body = byte_view(frame).first(frame.size() - 64);
  std::copy_n(frame.end() - 64, 64, o.sig.begin());
  return o;
}

/// What the recovering replica has learned so far. Persisted by the engine while the guard
/// is on, so a crash during recovery does not drop the guard.
struct guard_state {
  bool learned = false;
  std::uint64_t view_bound = 0;  ///< V: max reported view
  std::uint64_t index_bound = 0; ///< max reported index
  [[nodiscard]] bytes encode() const {
    codec::writer w(24);
    w.boolean(learned);
    w.u64(view_bound);
    w.u64(index_bound);
    return w.take();
  }
  static std::optional<guard_state> decode(byte_view b) {
    codec::reader r(b);
    guard_state g;
    g.learned = r.boolean();
    g.view_bound = r.u64();
    g.index_bound = r.u64();
    if (!r.finish()) return std::nullopt;
    return g;
  }
};

/// Collects reports for one nonce from distinct peers until their weight guarantees an
/// honest member of any quorum among them (see the file comment).
class tracker {
public:
  tracker(const validator_set& vs, replica_id self, std::uint64_t nonce)
      : vs_(&vs), self_(self), nonce_(nonce) {}

  [[nodiscard]] std::uint64_t nonce() const { return nonce_; }

  /// Weight of peers whose reports make the bound sound: more than f weight of any quorum's
  /// members other than self, i.e. total − quorum + f + 1 (2f + 1 for equal weights).
  [[nodiscard]] std::uint64_t needed_weight() const {
    return vs_->total_weight() - vs_->quorum_weight() + vs_->max_faulty_weight() + 1;
  }

  /// Counts a verified report; returns true when this report completes the set.
  bool add(const status_report& m) {
    if (m.nonce != nonce_ || m.sender == self_ || !vs_->contains(m.sender) || done_) return false;
    auto [it, fresh] = reports_.emplace(m.sender, m);
    if (!fresh) return false;
    weight_ += vs_->weight_of(m.sender);
    if (weight_ < needed_weight()) return false;
    done_ = true;
    return true;
  }

  /// The bounds over every report counted (valid once `add` returned true).
  [[nodiscard]] guard_state bounds() const {
    guard_state g;
    g.learned = done_;
    for (const auto& [who, r] : reports_) {
      g.view_bound = std::max(g.view_bound, r.view);
      g.index_bound = std::max(g.index_bound, r.index);
    }
    return g;
  }
  [[nodiscard]] const std::map<replica_id, status_report>& reports() const { return reports_; }

private:
  const validator_set* vs_;
  replica_id self_;
  std::uint64_t nonce_;
  std::map<replica_id, status_report> reports_;
  std::uint64_t weight_ = 0;
  bool done_ = false;
};

} // namespace bft::recovery
