#pragma once
/// A Chained HotStuff replica as a pure engine (`step(event) -> ready`, protocols/common/
/// engine.hpp): HS section 5 (Alg. 3) for the chained protocol, Alg. 4 for the event-driven
/// form of update/onCommit/onReceiveVote, Alg. 5 for the pacemaker hooks.
///
/// It decodes and verifies every frame itself (bad input goes to ready.rejected and never
/// changes safety state), keeps the block tree, delegates voting, locking and committing to
/// `safety` and views, timeouts and leaders to `pacemaker`.
///
/// Owned by one driver (replica actor or simulator); not thread-safe. The signer and verifier
/// must outlive the replica.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "crypto/signer.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/equivocation_log.hpp"
#include "protocols/common/recovery.hpp"
#include "protocols/hotstuff/block_tree.hpp"
#include "protocols/hotstuff/messages.hpp"
#include "protocols/hotstuff/pacemaker.hpp"
#include "protocols/hotstuff/safety.hpp"

namespace bft::hotstuff {

class replica final : public bft::engine {
public:
  /// Restores the safety record from `state` (H23). Throws std::invalid_argument when the
  /// config names a replica outside the validator set or the stored record is corrupt.
  replica(engine_config cfg, const crypto::signer& s, const crypto::verifier& v,
          const persisted_state& state);

  ready step(const event& e) override;
  [[nodiscard]] engine_status status() const override;

  // Read-only views for tests and drivers.
  [[nodiscard]] const safety_record& safety_state() const { return safety_.record(); }
  [[nodiscard]] const block_tree& tree() const { return tree_; }
  [[nodiscard]] const pacemaker& pacemaker_state() const { return pacemaker_; }
  [[nodiscard]] std::size_t mempool_size() const { return mempool_.size(); }
  [[nodiscard]] std::size_t pending_blocks() const { return pending_.size(); }
  [[nodiscard]] const engine_config& config() const { return cfg_; }
  /// Amnesia guard: true while this replica may not vote, propose or send new-views
  /// (README "Amnesia guard"); the learned bound, if any.
  [[nodiscard]] bool guarded() const;
  [[nodiscard]] std::optional<recovery::guard_state> guard() const { return guard_; }

  /// Executed blocks kept beyond b_exec to answer peers' block requests.
  [[nodiscard]] std::size_t keep_executed() const;
  static constexpr std::uint32_t fetch_batch = 32;
  static constexpr std::size_t max_pending = 4096;
  static constexpr std::uint64_t max_future_views = 64;
  static constexpr std::size_t max_mempool = 200000;
  /// Envelope types of the amnesia guard's status messages (recovery.hpp). Kept out of
  /// msg_type so the frames of the core protocol keep their decoder.
  static constexpr std::uint16_t status_request_type = 0x0206;
  static constexpr std::uint16_t status_report_type = 0x0207;

private:
  struct vote_set {
    bft::height height{0};
    std::vector<qc_signature> sigs;
    std::uint64_t weight = 0;
    bool formed = false;
  };
  struct pending_block {
    block_ptr blk;
    bool proposal = false; ///< arrived as a proposal (a vote candidate), not as a fetch
    replica_id from{0};
  };
  struct fetch_state {
    replica_id peer{0};
    std::uint64_t ticks = 0;
    std::uint32_t attempts = 0;
    bool asked = true; ///< false while the first request waits cfg_.fetch_delay_ticks
  };
  struct transfer_target {
    std::uint64_t index = 0;
    digest root{};
    chain_root at;
    std::uint64_t ticks = 0;
  };

  void on_frame(const ev::received& r, ready& out);
  void on_proposal(const block_ptr& b, byte_view frame, replica_id from, bool own, ready& out);
  void on_vote(const vote& v, byte_view frame, bool any_leader, ready& out);
  void on_new_view(const new_view& m, ready& out);
  void on_block_request(const block_request& m, ready& out);
  void on_block_response(const block_response& m, replica_id from, ready& out);
  void on_tick(ready& out);
  /// Amnesia guard: status requests and reports (recovery.hpp).
  bool on_status_frame(const ev::received& r, ready& out);
  void send_status_request(ready& out);
  [[nodiscard]] recovery::frame_signing status_signing() const;
  /// True if signing a vote or proposal for view `v` could contradict a forgotten one.
  [[nodiscard]] bool guard_forbids(view_number v) const;
  void on_requests(const ev::client_requests& e, ready& out);
  void on_executed(const ev::executed& e);
  void on_state_installed(const ev::state_installed& e, ready& out);

