#pragma once
/// The PBFT replica (Castro & Liskov OSDI'99 section 4, signature variant) as a pure engine:
/// `step(event) -> ready`. Owned by one driver (the replica actor or the simulator); not
/// thread-safe; no clock, threads or I/O. Same events in the same order give the same output.
///
/// Driver contract beyond engine.hpp:
///  - frames are decoded and verified here; bad ones end in `ready.rejected`;
///  - after a crash the driver rebuilds the replica from its persisted records. The replica
///    then resumes at its stable checkpoint h: the driver restores the application snapshot
///    taken at h, and the replica hands out again, with the same values, the entries above h
///    it had committed (their commit is part of the persisted log);
///  - `ev::executed` for index n with n % checkpoint_interval == 0 makes the replica
///    multicast its checkpoint (P16).
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <vector>

#include "crypto/signer.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/equivocation_log.hpp"
#include "protocols/common/recovery.hpp"
#include "protocols/pbft/checkpoints.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/probe.hpp"
#include "protocols/pbft/view_change_logic.hpp"

namespace bft::pbft {

class replica final : public bft::engine {
public:
  /// Restores the records in `stored`. Throws std::invalid_argument naming the record when one
  /// is corrupt (the policy of engine.hpp, `persisted_state`).
  replica(engine_config cfg, const crypto::signer& s, const crypto::verifier& v,
          const persisted_state& stored);

  ready step(const event& e) override;
  [[nodiscard]] engine_status status() const override;

  // ---- introspection for tests and the simulator's coverage ----
  [[nodiscard]] view_number view() const { return view_; }
  [[nodiscard]] bool view_changing() const { return view_changing_; }
  [[nodiscard]] std::uint64_t low_watermark() const { return stable_.seq.value(); }
  [[nodiscard]] std::uint64_t high_watermark() const { return low_watermark() + window_; }
  [[nodiscard]] std::uint64_t last_executed() const { return last_executed_; }
  [[nodiscard]] std::uint64_t timeout_ticks() const { return timeout_; }
  [[nodiscard]] bool view_timer_running() const { return view_deadline_.has_value(); }
  [[nodiscard]] std::size_t log_size() const { return log_.size(); }
  [[nodiscard]] std::size_t pending_requests() const { return pending_.size(); }
  [[nodiscard]] std::size_t evidence_records() const { return records_.size(); }
  /// The digest of the pre-prepare accepted for seq n in the current view, if any.
  [[nodiscard]] std::optional<digest> accepted(std::uint64_t n) const;
  [[nodiscard]] bool prepared(std::uint64_t n) const;
  [[nodiscard]] bool committed(std::uint64_t n) const;
  [[nodiscard]] replica_id primary() const { return primary_of(view_); }
  [[nodiscard]] const engine_config& config() const { return cfg_; }
  /// Amnesia guard (README "Amnesia guard"): true while some pre-prepare, prepare, commit,
  /// view-change or new-view could contradict what this replica signed before it lost its
  /// record; the learned bound, if any.
  [[nodiscard]] bool guarded() const;
  [[nodiscard]] std::optional<recovery::guard_state> guard() const { return guard_; }
  /// P31: the view-change timer expired and the replica waits for its peers' positions
  /// before it starts (or escalates) the view change.
  [[nodiscard]] bool probing() const { return probing_; }
  /// Envelope types of the amnesia guard's status messages (recovery.hpp).
  static constexpr std::uint16_t status_request_type = 0x010A;
  static constexpr std::uint16_t status_report_type = 0x010B;

private:
  struct vote_entry {
    digest d{};
    signature sig{};
  };
  /// One sequence number of the log (OSDI 4.2) above the stable checkpoint.
  struct slot {
    bool has_pp = false;
    view_number pp_view;
    digest d{};
    signature pp_sig{};
    batch_ptr requests; ///< null while the batch is unknown (fetch pending)
    view_number votes_view;
    std::map<replica_id, vote_entry> prepares;
    std::map<replica_id, vote_entry> commits;
    bool prepared_now = false;         ///< prepared in pp_view
    bool committed = false;            ///< committed-local (final: survives views)
    std::optional<prepared_cert> cert; ///< highest-view prepared certificate (P21)
    bytes own_pp;                      ///< primary: own pre-prepare frame, for retransmission
    bytes own_vote;                    ///< own prepare frame in votes_view
    bytes own_commit;                  ///< own commit frame in votes_view
  };
  using request_key = std::pair<public_key, std::uint64_t>;
  struct pending_entry {
    client_request req;
    std::uint64_t order = 0;
    std::uint64_t arrived = 0;
  };
  struct stored_vc {
    view_change msg;
    bytes frame;
  };

