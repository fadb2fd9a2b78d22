#pragma once
/// The HotStuff wire messages and their canonical codec. Every frame is
/// `envelope{type, version=1} | body | 64-byte signature`; the signature covers
/// codec::signing_bytes("bft/hotstuff/<type>/v1", chain_id, epoch, envelope | body), so a
/// signed frame is transferable evidence. Decoders never read past the frame, refuse frames
/// over codec::max_frame_bytes, and fail on trailing bytes (one encoding per value).
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "protocols/hotstuff/block.hpp"

namespace bft::crypto {
class signer;
class verifier;
} // namespace bft::crypto

namespace bft::hotstuff {

/// A leader's proposal of a block for its view (Alg. 3 "generic" message). Signer: the
/// block's proposer.
struct proposal {
  block_ptr blk;
};

/// A replica's vote for a block, sent to the next view's leader (H9). Signer: `signer`.
struct vote {
  digest block{};
  view_number view{0};
  bft::height height{0};
  replica_id signer{0};
  signature sig{};
};

/// A replica leaving a view (timeout, nextView) tells the others it entered `view` and what
/// its highest QC is (H19). Signer: `sender`.
///
/// `last_vote` is empty or the sender's latest signed vote frame. The vote went to the next
/// leader; if that leader is down, the QC it would have formed is lost, and with round-robin
/// leaders one crashed replica in four would then block every three-chain of consecutive
/// views. Carrying the vote lets the leader after it form that QC from the new-views.
struct new_view {
  view_number view{0};
  replica_id sender{0};
  quorum_cert high_qc;
  bytes last_vote;
  static constexpr std::size_t max_vote_bytes = 256;
};

/// Asks for the block `hash` and up to `max_count` of its ancestors (H5). Signer: `sender`.
struct block_request {
  replica_id sender{0};
  digest hash{};
  std::uint32_t max_count = 0;
  static constexpr std::uint32_t max_blocks = 64;
};

/// Blocks answering a block_request, newest first, each the parent of the one before.
/// Empty when the responder does not hold `requested` (pruned or unknown); `committed_height`
/// is the responder's highest executed height, so the requester can tell it is behind.
/// Signer: `sender`.
struct block_response {
  replica_id sender{0};
  digest requested{};
  std::uint64_t committed_height = 0;
  std::vector<block_ptr> blocks;
};

using message = std::variant<proposal, vote, new_view, block_request, block_response>;

/// Domain-separation tag of each message type.
std::string_view sign_tag(msg_type t);

/// Signing context: the chain and epoch every signature is bound to.
struct sign_context {
  std::string_view chain_id;
  bft::epoch epoch{0};
};

/// Encodes and signs. The block inside a proposal must be finalized.
bytes encode_proposal(const block& b, const crypto::signer& s, const sign_context& c);
/// Encodes and signs a new block, setting its hash from the same bytes (one encoding).
bytes encode_new_proposal(block& b, const crypto::signer& s, const sign_context& c);
bytes encode_vote(const digest& block, view_number v, bft::height h, replica_id signer,
                  const crypto::signer& s, const sign_context& c);
bytes encode_new_view(const new_view& m, const crypto::signer& s, const sign_context& c);
bytes encode_block_request(const block_request& m, const crypto::signer& s, const sign_context& c);
bytes encode_block_response(const block_response& m, const crypto::signer& s,
                            const sign_context& c);

/// A decoded frame: the message, the id that must have signed it, and the signed prefix.
struct decoded {
  message msg;
  replica_id signer{0};
  msg_type type{};
  byte_view signed_part; ///< envelope | body (a view into the frame)
  signature sig{};
};

/// Decodes a frame (structure only; no signature or QC check).
result<decoded> decode(byte_view frame);
/// Checks the frame signature against the signer's key in `vs`.
result<void> verify_signature(const decoded& d, const validator_set& vs, const crypto::verifier& v,
                              const sign_context& c);

/// What a proposal's signature covers (inside codec::signing_bytes with the proposal tag):
/// `envelope | block hash`. The block's bytes are bound by its hash, so signing and verifying
/// never read the whole block again (it is hashed once, when built or decoded).
bytes proposal_signed_part(const digest& block_hash);

/// Re-signs `signed_part` (envelope | body) as a frame.
bytes seal(bytes signed_part, msg_type t, const crypto::signer& s, const sign_context& c);

} // namespace bft::hotstuff
