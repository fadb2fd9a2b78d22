#pragma once
/// Blocks and quorum certificates of Chained HotStuff (Yin et al., PODC 2019, section 5 and
/// Algorithm 3; "node" in the paper). A block names its parent by hash, carries the QC that
/// justifies it (always a QC for its parent: createLeaf(qc.node, cmd, qc)), a batch of
/// client requests and the state root of the last execution its proposer knew of.
///
/// Blocks are immutable once built and shared by pointer (`block_ptr`), so a batch is never
/// copied after decoding. The hash is SHA3-256 of the canonical bytes, computed once.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/request.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::crypto {
class verifier;
} // namespace bft::crypto

namespace bft::hotstuff {

/// Envelope type numbers of every HotStuff frame (version 1).
enum class msg_type : std::uint16_t {
  proposal = 0x0201,
  vote = 0x0202,
  new_view = 0x0203,
  block_request = 0x0204,
  block_response = 0x0205,
};
inline constexpr std::uint16_t wire_version = 1;

/// One signature in a QC: the vote of `signer`.
struct qc_signature {
  replica_id signer;
  signature sig{};
  friend bool operator==(const qc_signature&, const qc_signature&) = default;
};

/// A quorum certificate (H1): votes of more than two thirds of the voting weight on
/// (block hash, view, height), from distinct known signers. `height` is the certified block's.
struct quorum_cert {
  digest block{};
  view_number view{0};
  bft::height height{0};
  std::vector<qc_signature> sigs;

  static constexpr std::size_t max_signers = 1024;
  void encode(codec::writer& w) const;
  static quorum_cert decode(codec::reader& r);
  /// The hard-coded QC of the genesis block (H4): no signatures, view 0, height 0.
  [[nodiscard]] bool is_genesis() const;
  friend bool operator==(const quorum_cert&, const quorum_cert&) = default;
};

/// Everything a QC check needs besides the QC.
struct qc_context {
  std::string_view chain_id;
  bft::epoch epoch{0};
  const validator_set* validators = nullptr;
  const crypto::verifier* verifier = nullptr;
  bool allow_duplicate_signers = false; ///< mutant accept_qc_with_duplicate_signer only
};

/// H1: the genesis QC, or signatures from distinct known signers of more than two thirds of
/// the weight, each valid over the vote bytes of (block, view, height, signer).
result<void> verify_qc(const quorum_cert& qc, const qc_context& ctx);

/// `envelope | block | view | height | signer`: the part of a vote frame its signature covers.
bytes vote_body(const digest& block, view_number v, bft::height h, replica_id signer);
inline constexpr std::string_view vote_tag = "bft/hotstuff/vote/v1";

/// A block (a "node" of the paper, H2).
struct block {
  digest parent{};
  bft::height height{0};
  view_number view{0};
  replica_id proposer{0};
  quorum_cert justify; ///< QC for `parent` (H3: justify.node is the parent)
  /// The proposer's latest executed committed index and the application state root after it
  /// (reported through ev::executed). Certified with the block; used for state transfer.
  std::uint64_t exec_index = 0;
  digest state_root{};
  std::vector<client_request> requests;

  digest hash{}; ///< SHA3-256 of the canonical bytes; filled by `finalize` or `decode`

  static constexpr std::size_t max_requests = 16384;
  /// Canonical bytes (everything but `hash`).
  void encode(codec::writer& w) const;
  /// Decodes one block starting at `r`'s position within `whole` and hashes exactly the
  /// bytes it consumed (no re-encoding).
  static block decode(codec::reader& r, byte_view whole);
  /// Computes `hash` from the canonical bytes.
  void finalize();
};

using block_ptr = std::shared_ptr<const block>;

/// The hard-coded genesis block b0 (H4): height 0, view 0, justified by the genesis QC.
const block_ptr& genesis_block();
/// The genesis QC: certifies b0.
quorum_cert genesis_qc();

} // namespace bft::hotstuff
