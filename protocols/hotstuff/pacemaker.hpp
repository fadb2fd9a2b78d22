#pragma once
/// The pacemaker (HS section 6, Alg. 5), apart from the safety core: which view a replica is
/// in, who leads it, when it gives up on it, and when a leader may propose. It only costs
/// progress when wrong, never safety (H22).
///
/// - Views are entered on a QC for the previous view (progress: the timeout returns to its
///   base), or on new-view messages of a quorum for it (a timeout certificate, nextView).
///   On a timeout a replica asks for the next view; the timeout doubles, up to
///   2^max_backoff times. New-views of more than f weight for a higher view make a replica
///   ask for that view too, so the honest replicas converge on one view.
/// - A timeout is counted in driver ticks from entering the view (H21).
/// - A leader may propose in view v once it holds a QC for v-1, or new-view messages of a
///   quorum for v (H17/H19); then it starts its view from the highest QC it collected.
///
/// Owned by one replica; not thread-safe.
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "protocols/common/ids.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::hotstuff {

/// getLeader (H20): a deterministic function of the view. An interface, so a
/// reputation-based election can replace round robin later.
class leader_election {
public:
  virtual ~leader_election() = default;
  [[nodiscard]] virtual replica_id leader(view_number v) const = 0;
};

/// Round robin over the validators sorted by id: leader(v) = ids[v mod n], except that
/// `schedule[v]` wins for v < schedule.size() (Twins pins leaders this way).
class round_robin_election final : public leader_election {
public:
  round_robin_election(const validator_set& vs, std::vector<replica_id> schedule);
  [[nodiscard]] replica_id leader(view_number v) const override;

private:
  std::vector<replica_id> ids_;
  std::vector<replica_id> schedule_;
};

class pacemaker {
public:
  /// Timeouts grow to 2^3 = 8 times the base at most, so views stay short after a storm.
  static constexpr std::uint32_t max_backoff = 3;

  pacemaker(const validator_set& vs, std::unique_ptr<leader_election> election,
            std::uint64_t base_timeout_ticks);

  [[nodiscard]] view_number view() const { return view_; }
  [[nodiscard]] replica_id leader(view_number v) const { return election_->leader(v); }
  [[nodiscard]] std::uint64_t timeout_ticks() const;
  [[nodiscard]] std::uint64_t ticks_in_view() const { return ticks_in_view_; }
  [[nodiscard]] std::uint32_t consecutive_timeouts() const { return timeouts_; }

  /// How a view is entered: on a QC (progress: the backoff returns to the base), on a
  /// timeout certificate (a quorum synchronised on the view: the backoff halves, so a timeout
  /// stretched by a long fault period shrinks again once replicas are in step, even while
  /// some views still fail at a faulty leader), or by restoring a record.
  enum class entry : std::uint8_t { qc, quorum, restore };
  /// Enters view `v` if it is higher. True if the view changed. A QC for v-1 resets the
  /// backoff even when v is the current view.
  bool advance_to(view_number v, entry how);
  /// One driver tick; true when the current view timed out (the caller then calls
  /// on_timeout and sends its new-view message).
  bool tick();
  /// The current view timed out: double the timeout (restarting the timer). The view does
  /// not change here: the replica asks for view+1 and enters it once a quorum asks for it
  /// (or on a QC), so one replica whose timer runs early cannot race ahead alone.
  void on_timeout();

  /// A new-view message of `from` for `v` (H19); only each sender's highest view counts.
  void record_new_view(replica_id from, view_number v);
  /// The highest view that senders of more than f weight have entered (at least one honest
  /// replica is there); view 0 if none.
  [[nodiscard]] view_number sync_view() const;
  /// A quorum of weight has sent new-view for `v` or higher.
  [[nodiscard]] bool new_view_quorum(view_number v) const;
  /// The highest view that senders of a quorum of weight have entered or asked for.
  [[nodiscard]] view_number quorum_view() const;
  /// This replica's own latest new-view.
  [[nodiscard]] view_number own_new_view(replica_id self) const;

  [[nodiscard]] bool proposed(view_number v) const { return proposed_view_ >= v; }
  void mark_proposed(view_number v) { proposed_view_ = v; }

private:
  const validator_set* vs_;
  std::unique_ptr<leader_election> election_;
  std::uint64_t base_;
  view_number view_{1};
  std::uint64_t ticks_in_view_ = 0;
  std::uint32_t timeouts_ = 0;
  view_number proposed_view_{0};
  std::map<replica_id, view_number> new_views_; ///< each sender's highest new-view
};

} // namespace bft::hotstuff
