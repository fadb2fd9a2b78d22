#pragma once
/// Seeded bugs for positive controls (engine_config::mutants bits). Each is a tiny branch
/// that re-creates a real HotStuff bug, so the simulator, Twins and the unit tests can show
/// they catch it. Never set in production.
#include <array>
#include <cstdint>
#include <string_view>

namespace bft::hotstuff {

enum class mutant : std::uint64_t {
  /// safeNode is skipped: vote for any block of a higher view (HS Alg. 1 without the lock).
  vote_without_lock_check = 1u << 0,
  /// Commit on a two-chain b' <- b'' instead of the three-chain.
  commit_on_two_chain = 1u << 1,
  /// A QC may count one signer more than once (relab/hotstuff #244 in reverse).
  accept_qc_with_duplicate_signer = 1u << 2,
  /// The vote leaves without the safety record in ready.persist (asonnino/hotstuff #15).
  vote_before_persist = 1u << 3,
  /// The three-chain commit ignores view gaps (relab/hotstuff #249: no dummy blocks).
  commit_gapped_chain = 1u << 4,
  /// A replica's second vote for a block is counted again (relab/hotstuff #244).
  count_duplicate_votes = 1u << 5,
};

/// Every mutant by its name (the `bft sim --mutant` spelling), in enumerator order.
struct mutant_name {
  std::string_view name;
  mutant bit;
};
inline constexpr std::array<mutant_name, 6> mutant_names{{
    {"vote_without_lock_check", mutant::vote_without_lock_check},
    {"commit_on_two_chain", mutant::commit_on_two_chain},
    {"accept_qc_with_duplicate_signer", mutant::accept_qc_with_duplicate_signer},
    {"vote_before_persist", mutant::vote_before_persist},
    {"commit_gapped_chain", mutant::commit_gapped_chain},
    {"count_duplicate_votes", mutant::count_duplicate_votes},
}};

[[nodiscard]] constexpr bool has(std::uint64_t bits, mutant m) {
  return (bits & static_cast<std::uint64_t>(m)) != 0;
}

} // namespace bft::hotstuff