  /// What must only grow across a step (README "Invariants").
  struct marks {
    view_number view;
    std::uint64_t executed = 0;
    std::uint64_t stable = 0;
  };
  /// Postconditions of every step (always on).
  void check_step(ready& out, const marks& was) const;

  // event handlers
  void on_frame(ready& out, replica_id from, const bytes& frame);
  void on_tick(ready& out);
  /// `verified`: the driver already checked the client signatures (ev::client_requests).
  void on_client_requests(ready& out, const std::vector<client_request>& reqs, bool relayed,
                          std::optional<replica_id> from, bool verified = false);
  void on_executed(ready& out, const ev::executed& e);
  void on_state_installed(ready& out, const ev::state_installed& e);
  void on_pre_prepare(ready& out, replica_id from, const bytes& frame);
  void on_vote(ready& out, replica_id from, const bytes& frame);
  void on_checkpoint(ready& out, replica_id from, const bytes& frame);
  void on_view_change(ready& out, replica_id from, const bytes& frame);
  void on_new_view(ready& out, replica_id from, const bytes& frame);
  void on_fetch(ready& out, replica_id from, const bytes& frame);
  void on_batch_reply(ready& out, replica_id from, const bytes& frame);
  /// Amnesia guard: status requests and reports (recovery.hpp); false if not such a frame.
  bool on_status_frame(ready& out, replica_id from, const bytes& frame);
  void send_status_request(ready& out);
  [[nodiscard]] recovery::frame_signing status_signing() const;
  /// True if a pre-prepare, prepare or commit for (v, n) could contradict a forgotten one.
  [[nodiscard]] bool slot_forbidden(view_number v, std::uint64_t n) const;
  /// True if a view-change or new-view for `target` could contradict a forgotten one or omit
  /// a forgotten prepared certificate.
  [[nodiscard]] bool view_change_forbidden(view_number target) const;

  // P31: where are the others (replica_probe.cpp)
  /// The view-change timer expired: probe the peers first (unless guarded).
  void on_timer_expired(ready& out);
  /// The expiry action of P20/P28: view-change for view_ + 1 (doubled timeout if changing).
  void time_out(ready& out);
  bool on_probe_frame(ready& out, replica_id from, const bytes& frame);
  void send_probe(ready& out);
  void decide_probe(ready& out);
  void answer_probe(ready& out, const probe_position& p);
  [[nodiscard]] bool probe_due() const;
  [[nodiscard]] probe_position position() const;

  // normal case
  void propose(ready& out, bool force);
  bool verify_requests(const batch& b);
  void accept_pre_prepare(ready& out, std::uint64_t n, view_number v, const digest& d,
                          const signature& sig, batch_ptr requests, byte_view batch_bytes);
  void check_prepared(ready& out, std::uint64_t n);
  void check_committed(ready& out, std::uint64_t n);
  void try_execute(ready& out);
  void reset_votes(slot& s, view_number v);

  // checkpoints
  void add_checkpoint(ready& out, const checkpoint& c);
  void make_stable(ready& out, const checkpoint_proof& proof);

  // view change
  void start_view_change(ready& out, view_number v);
  void check_view_change_quorum();
  void maybe_send_new_view(ready& out);
  bool may_answer_laggard(replica_id peer);
  void enter_view(ready& out, view_number v, const new_view_plan& plan,
                  const std::vector<new_view_entry>& entries, const bytes& nv_frame);
  void apply_f_plus_one_rule(ready& out);
  void note_future_view(ready& out, replica_id signer, view_number v);
  [[nodiscard]] std::vector<replica_id> vc_senders_for(view_number v) const;

  // evidence
  void note_statement(ready& out, replica_id signer, std::uint8_t phase, std::uint64_t v,
                      std::uint64_t n, const digest& content, const bytes& frame);

  // persistence
  void restore(const persisted_state& stored);
  void persist_slot(ready& out, std::uint64_t n, const slot& s);
  void persist_view(ready& out);
  void erase_slot(ready& out, std::uint64_t n, const slot& s);

  // helpers
  [[nodiscard]] replica_id primary_of(view_number v) const;
  [[nodiscard]] bool is_primary() const { return primary_of(view_) == cfg_.self; }
  [[nodiscard]] bool in_window(std::uint64_t n) const {
    return n > low_watermark() && n <= high_watermark();
  }
  [[nodiscard]] verify_context vctx() const;
  [[nodiscard]] bool is_quorum(const std::vector<replica_id>& ids) const;
  void reject(ready& out, std::optional<replica_id> from, std::string reason);
  void send(ready& out, std::optional<replica_id> to, bytes frame);
  void persist(ready& out, std::string key, bytes value);
  void erase(ready& out, std::string key);
  void arm_timer();
  void drop_pending(const client_request& r);
  batch_ptr find_batch(const digest& d) const;
  void keep_batch(const digest& d, const batch_ptr& b, std::uint64_t n);
  void fetch_missing(ready& out);
  void resend(ready& out);
  void relay_late(ready& out);

