#pragma once
/// Pure new-view computation (OSDI 4.4, P24): from a set V of valid view-changes, the stable
/// checkpoint min-s, the highest prepared sequence max-s, and O, the digests the new primary
/// re-proposes for every n in (min-s, max-s]. The new primary and every backup run the same
/// function, so a backup accepts a new-view only if O equals its own recomputation (P26).
/// Stateless and deterministic; carved out of the replica so it can be tested alone.
#include <cstdint>
#include <utility>
#include <vector>

#include "protocols/pbft/messages.hpp"

namespace bft::pbft {

struct new_view_plan {
  checkpoint_proof min_s; ///< the highest stable checkpoint in V, with its proof
  std::uint64_t max_s = 0;
  std::vector<std::pair<seq_number, digest>> entries; ///< (min-s, max-s], ascending
};

/// P24. Certificates at or below min-s are ignored; for each n the certificate of the highest
/// view wins; a gap gets the null digest. `drop_certificates` is a mutant hook.
[[nodiscard]] new_view_plan compute_new_view(const std::vector<view_change>& v);

} // namespace bft::pbft
