#include "protocols/hotstuff/pacemaker.hpp"

#include <algorithm>

#include "protocols/common/assert.hpp"

namespace bft::hotstuff {

round_robin_election::round_robin_election(const validator_set& vs,
                                           std::vector<replica_id> schedule)
    : schedule_(std::move(schedule)) {
  for (const auto& v : vs.members()) ids_.push_back(v.id);
  BFT_ASSERT(!ids_.empty(), "leader election over an empty validator set");
}

replica_id round_robin_election::leader(view_number v) const {
  if (v.value() < schedule_.size()) return schedule_[v.value()];
  return ids_[v.value() % ids_.size()];
}

pacemaker::pacemaker(const validator_set& vs, std::unique_ptr<leader_election> election,
                     std::uint64_t base_timeout_ticks)
    : vs_(&vs), election_(std::move(election)),
      base_(std::max<std::uint64_t>(1, base_timeout_ticks)) {}

std::uint64_t pacemaker::timeout_ticks() const { return base_ << std::min(timeouts_, max_backoff); }

bool pacemaker::advance_to(view_number v, entry how) {
  if (how == entry::qc || how == entry::restore) timeouts_ = 0;
  if (v <= view_) return false;
  if (how == entry::quorum && timeouts_ > 0) --timeouts_; // halve the timeout
  view_ = v;
  ticks_in_view_ = 0; // H21: a fresh timer on entering each view
  return true;
}

bool pacemaker::tick() {
  ++ticks_in_view_;
  return ticks_in_view_ >= timeout_ticks();
}

void pacemaker::on_timeout() {
  if (timeouts_ < max_backoff) ++timeouts_;
  ticks_in_view_ = 0;
}

namespace {

/// The highest view v such that the senders of new-views for v or above carry `enough` weight.
template <class Enough>
view_number highest_view_reached(const std::map<replica_id, view_number>& new_views,
                                 const validator_set& vs, Enough enough) {
  std::vector<std::pair<view_number, replica_id>> by_view;
  for (const auto& [id, v] : new_views) by_view.emplace_back(v, id);
  std::sort(by_view.begin(), by_view.end(), [](const auto& a, const auto& b) { return a > b; });
  std::uint64_t w = 0;
  for (const auto& [v, id] : by_view) {
    w += vs.weight_of(id);
    if (enough(w)) return v;
  }
  return view_number{0};
}

} // namespace

view_number pacemaker::quorum_view() const {
  return highest_view_reached(new_views_, *vs_, [&](std::uint64_t w) { return vs_->is_quorum(w); });
}

view_number pacemaker::own_new_view(replica_id self) const {
  auto it = new_views_.find(self);
  return it == new_views_.end() ? view_number{0} : it->second;
}

void pacemaker::record_new_view(replica_id from, view_number v) {
  auto& cur = new_views_[from];
  if (v > cur) cur = v;
}

view_number pacemaker::sync_view() const {
  // The highest view reached by more than f weight: an honest replica is there.
  return highest_view_reached(new_views_, *vs_,
                              [&](std::uint64_t w) { return w >= vs_->one_honest_weight(); });
}

bool pacemaker::new_view_quorum(view_number v) const {
  std::uint64_t w = 0;
  for (const auto& [id, nv] : new_views_)
    if (nv >= v) w += vs_->weight_of(id);
  return vs_->is_quorum(w);
}

} // namespace bft::hotstuff