  engine_config cfg_;
  const crypto::signer& signer_;
  const crypto::verifier& verifier_;
  signing_context sctx_;
  std::uint64_t window_ = 200; ///< k = H − h = 2K

  // safety state
  view_number view_{0};
  bool view_changing_ = false;
  bytes own_vc_;  ///< own view-change frame for view_ while view-changing
  bytes last_nv_; ///< the new-view frame of the last view entered (served to laggards)
  view_number last_nv_view_{0}; ///< the view of last_nv_
  checkpoint_proof stable_;     ///< h and its proof
  std::map<std::uint64_t, slot> log_;
  struct kept_batch {
    batch_ptr requests;
    std::uint64_t until = 0; ///< highest sequence number it was accepted at
  };
  /// The batch of every pre-prepare accepted (or fetched) above the stable checkpoint, by
  /// digest, kept until a stable checkpoint covers the highest sequence number it was accepted
  /// at (P17), even when a later view puts another digest at that number: a prepared
  /// certificate naming it may still bring it back into a new view's O, and then this replica,
  /// one of the certificate's signers, must be able to execute it and to serve it (P21, P30;
  /// F8).
  std::map<digest, kept_batch> batches_;
  std::uint64_t next_seq_ = 0; ///< primary: last assigned sequence number

  // execution
  std::uint64_t last_executed_ = 0;
  std::optional<std::pair<std::uint64_t, digest>> transfer_; ///< awaited state transfer
  std::map<public_key, std::uint64_t> executed_client_seq_;

  // requests
  std::map<request_key, pending_entry> pending_;
  std::map<std::uint64_t, request_key> queue_; ///< proposal order (primary)
  std::set<request_key> in_flight_;
  /// Backups: requests handed to this replica, with the tick at which they are relayed (P5)
  /// unless a pre-prepare carries them by then (cfg_.relay_delay_ticks > 0 only).
  std::deque<std::pair<std::uint64_t, request_key>> relay_due_;
  std::uint64_t order_counter_ = 0;

  // checkpoints (P16-P18): the votes, and when they prove a stable checkpoint
  checkpoints ckpts_;
  bytes own_ckpt_;
  std::uint64_t own_ckpt_seq_ = 0;

  // view change
  std::map<replica_id, stored_vc> vcs_;            ///< highest valid view-change per sender
  std::map<replica_id, view_number> future_views_; ///< highest view seen signed per replica
  /// Last tick at which each peer's stale view-change was answered: at most one answer per
  /// peer per resend interval, however many copies of its view-change arrive (F6).
  std::map<replica_id, std::uint64_t> answered_laggard_;
  /// Mutant vote_before_persist only: slot records held back to the next ready.
  std::vector<persist_op> late_records_;

  // timers (ticks)
  std::uint64_t now_ = 0;
  std::uint64_t timeout_ = 40;
  std::optional<std::uint64_t> view_deadline_;
  std::uint64_t resend_interval_ = 10;
  std::uint64_t last_resend_ = 0;
  std::uint64_t executed_at_last_resend_ = 0;
  std::uint64_t oldest_queued_tick_ = 0;

  // evidence: first signed statement per (signer, phase, view, seq)
  equivocation_log records_;

  bool restored_ = false; ///< committed entries restored: hand them out on the first step

  // amnesia guard (README "Amnesia guard")
  std::optional<recovery::guard_state> guard_;
  std::optional<recovery::tracker> status_;
  bool guard_dirty_ = false;
  bool status_due_ = false;
  std::uint64_t last_status_request_ = 0;
  // P31 (README "Where are the others")
  std::uint64_t probe_round_ = 0;
  std::uint64_t probe_first_round_ = 0; ///< first round of the current probing episode
  bool probing_ = false;                ///< the timer expired; the action waits for answers
  bool behind_ = false;                 ///< a peer of our view reported more executed
  std::uint64_t last_probe_ = 0;
  std::uint64_t executed_at_probe_ = 0;
  std::uint64_t executed_tick_ = 0;              ///< tick of the last execution or installed state
  std::map<replica_id, probe_position> answers_; ///< latest answer per peer, this episode
  std::map<replica_id, std::uint64_t> answered_round_; ///< last probe round answered per peer
  std::map<replica_id, std::uint64_t> resent_for_;     ///< tick of the last catch-up per peer
};

} // namespace bft::pbft
