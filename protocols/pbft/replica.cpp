#include "protocols/pbft/replica.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/common/assert.hpp"
#include "protocols/pbft/log_record.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/replica_detail.hpp"

namespace bft::pbft {
using namespace detail;

// ---- helpers --------------------------------------------------------------------------------

replica_id replica::primary_of(view_number v) const {
  return pbft::primary_of(v, cfg_.validators, cfg_.leader_schedule);
}

verify_context replica::vctx() const {
  verify_context c{cfg_.validators, verifier_, sctx_, cfg_.leader_schedule};
  c.log_window = window_;
  c.skip_certificates = has_mutant(cfg_.mutants, skip_certificate_check);
  return c;
}

bool replica::is_quorum(const std::vector<replica_id>& ids) const {
  return cfg_.validators.is_quorum(cfg_.validators.weight_of(ids));
}

void replica::reject(ready& out, std::optional<replica_id> from, std::string reason) {
  out.rejected.push_back(rejection{from, std::move(reason)});
}

void replica::send(ready& out, std::optional<replica_id> to, bytes frame) {
  out.messages.push_back(outbound{to, std::move(frame)});
}

void replica::persist(ready& out, std::string key, bytes value) {
  out.persist.push_back(persist_op{std::move(key), std::move(value), false});
}

void replica::erase(ready& out, std::string key) {
  out.persist.push_back(persist_op{std::move(key), {}, true});
}

std::optional<digest> replica::accepted(std::uint64_t n) const {
  auto it = log_.find(n);
  if (it == log_.end() || !it->second.has_pp || it->second.pp_view != view_) return std::nullopt;
  return it->second.d;
}

bool replica::prepared(std::uint64_t n) const {
  auto it = log_.find(n);
  return it != log_.end() && it->second.prepared_now && it->second.pp_view == view_;
}

bool replica::committed(std::uint64_t n) const {
  auto it = log_.find(n);
  return (it != log_.end() && it->second.committed) || n <= last_executed_;
}

engine_status replica::status() const {
  engine_status s;
  s.view = view_;
  s.leader = primary_of(view_);
  s.committed_index = last_executed_;
  s.stable_index = stable_.seq.value();
  s.view_changing = view_changing_;
  return s;
}

batch_ptr replica::find_batch(const digest& d) const {
  if (d == null_digest) return empty_batch();
  auto it = batches_.find(d);
  return it == batches_.end() ? nullptr : it->second.requests;
}

void replica::keep_batch(const digest& d, const batch_ptr& b, std::uint64_t n) {
  if (d == null_digest || !b) return;
  auto& k = batches_[d];
  if (!k.requests) k.requests = b;
  k.until = std::max(k.until, n);
}

// ---- step -----------------------------------------------------------------------------------

ready replica::step(const event& e) {
  ready out;
  const marks was{view_, last_executed_, stable_.seq.value()};
  // Mutant vote_before_persist: the records of the previous ready go out only now, after
  // that ready's messages.
  for (auto& op : std::exchange(late_records_, {})) out.persist.push_back(std::move(op));
  if (guard_dirty_) { // the guard is durable before anything else of the first ready
    guard_dirty_ = false;
    persist(out, guard_key, guard_->encode());
  }
  if (status_due_) {
    status_due_ = false;
    send_status_request(out);
  }
  if (restored_) {
    restored_ = false;
    if (transfer_) { // the state transfer asked before the crash is still owed
      state_transfer_request req;
      req.index = transfer_->first;
      req.state_root = transfer_->second;
      for (const auto& s : stable_.sigs)
        if (s.from != cfg_.self) req.sources.push_back(s.from);
      out.state_transfer = std::move(req);
    }
    try_execute(out);
  }
  std::visit(overloaded{
                 [&](const ev::received& r) { on_frame(out, r.from, r.frame); },
                 [&](const ev::tick&) { on_tick(out); },
                 [&](const ev::client_requests& c) {
                   on_client_requests(out, c.requests, false, std::nullopt, c.verified);
                 },
                 [&](const ev::executed& x) { on_executed(out, x); },
                 [&](const ev::state_installed& x) { on_state_installed(out, x); },
             },
             e);
  // Whatever the event, a primary with nothing left in flight orders what waits at once.
  propose(out, false);
  if (guard_dirty_) { // learned during this step: durable before this ready's messages
    guard_dirty_ = false;
    out.persist.insert(out.persist.begin(), persist_op{guard_key, guard_->encode(), false});
  }
  check_step(out, was);
  return out;
}

void replica::check_step(ready& out, const marks& was) const {
  const bool m = cfg_.mutants != 0;
  auto& alarms = out.alarms;
  BFT_INVARIANT(view_ >= was.view, "the view never decreases", m, alarms);
  BFT_INVARIANT(last_executed_ >= was.executed, "the last executed sequence never decreases", m,
                alarms);
  BFT_INVARIANT(stable_.seq.value() >= was.stable, "the stable checkpoint never moves down", m,
                alarms);
  BFT_INVARIANT(stable_.seq.value() <= last_executed_ || transfer_,
                "the low watermark passes the last executed sequence only while a state "
                "transfer to it is owed",
                m, alarms);
  BFT_INVARIANT(log_.empty() || log_.begin()->first > stable_.seq.value(),
                "the log holds nothing at or below the stable checkpoint (P17)", m, alarms);
  BFT_INVARIANT(!is_primary() || view_changing_ || next_seq_ <= high_watermark(),
                "the primary's next sequence number stays inside the window", m, alarms);
  for (std::size_t i = 1; i < out.committed.size(); ++i)
    BFT_INVARIANT(out.committed[i].index == out.committed[i - 1].index + 1,
                  "committed entries are handed out in sequence order, without a gap", m, alarms);
  BFT_INVARIANT(out.committed.empty() || out.committed.back().index == last_executed_,
                "the last committed entry is the last executed sequence", m, alarms);
}

void replica::on_frame(ready& out, replica_id from, const bytes& frame) {
  // The link layer hands over frames only from links that proved a validator id; should one
  // come from anyone else, nothing is answered or fetched from it (found by fuzzing).
  if (!cfg_.validators.contains(from) || from == cfg_.self) {
    reject(out, from, "frame from a link that is not another validator's");
    return;
  }
  if (on_status_frame(out, from, frame) || on_probe_frame(out, from, frame)) return;
  auto t = frame_type(frame);
  if (!t) {
    reject(out, from, "frame is not a PBFT frame of a supported version");
    return;
  }
  switch (*t) {
  case msg_type::pre_prepare: on_pre_prepare(out, from, frame); break;
  case msg_type::prepare:
  case msg_type::commit: on_vote(out, from, frame); break;
  case msg_type::checkpoint: on_checkpoint(out, from, frame); break;
  case msg_type::view_change: on_view_change(out, from, frame); break;
  case msg_type::new_view: on_new_view(out, from, frame); break;
  case msg_type::request_relay: {
    auto m = decode_request_relay(frame);
    if (!m) {
      reject(out, from, "malformed request relay: " + err_text(m.error()));
      return;
    }
    on_client_requests(out, m->requests, true, from);
    break;
  }
  case msg_type::fetch_batch: on_fetch(out, from, frame); break;
  case msg_type::batch_reply: on_batch_reply(out, from, frame); break;
  }
}

// ---- clients (P2, P3, P5, P19) ------------------------------------------------------------

void replica::on_client_requests(ready& out, const std::vector<client_request>& reqs, bool relayed,
                                 std::optional<replica_id> from, bool verified) {
  std::vector<client_request> fresh;
  for (const auto& r : reqs) {
    request_key key{r.client, r.client_seq};
    if (auto it = executed_client_seq_.find(r.client);
        it != executed_client_seq_.end() && r.client_seq <= it->second) {
      if (!relayed) reject(out, from, "client request already executed (P3)");
      continue;
    }
    if (pending_.contains(key)) continue;
    if (pending_.size() >= max_pending_requests) {
      reject(out, from, "pending request pool is full");
      continue;
    }
    if (!verified && !verifier_.verify(r.client,
                                       codec::signing_bytes(client_request::sign_tag, cfg_.chain_id,
                                                            cfg_.epoch, r.body()),
                                       r.sig)) {
      reject(out, from, "client request signature does not verify");
      continue;
    }
    auto order = ++order_counter_;
    pending_.emplace(key, pending_entry{r, order, now_});
    if (!in_flight_.contains(key)) queue_.emplace(order, key);
    if (!relayed) fresh.push_back(r);
  }
  // P5: a backup relays what it received to the others, so the primary can order it and
  // every backup arms its timer; with a relay delay, only what no pre-prepare carries by then.
  if (!fresh.empty() && !is_primary()) {
    if (cfg_.relay_delay_ticks == 0)
      send(out, std::nullopt, encode(request_relay{std::move(fresh)}));
    else
      for (const auto& r : fresh)
        relay_due_.emplace_back(now_ + cfg_.relay_delay_ticks, request_key{r.client, r.client_seq});
  }
  arm_timer();
  propose(out, false);
}

void replica::drop_pending(const client_request& r) {
  in_flight_.erase({r.client, r.client_seq});
  auto it = pending_.lower_bound({r.client, 0});
  while (it != pending_.end() && it->first.first == r.client && it->first.second <= r.client_seq) {
    queue_.erase(it->second.order);
    in_flight_.erase(it->first);
    it = pending_.erase(it);
  }
}

void replica::arm_timer() {
  // P19 arms backups; the primary arms it too: a primary whose view the others already left
  // (it missed the view change, or restarted into it) learns so only by timing out.
  if (!view_changing_ && !view_deadline_ && !pending_.empty()) view_deadline_ = now_ + timeout_;
}

// ---- normal case (P7-P15) -----------------------------------------------------------------

void replica::propose(ready& out, bool force) {
  if (!is_primary() || view_changing_) return;
  const std::size_t max_batch = std::clamp<std::size_t>(cfg_.batch_size, 1, max_batch_requests);
  while (!queue_.empty() && next_seq_ < high_watermark()) {
    if (slot_forbidden(view_, next_seq_ + 1)) break; // amnesia guard: it may have used n
    // A partial batch waits up to batch_delay_ticks only while earlier batches are still in
    // flight (they are what a bigger batch would wait for anyway); with nothing in flight it
    // goes at once, so an idle cluster orders a request in a few message delays.
    if (queue_.size() < max_batch && !force && next_seq_ > last_executed_) {
      auto it = pending_.find(queue_.begin()->second);
      if (it != pending_.end() && now_ - it->second.arrived < cfg_.batch_delay_ticks) break;
    }
    auto b = std::make_shared<batch>();
    while (!queue_.empty() && b->size() < max_batch) {
      auto key = queue_.begin()->second;
      queue_.erase(queue_.begin());
      auto it = pending_.find(key);
      if (it == pending_.end() || in_flight_.contains(key)) continue;
      in_flight_.insert(key);
      b->push_back(it->second.req);
    }
    if (b->empty()) continue;
    auto enc = encode_batch(*b);
    pre_prepare pp;
    pp.view = view_;
    pp.seq = seq_number{++next_seq_};
    pp.d = crypto::sha3_256(enc);
    pp.from = cfg_.self;
    sign(pp, sctx_, signer_);
    auto frame = encode_pre_prepare(pp, enc);
    const auto n = pp.seq.value();
    BFT_INVARIANT(in_window(n), "a primary assigns sequence numbers inside the window only",
                  cfg_.mutants != 0, out.alarms);
    accept_pre_prepare(out, n, view_, pp.d, pp.sig, std::move(b), enc);
    log_[n].own_pp = frame;
    send(out, std::nullopt, std::move(frame)); // P7: persisted above, in the same ready
    check_prepared(out, n);
  }
}

bool replica::verify_requests(const batch& b) {
  for (const auto& r : b) {
    auto it = pending_.find({r.client, r.client_seq});
    if (it != pending_.end() && it->second.req == r) continue; // verified on admission
    if (!verifier_.verify(
            r.client,
            codec::signing_bytes(client_request::sign_tag, cfg_.chain_id, cfg_.epoch, r.body()),
            r.sig))
      return false;
  }
  return true;
}

void replica::reset_votes(slot& s, view_number v) {
  s.votes_view = v;
  s.prepares.clear();
  s.commits.clear();
  s.own_vote.clear();
  s.own_commit.clear();
  s.prepared_now = false;
}

void replica::accept_pre_prepare(ready& out, std::uint64_t n, view_number v, const digest& d,
                                 const signature& sig, batch_ptr requests, byte_view batch_bytes) {
  slot& s = log_[n];
  BFT_INVARIANT(!s.has_pp || v >= s.pp_view, "a slot's pre-prepare view never decreases",
                cfg_.mutants != 0, out.alarms);
  if (s.committed && s.d != d) // only more than f faulty replicas can make a new view do this
    out.alarms.push_back("pbft: sequence " + std::to_string(n) + ", committed here, is " +
                         "re-proposed in view " + std::to_string(v.value()) +
                         " with another batch");
  if (s.votes_view != v) reset_votes(s, v);
  // The batch of an earlier pre-prepare at n stays in batches_: a certificate may name it.
  if (!requests) requests = find_batch(d);
  s.has_pp = true;
  s.pp_view = v;
  s.d = d;
  s.pp_sig = sig;
  s.prepared_now = false;
  s.own_pp.clear();
  s.requests = std::move(requests);
  keep_batch(d, s.requests, n);
  if (s.requests && v == view_)
    for (const auto& r : *s.requests) in_flight_.insert({r.client, r.client_seq});
  persist_slot(out, n, s);
  if (s.requests && d != null_digest && !batch_bytes.empty())
    persist(out, batch_key(d), bytes(batch_bytes.begin(), batch_bytes.end()));
}

void replica::on_pre_prepare(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_pre_prepare(frame);
  if (!m) {
    reject(out, from, "malformed pre-prepare: " + err_text(m.error()));
    return;
  }
  const auto v = m->view;
  const auto n = m->seq.value();
  if (m->from != primary_of(v)) {
    reject(out, from, "pre-prepare not signed by the primary of its view");
    return;
  }
  if (!verify(*m, vctx())) {
    reject(out, from, "pre-prepare signature does not verify");
    return;
  }
  note_statement(out, m->from, static_cast<std::uint8_t>(phase::pre_prepare), v.value(), n, m->d,
                 frame);
  if (m->from == cfg_.self) return; // our own frame echoed back
  if (v > view_) note_future_view(out, m->from, v);
  if (v != view_ || view_changing_) {
    reject(out, from,
           v < view_ ? "pre-prepare for an old view"
                     : (view_changing_ && v == view_ ? "pre-prepare while view-changing"
                                                     : "pre-prepare for a future view"));
    return;
  }
  if (!in_window(n) && !has_mutant(cfg_.mutants, accept_outside_watermarks)) {
    reject(out, from, "pre-prepare outside the watermarks (h, H]");
    return;
  }
  auto region = batch_region(frame);
  const digest d = m->requests->empty() ? null_digest : crypto::sha3_256(region);
  if (d != m->d) {
    reject(out, from, "pre-prepare digest does not match its batch");
    return;
  }
  if (auto it = log_.find(n); it != log_.end() && it->second.has_pp && it->second.pp_view == v) {
    if (it->second.d != d)
      reject(out, from, "pre-prepare conflicts with the digest accepted for (v, n)");
    return;
  }
  if (!verify_requests(*m->requests)) {
    reject(out, from, "pre-prepare carries a request whose client signature does not verify");
    return;
  }
  accept_pre_prepare(out, n, v, d, m->sig, m->requests, region);
  if (slot_forbidden(v, n)) { // amnesia guard: log it and follow, but sign nothing for (v, n)
    check_prepared(out, n);
    return;
  }
  // P9: a backup multicasts its prepare, after the log entry is persisted (same ready).
  vote p;
  p.phase = msg_type::prepare;
  p.view = v;
  p.seq = m->seq;
  p.d = d;
  p.from = cfg_.self;
  sign(p, sctx_, signer_);
  slot& s = log_[n];
  s.own_vote = encode(p);
  s.prepares.emplace(cfg_.self, vote_entry{d, p.sig});
  send(out, std::nullopt, s.own_vote);
  check_prepared(out, n);
}

void replica::on_vote(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_vote(frame);
  if (!m) {
    reject(out, from, "malformed prepare/commit: " + err_text(m.error()));
    return;
  }
  if (!verify(*m, vctx())) {
    reject(out, from, "prepare/commit signature does not verify");
    return;
  }
  const auto ph = m->phase == msg_type::prepare ? phase::prepare : phase::commit;
  const auto n = m->seq.value();
  note_statement(out, m->from, static_cast<std::uint8_t>(ph), m->view.value(), n, m->d, frame);
  if (m->view > view_) note_future_view(out, m->from, m->view);
  if (m->view != view_ || view_changing_) {
    reject(out, from,
           m->view < view_ ? "prepare/commit for an old view"
                           : "prepare/commit for a future view or while view-changing");
    return;
  }
  if (!in_window(n)) {
    reject(out, from, "prepare/commit outside the watermarks (h, H]");
    return;
  }
  if (m->phase == msg_type::prepare && m->from == primary_of(view_)) {
    reject(out, from, "the primary sent a prepare (P9)");
    return;
  }
  slot& s = log_[n];
  if (s.votes_view != view_) reset_votes(s, view_);
  auto& box = m->phase == msg_type::prepare ? s.prepares : s.commits;
  box.emplace(m->from, vote_entry{m->d, m->sig}); // a second vote of one signer is ignored
  if (m->phase == msg_type::prepare)
    check_prepared(out, n);
  else
    check_committed(out, n);
}

void replica::check_prepared(ready& out, std::uint64_t n) {
  auto it = log_.find(n);
  if (it == log_.end()) return;
  slot& s = it->second;
  if (!s.has_pp || s.pp_view != view_ || s.votes_view != view_ || s.prepared_now) return;
  const auto p = primary_of(view_);
  std::vector<replica_id> ids{p};
  prepared_cert c;
  c.view = view_;
  c.seq = seq_number{n};
  c.d = s.d;
  c.pp_sig = s.pp_sig;
  for (const auto& [who, e] : s.prepares) {
    if (who == p || e.d != s.d) continue; // P11
    ids.push_back(who);
    c.prepares.push_back(signed_by{who, e.sig});
  }
  const auto w = cfg_.validators.weight_of(ids);
  if (has_mutant(cfg_.mutants, commit_after_2f) ? w + 1 < cfg_.validators.quorum_weight()
                                                : !cfg_.validators.is_quorum(w))
    return; // P11
  BFT_INVARIANT(!s.cert || s.cert->view <= view_, "a prepared certificate's view never decreases",
                cfg_.mutants != 0, out.alarms);
  BFT_INVARIANT(!s.cert || s.cert->view != view_ || s.cert->d == s.d,
                "one prepared digest per (view, sequence)", cfg_.mutants != 0, out.alarms);
  s.prepared_now = true;
  s.cert = std::move(c);
  persist_slot(out, n, s);
  if (s.own_commit.empty() && !slot_forbidden(view_, n)) { // P13: once
    vote cm;
    cm.phase = msg_type::commit;
    cm.view = view_;
    cm.seq = seq_number{n};
    cm.d = s.d;
    cm.from = cfg_.self;
    sign(cm, sctx_, signer_);
    s.own_commit = encode(cm);
    s.commits.emplace(cfg_.self, vote_entry{s.d, cm.sig});
    send(out, std::nullopt, s.own_commit);
  }
  check_committed(out, n);
}

void replica::check_committed(ready& out, std::uint64_t n) {
  auto it = log_.find(n);
  if (it == log_.end()) return;
  slot& s = it->second;
  if (!s.prepared_now || s.committed || s.votes_view != view_) return;
  std::vector<replica_id> ids;
  for (const auto& [who, e] : s.commits)
    if (e.d == s.d) ids.push_back(who);
  const auto w = cfg_.validators.weight_of(ids);
  const bool enough = has_mutant(cfg_.mutants, commit_after_2f)
                          ? w + 1 >= cfg_.validators.quorum_weight()
                          : cfg_.validators.is_quorum(w);
  if (!enough) return; // P14
  s.committed = true;
  persist_slot(out, n, s);
  try_execute(out);
}

void replica::try_execute(ready& out) {
  bool progressed = false;
  while (!transfer_) {
    auto it = log_.find(last_executed_ + 1);
    if (it == log_.end() || !it->second.committed) break;
    slot& s = it->second;
    if (!s.requests) {
      if (s.d != null_digest) break; // fetch pending
      s.requests = empty_batch();
    }
    committed_entry e;
    e.index = it->first;
    e.id = s.d;
    for (const auto& r : *s.requests) {
      auto [last, fresh] = executed_client_seq_.try_emplace(r.client, r.client_seq);
      if (fresh || r.client_seq > last->second) { // P3: exactly once
        last->second = r.client_seq;
        e.requests.push_back(r);
      }
      drop_pending(r);
    }
    out.committed.push_back(std::move(e));
    last_executed_ = it->first;
    progressed = true;
  }
  if (progressed) {
    executed_tick_ = now_;
    probing_ = false; // the deadline is re-armed below
    if (!view_changing_) timeout_ = std::max<std::uint64_t>(1, cfg_.base_timeout_ticks);
    view_deadline_.reset();
    if (view_changing_) check_view_change_quorum();
    arm_timer();
  }
}

// ---- evidence ----------------------------------------------------------------------------

void replica::note_statement(ready& out, replica_id signer, std::uint8_t ph, std::uint64_t v,
                             std::uint64_t n, const digest& content, const bytes& frame) {
  // Bounded record: views around ours, sequence numbers inside the window.
  if (v + 1 < view_.value() || v > view_.value() + 1) return;
  const auto h = stable_.seq.value();
  if (ph == static_cast<std::uint8_t>(phase::new_view) ||
      ph == static_cast<std::uint8_t>(phase::view_change)) {
    // one slot per view; the view bound above keeps the record small
  } else if (ph == static_cast<std::uint8_t>(phase::checkpoint)) {
    if (n <= h || n > h + 4 * window_) return;
  } else if (n <= h || n > h + window_) {
    return;
  }
  const bool pp = ph == static_cast<std::uint8_t>(phase::pre_prepare);
  const signed_slot at{signer.value(), ph, v, n};
  if (const auto* first = records_.first(at); first && *first == content) return;
  // A pre-prepare is kept without its batch: the signed part is what proves equivocation.
  if (auto ev = records_.observe(at, content, pp ? strip_batch(frame) : frame).evidence)
    out.evidence.push_back(std::move(*ev));
}

} // namespace bft::pbft
