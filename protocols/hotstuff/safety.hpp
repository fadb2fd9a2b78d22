#pragma once
/// The safety core of Chained HotStuff (HS section 5, Alg. 3 and Alg. 4), apart from the
/// pacemaker: a bad pacemaker can cost progress, never safety (H22).
///
/// Paper names: vheight (here the last voted *view*, H8), b_lock / lockedQC (`locked_qc`),
/// b_exec (`exec`), qc_high / genericQC (`high_qc`). There are no dummy blocks (H6), so a
/// "direct parent" in the commit rule means parent *and* consecutive views.
///
/// Owned by one replica; not thread-safe.
#include <cstdint>
#include <string>
#include <vector>

#include "protocols/hotstuff/block.hpp"
#include "protocols/hotstuff/block_tree.hpp"

namespace bft::hotstuff {

/// What must survive a crash (H23), persisted before any vote it covers.
struct safety_record {
  view_number last_voted_view{0}; ///< vheight, by view (H8)
  quorum_cert locked_qc;          ///< lockedQC; b_lock = locked_qc.block
  quorum_cert high_qc;            ///< qc_high (Alg. 4) / genericQC (Alg. 3)
  chain_root exec;                ///< b_exec: the last executed block

  static safety_record genesis();
  [[nodiscard]] bytes encode() const;
  static result<safety_record> decode(byte_view b);
  friend bool operator==(const safety_record&, const safety_record&) = default;
};

/// The key under which the replica persists its safety record.
inline constexpr const char* safety_key = "hotstuff/safety";
/// Prefix of the keys of stored blocks ("hotstuff/block/<hex hash>"): the uncommitted chain
/// and the executed window, so a restart does not depend on peers still holding them.
inline constexpr const char* block_key_prefix = "hotstuff/block/";

class safety {
public:
  safety(safety_record r, std::uint64_t mutants);

  [[nodiscard]] const safety_record& record() const { return rec_; }

  /// H8 + H7: b.view is above the last voted view, and safeNode(b, b.justify): b extends
  /// b_lock, or b.justify is newer than lockedQC. Empty string if safe, else the reason.
  [[nodiscard]] std::string check_vote(const block& b, const block_tree& t) const;
  /// Records the vote (vheight <- b.view) before the vote leaves (H8).
  void voted(view_number v);

  struct update_result {
    bool changed = false;          ///< the record changed (persist it)
    std::vector<block_ptr> commit; ///< newly committed blocks, oldest first (H15)
    bool conflict = false;         ///< a three-chain that does not extend b_exec (> f faulty)
  };
  /// update(b*) of Alg. 4 (H10-H15): updateQCHigh(b*.justify), lock on the two-chain, commit
  /// on the three-chain of direct parents with consecutive views. `t` must hold b*'s branch.
  update_result update(const block& bstar, const block_tree& t);
  /// updateQCHigh (H12): adopt `qc` if it is newer than qc_high. True if it changed.
  bool update_high_qc(const quorum_cert& qc);
  /// A state transfer moved the executed root (catch-up).
  void set_exec(chain_root r);
  /// What must only grow: the last voted, locked and high-QC views and the executed block.
  struct marks {
    view_number voted;
    view_number locked;
    view_number high;
    chain_root exec;
  };
  [[nodiscard]] marks progress() const;
  /// Postcondition of every step (always on): nothing of the record went back since `was`.
  void check_progress(const marks& was) const;

private:
  /// update() without its postconditions.
  update_result advance(const block& bstar, const block_tree& t);

  safety_record rec_;
  std::uint64_t mutants_;
};

} // namespace bft::hotstuff
