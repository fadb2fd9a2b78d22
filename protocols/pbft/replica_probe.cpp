/// Rule P31 of the PBFT engine (README "Where are the others"): before a replica starts or
/// escalates a view change on its timer it learns where its peers are, and a replica that is
/// behind asks them to send again what it missed. Split from replica.cpp; same class.
#include <algorithm>

#include "protocols/pbft/replica.hpp"

namespace bft::pbft {

probe_position replica::position() const {
  probe_position p;
  p.from = cfg_.self;
  p.round = probe_round_;
  p.view = view_;
  p.changing = view_changing_;
  p.executed = last_executed_;
  p.progressing = last_executed_ > 0 && now_ - executed_tick_ < cfg_.base_timeout_ticks;
  return p;
}

void replica::on_timer_expired(ready& out) {
  // A guarded replica sends no view-change anyway (start_view_change refuses it); one alone
  // in the validator set has nobody to ask.
  if (view_change_forbidden(view_number{view_.value() + 1}) || cfg_.validators.size() == 1) {
    time_out(out);
    return;
  }
  probing_ = true;
  answers_.clear();
  probe_first_round_ = probe_round_ + 1;
  send_probe(out);
}

bool replica::probe_due() const {
  if (guarded() || now_ - last_probe_ < resend_interval_) return false;
  if (probing_ || probe_round_ == 0) return true; // waiting for answers; first step
  if (view_changing_) return false;               // its view-change is resent and answered instead
  if (behind_) return true;
  // Stuck while something waits, or idle for long: a replica that missed entries while it
  // was paused, cut off or down may have nothing else to tell it so.
  const auto since = now_ - last_probe_;
  const bool waiting = !pending_.empty() || log_.upper_bound(last_executed_) != log_.end();
  if (waiting && last_executed_ == executed_at_probe_ && since >= timeout_) return true;
  return since >= 4 * std::max<std::uint64_t>(1, cfg_.base_timeout_ticks);
}

void replica::send_probe(ready& out) {
  ++probe_round_;
  last_probe_ = now_;
  executed_at_probe_ = last_executed_;
  behind_ = false; // set again by the answers while some peer of our view is ahead
  send(out, std::nullopt, encode_probe(probe_type, position()));
}

bool replica::on_probe_frame(ready& out, replica_id from, const bytes& frame) {
  auto env = codec::peek_envelope(frame);
  if (!env || (env->type != probe_type && env->type != probe_answer_type)) return false;
  auto p = decode_probe(env->type, frame);
  if (!p || p->from != from || from == cfg_.self || !cfg_.validators.contains(from)) {
    reject(out, from, "malformed probe frame, or not from its sender");
    return true;
  }
  if (env->type == probe_type) {
    answer_probe(out, *p);
    return true;
  }
  if (p->round > probe_round_) return true; // not an answer to anything we asked
  if (p->view == view_ && !p->changing && !view_changing_ && p->executed > last_executed_)
    behind_ = true;
  if (p->round < probe_first_round_) return true; // an answer from before this episode
  auto [it, fresh] = answers_.try_emplace(from, *p);
  if (!fresh && p->round >= it->second.round) it->second = *p;
  if (probing_) decide_probe(out);
  return true;
}

void replica::answer_probe(ready& out, const probe_position& p) {
  // One answer per probe round: copies of the round just answered get none (a restarted
  // peer counts its rounds from 1 again, so an older round is answered too) ...
  auto [round, first] = answered_round_.try_emplace(p.from, p.round);
  if (!first) {
    if (p.round == round->second) return;
    round->second = p.round;
  }
  auto mine = position();
  mine.round = p.round;
  send(out, p.from, encode_probe(probe_answer_type, mine));
  // ... and what it is owed at most once per half resend interval.
  const auto gap = std::max<std::uint64_t>(1, resend_interval_ / 2);
  auto [last, fresh] = resent_for_.try_emplace(p.from, now_);
  if (!fresh) {
    if (now_ - last->second < gap) return;
    last->second = now_;
  }
  // A peer in an older view, or still changing to the view we entered: the new-view proves
  // itself (P26) and moves it here.
  if (!last_nv_.empty() && (p.view < last_nv_view_ || (p.view == last_nv_view_ && p.changing)))
    send(out, p.from, last_nv_);
  // A peer of our view that executed less: what it needs to commit the next entries, the
  // primary's pre-prepare (rebuilt from the log: its signature covers the header only, and
  // the batch is bound by its digest), our prepare and commit, and our latest checkpoint
  // (which, with 2f others, lets it fetch the state of a checkpoint it lies below, P30).
  if (view_changing_ || p.view != view_ || p.changing || p.executed >= last_executed_) return;
  const auto k = std::max<std::uint64_t>(1, cfg_.checkpoint_interval);
  const std::uint64_t max_slots = std::max<std::uint64_t>(4, k / 2);
  std::uint64_t slots = 0;
  for (auto it = log_.upper_bound(p.executed);
       it != log_.end() && it->first <= last_executed_ && slots < max_slots; ++it) {
    const slot& s = it->second;
    if (!s.has_pp || s.pp_view != view_ || s.votes_view != view_) continue;
    ++slots;
    if (s.requests) {
      pre_prepare h;
      h.view = view_;
      h.seq = seq_number{it->first};
      h.d = s.d;
      h.from = primary_of(view_);
      h.sig = s.pp_sig;
      send(out, p.from, encode_pre_prepare(h, encode_batch(*s.requests)));
    }
    if (!s.own_vote.empty()) send(out, p.from, s.own_vote);
    if (!s.own_commit.empty()) send(out, p.from, s.own_commit);
  }
  if (!own_ckpt_.empty() && own_ckpt_seq_ > p.executed) send(out, p.from, own_ckpt_);
}

void replica::decide_probe(ready& out) {
  // P31: the peers that make a view change of ours pointless. In our view and normal: if we
  // are changing to it, it was entered (its new-view comes with the answer); if we are in
  // it, its primary still orders (the peer executed more than we did, or executed something
  // within the last timeout: we are behind, or our requests are, not the primary; a catch-up
  // by state transfer can make our number equal to the one a peer answered a moment ago). Normal in
  // a later view: its new-view comes too. f+1 of them include an honest one, so the cluster is not
  // stuck where we are: we catch up instead of moving on alone.
  std::vector<replica_id> hold;
  std::vector<replica_id> heard{cfg_.self};
  for (const auto& [who, a] : answers_) {
    heard.push_back(who);
    const bool here = a.view == view_ && !a.changing &&
                      (view_changing_ || a.executed > last_executed_ || a.progressing);
    const bool further = a.view > view_ && !a.changing;
    if (here || further) hold.push_back(who);
  }
  if (cfg_.validators.weight_of(hold) >= cfg_.validators.one_honest_weight()) {
    probing_ = false;
    view_deadline_ = now_ + timeout_; // look again after one more timeout
    return;
  }
  if (!is_quorum(heard)) return; // wait (probing again every resend interval)
  probing_ = false;
  time_out(out);
}

} // namespace bft::pbft
