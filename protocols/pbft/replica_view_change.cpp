#include "protocols/pbft/replica.hpp"

#include <algorithm>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/replica_detail.hpp"

// The PBFT replica's view change, P19-P29 (README "View change"); the rest of the
// replica is in replica.cpp.
namespace bft::pbft {

using namespace detail;

// ---- view change (P19-P29) ------------------------------------------------------------------

std::vector<replica_id> replica::vc_senders_for(view_number v) const {
  std::vector<replica_id> ids;
  for (const auto& [who, s] : vcs_)
    if (s.msg.new_view == v) ids.push_back(who);
  return ids;
}

void replica::start_view_change(ready& out, view_number v) {
  if (v < view_ || (v == view_ && view_changing_)) return;
  // Amnesia guard: an observer stays in its view and follows new-views (status reports carry
  // them); the timer is re-armed by the next execution.
  if (view_change_forbidden(v)) return;
  probing_ = false;
  view_ = v;
  view_changing_ = true;
  view_deadline_.reset();
  view_change vc;
  vc.new_view = v;
  vc.from = cfg_.self;
  vc.stable = stable_;
  if (!has_mutant(cfg_.mutants, view_change_drops_prepared))
    for (const auto& [n, s] : log_) // P21: every prepared certificate above h
      if (s.cert && n > stable_.seq.value() && n <= high_watermark())
        vc.prepared.push_back(*s.cert);
  sign(vc, sctx_, signer_);
  own_vc_ = encode(vc);
  persist_view(out); // before the view-change leaves (P20)
  vcs_[cfg_.self] = stored_vc{std::move(vc), own_vc_};
  send(out, std::nullopt, own_vc_);
  last_resend_ = now_;
  for (auto& [n, s] : log_) s.own_pp.clear();
  check_view_change_quorum();
  maybe_send_new_view(out);
}

void replica::check_view_change_quorum() {
  // P28: the timer starts only once 2f+1 view-changes for this view are held. A view-change
  // for a later view counts too: its sender left this view as well, and only its highest
  // view-change is kept. Without it, replicas one view behind a peer that moved on (its
  // view-change for this view lost) wait for a timer that never starts when one replica stays
  // out of view changes (a crashed replica, or one under the amnesia guard).
  if (!view_changing_ || view_deadline_) return;
  std::vector<replica_id> ids;
  for (const auto& [who, s] : vcs_)
    if (s.msg.new_view >= view_) ids.push_back(who);
  if (is_quorum(ids)) view_deadline_ = now_ + timeout_;
}

void replica::apply_f_plus_one_rule(ready& out) {
  // P29: f+1 view-changes from others for views above ours force us to the smallest.
  std::vector<replica_id> ids;
  std::optional<view_number> smallest;
  for (const auto& [who, s] : vcs_) {
    if (who == cfg_.self || s.msg.new_view <= view_) continue;
    ids.push_back(who);
    if (!smallest || s.msg.new_view < *smallest) smallest = s.msg.new_view;
  }
  if (smallest && cfg_.validators.weight_of(ids) >= cfg_.validators.one_honest_weight())
    start_view_change(out, *smallest);
}

void replica::note_future_view(ready& out, replica_id signer, view_number v) {
  // Catch-up: f+1 replicas signing messages of views above ours (pre-prepares, prepares,
  // commits, view-changes) prove that an honest replica left our view. Joining the view
  // change for the smallest of them makes the primary of that view send us its new-view if
  // it has one; entering a view still needs the new-view itself (P26, P27), so safety is
  // untouched. This extends P29, which counts view-changes only.
  if (signer == cfg_.self) return;
  auto& seen = future_views_[signer];
  if (v <= seen) return;
  seen = v;
  std::vector<replica_id> ids;
  std::optional<view_number> smallest;
  for (const auto& [who, w] : future_views_) {
    if (w <= view_) continue;
    ids.push_back(who);
    if (!smallest || w < *smallest) smallest = w;
  }
  if (smallest && cfg_.validators.weight_of(ids) >= cfg_.validators.one_honest_weight())
    start_view_change(out, *smallest);
}

void replica::on_view_change(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_view_change(frame);
  if (!m) {
    reject(out, from, "malformed view-change: " + err_text(m.error()));
    return;
  }
  if (m->from == cfg_.self) return;
  if (auto r = verify_view_change(*m, vctx()); !r) {
    // P22: dropped whole, reported, and it does not reach O.
    reject(out, from,
           "view-change of replica " + std::to_string(m->from.value()) + " for view " +
               std::to_string(m->new_view.value()) + " dropped: " + err_text(r.error()));
    return;
  }
  // Two different view-changes signed by one replica for one view are equivocation (K8).
  note_statement(out, m->from, static_cast<std::uint8_t>(phase::view_change), m->new_view.value(),
                 0, crypto::sha3_256(signing_payload(sctx_, *m)), frame);
  if (m->new_view < view_ || (m->new_view == view_ && !view_changing_)) {
    // The sender is behind: it still waits for the new-view of a view that we entered. Any
    // replica that holds that new-view (or a later one) gives it, since a new-view proves
    // itself (2f+1 signed view-changes, the primary's signature); the primary of that view
    // may already have moved on. A new-view draws no answer from a replica already in its
    // view, so this cannot ping-pong; answering a view-change with a view-change did, and,
    // multiplied by duplication, flooded the network (F6).
    if (!last_nv_.empty() && last_nv_view_ >= m->new_view && may_answer_laggard(m->from))
      send(out, m->from, last_nv_);
    return;
  }
  const auto sender = m->from;
  const auto target = m->new_view;
  auto it = vcs_.find(sender);
  if (it == vcs_.end())
    vcs_.emplace(sender, stored_vc{std::move(*m), frame});
  else if (target > it->second.msg.new_view)
    it->second = stored_vc{std::move(*m), frame};
  else
    return;
  apply_f_plus_one_rule(out);
  if (target > view_) note_future_view(out, sender, target);
  check_view_change_quorum();
  maybe_send_new_view(out);
}

bool replica::may_answer_laggard(replica_id peer) {
  // A laggard re-sends its view-change every resend interval while it waits; one answer per
  // interval reaches it, however many copies (duplicates, replays) arrive.
  auto [it, fresh] = answered_laggard_.try_emplace(peer, now_);
  if (fresh) return true;
  if (now_ - it->second < resend_interval_) return false;
  it->second = now_;
  return true;
}

void replica::maybe_send_new_view(ready& out) {
  if (!view_changing_ || primary_of(view_) != cfg_.self) return;
  auto mine = vcs_.find(cfg_.self);
  if (mine == vcs_.end() || mine->second.msg.new_view != view_) return;
  // P23: own view-change plus others (in id order) until a quorum.
  std::vector<replica_id> ids{cfg_.self};
  std::vector<view_change> vset{mine->second.msg};
  new_view nv;
  nv.view = view_;
  nv.from = cfg_.self;
  nv.view_changes.push_back(mine->second.frame);
  for (const auto& [who, s] : vcs_) {
    if (is_quorum(ids)) break;
    if (who == cfg_.self || s.msg.new_view != view_) continue;
    ids.push_back(who);
    vset.push_back(s.msg);
    nv.view_changes.push_back(s.frame);
  }
  if (!is_quorum(ids)) return;
  auto plan = compute_new_view(vset); // P24
  for (const auto& [n, d] : plan.entries) {
    new_view_entry e;
    e.seq = n;
    e.d = d;
    sign(e, view_, cfg_.self, sctx_, signer_);
    nv.entries.push_back(e);
  }
  sign(nv, sctx_, signer_);
  auto frame = encode(nv);
  enter_view(out, view_, plan, nv.entries, frame); // P25: logs O, persists, enters v+1
  send(out, std::nullopt, std::move(frame));
  propose(out, false);
}

void replica::on_new_view(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_new_view(frame);
  if (!m) {
    reject(out, from, "malformed new-view: " + err_text(m.error()));
    return;
  }
  if (m->view < view_) return; // stale
  if (m->from != primary_of(m->view)) {
    reject(out, from, "new-view not signed by the primary of its view");
    return;
  }
  const auto nv_payload = signing_payload(sctx_, *m);
  if (!cfg_.validators.contains(m->from) ||
      !verifier_.verify(cfg_.validators.find(m->from)->key, nv_payload, m->sig)) {
    reject(out, from, "new-view signature does not verify");
    return;
  }
  // Two different new-views signed by one primary for one view are equivocation (K8), even
  // when this replica already entered the view through the first one.
  note_statement(out, m->from, static_cast<std::uint8_t>(phase::new_view), m->view.value(), 0,
                 crypto::sha3_256(nv_payload), frame);
  if (m->view == view_ && !view_changing_) return; // known
  const auto c = vctx();
  std::vector<view_change> vset;
  std::set<replica_id> seen;
  for (const auto& f : m->view_changes) {
    auto vc = decode_view_change(f);
    if (!vc) {
      reject(out, from, "new-view carries a malformed view-change: " + err_text(vc.error()));
      return;
    }
    if (vc->new_view != m->view) {
      reject(out, from, "new-view carries a view-change for another view");
      return;
    }
    if (auto r = verify_view_change(*vc, c); !r) {
      reject(out, from, "new-view carries an invalid view-change: " + err_text(r.error()));
      return;
    }
    if (!seen.insert(vc->from).second) {
      reject(out, from, "new-view carries two view-changes of one replica");
      return;
    }
    vset.push_back(std::move(*vc));
  }
  if (!is_quorum(std::vector<replica_id>(seen.begin(), seen.end()))) {
    reject(out, from, "new-view holds fewer than 2f+1 view-changes");
    return;
  }
  auto plan = compute_new_view(vset);
  if (!has_mutant(cfg_.mutants, new_view_not_recomputed)) { // P26: recompute O
    bool same = plan.entries.size() == m->entries.size();
    for (std::size_t i = 0; same && i < plan.entries.size(); ++i)
      same =
          plan.entries[i].first == m->entries[i].seq && plan.entries[i].second == m->entries[i].d;
    if (!same) {
      reject(out, from, "new-view O differs from its recomputation");
      return;
    }
  }
  for (const auto& e : m->entries) {
    if (e.seq.value() > plan.min_s.seq.value() + window_ || e.seq <= plan.min_s.seq) {
      reject(out, from, "new-view O entry outside the watermarks");
      return;
    }
    if (!verifier_.verify(cfg_.validators.find(m->from)->key,
                          signing_payload(sctx_, m->view, e.seq, e.d, m->from), e.pp_sig)) {
      reject(out, from, "new-view O entry carries a forged pre-prepare signature");
      return;
    }
  }
  enter_view(out, m->view, plan, m->entries, frame);
}

void replica::enter_view(ready& out, view_number v, const new_view_plan& plan,
                         const std::vector<new_view_entry>& entries, const bytes& nv_frame) {
  std::map<digest, batch_ptr> known; // taken before make_stable drops batches at or below h
  for (const auto& [d, k] : batches_) known.emplace(d, k.requests);
  if (plan.min_s.seq > stable_.seq) make_stable(out, plan.min_s); // P25/P30
  view_ = v;
  view_changing_ = false;
  probing_ = false;
  own_vc_.clear();
  last_nv_ = nv_frame;
  last_nv_view_ = v;
  view_deadline_.reset();
  persist_view(out);
  for (auto& [n, s] : log_) {
    reset_votes(s, v);
    s.own_pp.clear();
  }
  in_flight_.clear();
  const auto h = stable_.seq.value();
  const bool backup = primary_of(v) != cfg_.self;
  for (const auto& e : entries) {
    const auto n = e.seq.value();
    if (n <= h) continue;
    batch_ptr b;
    if (e.d == null_digest)
      b = empty_batch();
    else if (auto it = known.find(e.d); it != known.end())
      b = it->second;
    accept_pre_prepare(out, n, v, e.d, e.pp_sig, b, {});
    if (!backup || slot_forbidden(v, n)) continue;
    vote p; // P26: a prepare per entry
    p.phase = msg_type::prepare;
    p.view = v;
    p.seq = e.seq;
    p.d = e.d;
    p.from = cfg_.self;
    sign(p, sctx_, signer_);
    slot& s = log_[n];
    s.own_vote = encode(p);
    s.prepares.emplace(cfg_.self, vote_entry{e.d, p.sig});
    send(out, std::nullopt, s.own_vote);
  }
  if (!backup) next_seq_ = std::max(h, plan.max_s);
  // Requests not carried by O go back to the proposal queue.
  queue_.clear();
  for (const auto& [key, p] : pending_)
    if (!in_flight_.contains(key)) queue_.emplace(p.order, key);
  for (auto it = vcs_.begin(); it != vcs_.end();)
    it = it->second.msg.new_view <= v ? vcs_.erase(it) : std::next(it);
  records_.forget_if([&](const signed_slot& s) { return s.view + 1 < v.value(); });
  fetch_missing(out);
  try_execute(out);
  arm_timer();
}

} // namespace bft::pbft
