#include "protocols/pbft/view_change_logic.hpp"

#include <map>

namespace bft::pbft {

new_view_plan compute_new_view(const std::vector<view_change>& v) {
  new_view_plan plan;
  for (const auto& vc : v)
    if (vc.stable.seq > plan.min_s.seq) plan.min_s = vc.stable;
  const auto low = plan.min_s.seq.value();
  plan.max_s = low;
  // seq -> (view, digest) of the highest-view certificate
  std::map<std::uint64_t, std::pair<view_number, digest>> best;
  for (const auto& vc : v) {
    for (const auto& c : vc.prepared) {
      if (c.seq.value() <= low) continue;
      auto [it, inserted] = best.emplace(c.seq.value(), std::make_pair(c.view, c.d));
      if (!inserted && c.view > it->second.first) it->second = {c.view, c.d};
      if (c.seq.value() > plan.max_s) plan.max_s = c.seq.value();
    }
  }
  for (std::uint64_t n = low + 1; n <= plan.max_s; ++n) {
    auto it = best.find(n);
    plan.entries.emplace_back(seq_number{n}, it == best.end() ? null_digest : it->second.second);
  }
  return plan;
}

} // namespace bft::pbft