  /// H1 with a cache: each QC (by its statement and all of its bytes) is verified once.
  result<void> check_qc(const quorum_cert& qc);
  /// Structure of a block against its justify QC (H3: justify.node is the parent).
  std::string check_structure(const block& b) const;
  /// Stores a block whose branch is local (H5), runs update (H10) and onCommit (H15).
  void deliver(const pending_block& p, ready& out);
  [[nodiscard]] bool waited_for(const digest& h) const; ///< a buffered block's missing parent
  void deliver_pending(ready& out);
  void try_vote(const block_ptr& b, ready& out);
  std::string check_validity(const block& b) const;
  void try_propose(ready& out);
  /// The requests of a new block extending `tip` (H25), in client_seq order per client.
  void take_requests(const digest& tip, std::vector<client_request>& into);
  /// True if a block between the executed root and `tip` (inclusive) carries requests.
  [[nodiscard]] bool branch_has_requests(const digest& tip) const;
  void on_qc(const quorum_cert& qc, ready& out);
  void enter_view(view_number v, pacemaker::entry how, ready& out);
  void send_new_view(view_number v, ready& out);
  void sync_views(ready& out);
  void fetch(const digest& h, replica_id peer, ready& out);
  void maybe_state_transfer(replica_id from, ready& out);
  /// Fetches the missing parent of every buffered block that waits with no fetch in flight.
  void refetch_missing(ready& out);
  void commit(const std::vector<block_ptr>& blocks, ready& out);
  void prune();
  /// H25: persists the committed table's entries of `changed` clients.
  void persist_clients(const std::set<public_key>& changed, ready& out);
  void send(std::optional<replica_id> to, bytes frame, ready& out);
  /// Postconditions of every step (always on; README "Invariants").
  void check_step(ready& out, const safety::marks& was_safety, view_number was_view,
                  std::uint64_t was_committed) const;
  void persist_if_dirty(ready& out);
  [[nodiscard]] bool mutant(std::uint64_t bit) const { return (cfg_.mutants & bit) != 0; }
  [[nodiscard]] sign_context sctx() const { return {cfg_.chain_id, cfg_.epoch}; }
  [[nodiscard]] replica_id next_peer(replica_id after) const;

  engine_config cfg_;
  const crypto::signer* signer_;
  const crypto::verifier* verifier_;
  safety safety_;
  pacemaker pacemaker_;
  block_tree tree_;
  bool dirty_ = false;
  view_number persisted_vote_view_{0}; ///< only used by the vote_before_persist mutant
  std::uint64_t committed_index_ = 0;

  /// QCs verified once (H1): (view, height, block, digest of the whole QC), see qc_key.
  std::set<std::tuple<std::uint64_t, std::uint64_t, digest, digest>> verified_qcs_;
  std::map<digest, pending_block> pending_;                  ///< blocks waiting for ancestors (H5)
  std::map<digest, fetch_state> fetches_;                    ///< outstanding block requests
  std::map<view_number, block_ptr> future_proposals_;        ///< vote candidates of later views
  std::map<std::pair<view_number, digest>, vote_set> votes_; ///< V[b] (H16)
  /// First signed proposal / vote per (signer, view), for equivocation evidence.
  equivocation_log signed_;
  static constexpr std::uint8_t slot_proposal = 1;
  static constexpr std::uint8_t slot_vote = 2;

  // Mempool: arrival order, and (client, seq) -> arrival number.
  std::map<std::uint64_t, client_request> mempool_;
  std::map<std::pair<public_key, std::uint64_t>, std::uint64_t> mempool_index_;
  std::uint64_t arrivals_ = 0;
  std::map<public_key, std::uint64_t> committed_seq_; ///< highest committed seq per client

  std::map<std::uint64_t, digest> roots_; ///< executed index -> state root (ev::executed)
  std::optional<transfer_target> transfer_;
  bytes last_vote_;                             ///< our latest vote frame, carried in new-views
  std::map<replica_id, view_number> told_view_; ///< our view, last sent to a lagging peer
  /// Highest view this replica asked for in a new-view (persisted before the new-view
  /// leaves, so a status report after a restart is still an upper bound; recovery.hpp).
  view_number asked_view_{0};
  /// Amnesia guard: set when the replica started without a record while
  /// engine_config::recovering, and persisted; `learned` once peers' reports bound it.
  std::optional<recovery::guard_state> guard_;
  std::optional<recovery::tracker> status_;
  bool guard_dirty_ = false;
  std::uint64_t status_ticks_ = 0;
  std::uint64_t resend_ticks_ = 0; ///< H26: ticks since our pending new-view was last sent
  bool status_due_ = false;
};

} // namespace bft::hotstuff
