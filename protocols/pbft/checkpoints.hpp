#pragma once
/// Checkpoint votes and when they prove a stable checkpoint (OSDI 4.3, P16-P18), apart from
/// the replica: a pure helper it owns, like hotstuff::pacemaker. The replica verifies each
/// checkpoint and drops those at or below its stable checkpoint h before adding it; when
/// add() returns a proof, the replica makes it stable (P17) and calls drop_to(h).
///
/// Owned by one replica; not thread-safe.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "protocols/common/validator_set.hpp"
#include "protocols/pbft/messages.hpp"

namespace bft::pbft {

class checkpoints {
public:
  /// Checkpoints held per sender: a sender's votes for its lowest sequence numbers go first.
  static constexpr std::size_t default_per_sender = 4;

  explicit checkpoints(validator_set vs, std::size_t per_sender = default_per_sender);

  /// Counts `c` (verified by the caller): one checkpoint per signer and sequence number counts,
  /// whatever its digest; digests are counted apart. Returns the proof when the signers of
  /// c's digest at c's sequence number form a quorum (with c among them), else nullopt.
  [[nodiscard]] std::optional<checkpoint_proof> add(const checkpoint& c);
  /// A stable checkpoint at h: drops every vote at or below h.
  void drop_to(std::uint64_t h);

  // ---- introspection (tests) ----
  /// Signers counted for (n, state).
  [[nodiscard]] std::size_t votes(std::uint64_t n, const digest& state) const;
  /// Sequence numbers for which `who`'s checkpoint is held.
  [[nodiscard]] std::size_t held_from(replica_id who) const;

private:
  validator_set vs_;
  std::size_t per_sender_;
  /// seq -> state -> signer -> signature
  std::map<std::uint64_t, std::map<digest, std::map<replica_id, signature>>> votes_;
  std::map<replica_id, std::set<std::uint64_t>> by_sender_;
};

} // namespace bft::pbft
