#include "protocols/pbft/replica.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/pbft/mutants.hpp"

namespace bft::pbft {
namespace {

/// The policy for a corrupt stored record (engine.hpp): throw, naming the record.
void require_record(bool ok, const char* key) {
  if (!ok) throw std::invalid_argument(std::string("pbft: stored ") + key + " record is corrupt");
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

constexpr std::size_t max_pending_requests = 1u << 18;
constexpr std::size_t max_checkpoints_per_sender = 4;
constexpr std::uint64_t max_timeout_ticks = 1ull << 32;

std::string log_key(std::uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "pbft/log/%020llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string batch_key(const digest& d) { return "pbft/batch/" + to_hex(d); }

const batch_ptr& empty_batch() {
  static const batch_ptr e = std::make_shared<const batch>();
  return e;
}

std::string err_text(const bft::error& e) { return e.message(); }

constexpr const char* guard_key = "pbft/guard";
constexpr std::string_view status_request_tag = "bft/pbft/status-request/v1";
constexpr std::string_view status_report_tag = "bft/pbft/status-report/v1";

void put_proof(codec::writer& w, const checkpoint_proof& p) {
  w.id(p.seq);
  w.raw(p.state);
  w.count(p.sigs.size(), max_replicas);
  for (const auto& s : p.sigs) {
    w.id(s.from);
    w.raw(s.sig);
  }
}

checkpoint_proof get_proof(codec::reader& r) {
  checkpoint_proof p;
  p.seq = r.id<seq_number>();
  p.state = r.fixed<32>();
  auto n = r.count(max_replicas, 68);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    signed_by s;
    s.from = r.id<replica_id>();
    s.sig = r.fixed<64>();
    p.sigs.push_back(s);
  }
  return p;
}

} // namespace

// ---- construction and restart --------------------------------------------------------------

replica::replica(engine_config cfg, const crypto::signer& s, const crypto::verifier& v,
                 const persisted_state& stored)
    : cfg_(std::move(cfg)), signer_(s), verifier_(v) {
  sctx_.chain_id = cfg_.chain_id;
  sctx_.epoch = cfg_.epoch;
  const auto k = std::max<std::uint64_t>(1, cfg_.checkpoint_interval);
  window_ = 2 * k;
  timeout_ = std::max<std::uint64_t>(1, cfg_.base_timeout_ticks);
  resend_interval_ = std::max<std::uint64_t>(2, timeout_ / 4);
  restore(stored);
  // Amnesia guard: one in force was persisted; an empty record while the driver says this
  // replica may have signed before starts one.
  if (auto it = stored.find(guard_key); it != stored.end()) {
    auto g = recovery::guard_state::decode(it->second);
    require_record(g.has_value(), "pbft/guard");
    guard_ = *g;
  } else if (cfg_.recovering && stored.empty()) {
    guard_ = recovery::guard_state{};
    guard_dirty_ = true;
  }
  if (guard_ && !guard_->learned) status_.emplace(cfg_.validators, cfg_.self, cfg_.recovery_nonce);
  status_due_ = guarded();
}

void replica::restore(const persisted_state& stored) {
  if (auto it = stored.find("pbft/view"); it != stored.end()) {
    codec::reader r(it->second);
    view_ = r.id<view_number>();
    view_changing_ = r.boolean();
    require_record(r.finish().has_value(), "pbft/view");
  }
  if (auto it = stored.find("pbft/stable"); it != stored.end()) {
    codec::reader r(it->second);
    stable_ = get_proof(r);
    require_record(r.finish().has_value(), "pbft/stable");
  }
  if (auto it = stored.find("pbft/vc"); it != stored.end() && view_changing_) {
    auto vc = decode_view_change(it->second);
    require_record(vc.has_value(), "pbft/vc");
    own_vc_ = it->second;
    vcs_[cfg_.self] = stored_vc{*vc, own_vc_};
  }
  if (auto it = stored.find("pbft/nv"); it != stored.end()) {
    auto nv = decode_new_view(it->second);
    require_record(nv.has_value(), "pbft/nv");
    last_nv_ = it->second;
    last_nv_view_ = nv->view;
  }
  last_executed_ = stable_.seq.value();
  next_seq_ = last_executed_;
  if (auto it = stored.find("pbft/transfer"); it != stored.end()) {
    codec::reader r(it->second);
    const auto index = r.u64();
    const digest root = r.fixed<32>();
    const auto before = r.u64();
    require_record(r.finish().has_value(), "pbft/transfer");
    if (index == stable_.seq.value() && before < index) {
      transfer_ = std::make_pair(index, root);
      last_executed_ = before;
      restored_ = true;
    }
  }
  if (has_mutant(cfg_.mutants, forget_log_on_restart)) return;

  std::map<digest, batch_ptr> batches;
  for (auto it = stored.lower_bound("pbft/batch/"); it != stored.end(); ++it) {
    if (it->first.rfind("pbft/batch/", 0) != 0) break;
    codec::reader r(it->second);
    auto n = r.count(max_batch_requests, 1);
    auto b = std::make_shared<batch>();
    for (std::size_t i = 0; i < n && r.ok(); ++i) b->push_back(client_request::decode(r));
    require_record(r.finish().has_value(), "pbft/batch");
    batches[crypto::sha3_256(it->second)] = std::move(b);
  }
  for (auto it = stored.lower_bound("pbft/log/"); it != stored.end(); ++it) {
    if (it->first.rfind("pbft/log/", 0) != 0) break;
    const auto n = std::stoull(it->first.substr(9));
    codec::reader r(it->second);
    slot s;
    s.has_pp = r.boolean();
    s.pp_view = r.id<view_number>();
    s.d = r.fixed<32>();
    s.pp_sig = r.fixed<64>();
    s.committed = r.boolean();
    if (r.boolean()) {
      prepared_cert c;
      c.view = r.id<view_number>();
      c.seq = seq_number{n};
      c.d = r.fixed<32>();
      c.pp_sig = r.fixed<64>();
      c.prepares = get_proof(r).sigs;
      s.cert = std::move(c);
    }
    require_record(r.finish().has_value(), "pbft/log");
    if (n <= stable_.seq.value()) continue;
    if (s.d == null_digest)
      s.requests = empty_batch();
    else if (auto b = batches.find(s.d); b != batches.end())
      s.requests = b->second;
    s.votes_view = view_;
    s.prepared_now = s.has_pp && s.cert && s.cert->view == s.pp_view && s.pp_view == view_;
    if (s.has_pp && s.pp_view == view_) next_seq_ = std::max<std::uint64_t>(next_seq_, n);
    log_.emplace(n, std::move(s));
  }
  // A stored batch belongs to some sequence number in (h, H] of the time it was stored; it
  // stays until a stable checkpoint covers that whole window.
  for (auto& [d, b] : batches) batches_[d] = kept_batch{b, stable_.seq.value() + window_};
  restored_ = true;
}

void replica::persist_slot(std::uint64_t n, const slot& s) {
  codec::writer w(256);
  w.boolean(s.has_pp);
  w.id(s.pp_view);
  w.raw(s.d);
  w.raw(s.pp_sig);
  w.boolean(s.committed);
  w.boolean(s.cert.has_value());
  if (s.cert) {
    w.id(s.cert->view);
    w.raw(s.cert->d);
    w.raw(s.cert->pp_sig);
    checkpoint_proof p;
    p.sigs = s.cert->prepares;
    put_proof(w, p);
  }
  if (has_mutant(cfg_.mutants, vote_before_persist)) {
    late_records_.push_back(persist_op{log_key(n), w.take(), false});
    return;
  }
  persist(log_key(n), w.take());
}

void replica::erase_slot(std::uint64_t n, const slot&) {
  erase(log_key(n)); // its batches go with batches_ (make_stable)
}

void replica::persist_view() {
  codec::writer w(256);
  w.id(view_);
  w.boolean(view_changing_);
  persist("pbft/view", w.take());
  if (view_changing_)
    persist("pbft/vc", own_vc_);
  else
    erase("pbft/vc");
  if (!last_nv_.empty()) persist("pbft/nv", last_nv_);
}

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

void replica::reject(std::optional<replica_id> from, std::string reason) {
  out_->rejected.push_back(rejection{from, std::move(reason)});
}

void replica::send(std::optional<replica_id> to, bytes frame) {
  out_->messages.push_back(outbound{to, std::move(frame)});
}

void replica::persist(std::string key, bytes value) {
  out_->persist.push_back(persist_op{std::move(key), std::move(value), false});
}

void replica::erase(std::string key) {
  out_->persist.push_back(persist_op{std::move(key), {}, true});
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
  out_ = &out;
  // Mutant vote_before_persist: the records of the previous ready go out only now, after
  // that ready's messages.
  for (auto& op : std::exchange(late_records_, {})) out.persist.push_back(std::move(op));
  if (guard_dirty_) { // the guard is durable before anything else of the first ready
    guard_dirty_ = false;
    persist(guard_key, guard_->encode());
  }
  if (status_due_) {
    status_due_ = false;
    send_status_request();
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
    try_execute();
  }
  std::visit(overloaded{
                 [&](const ev::received& r) { on_frame(r.from, r.frame); },
                 [&](const ev::tick&) { on_tick(); },
                 [&](const ev::client_requests& c) {
                   on_client_requests(c.requests, false, std::nullopt, c.verified);
                 },
                 [&](const ev::executed& x) { on_executed(x); },
                 [&](const ev::state_installed& x) { on_state_installed(x); },
             },
             e);
  // Whatever the event, a primary with nothing left in flight orders what waits at once.
  propose(false);
  if (guard_dirty_) { // learned during this step: durable before this ready's messages
    guard_dirty_ = false;
    out.persist.insert(out.persist.begin(), persist_op{guard_key, guard_->encode(), false});
  }
  out_ = nullptr;
  return out;
}

void replica::on_frame(replica_id from, const bytes& frame) {
  if (on_status_frame(from, frame) || on_probe_frame(from, frame)) return;
  auto t = frame_type(frame);
  if (!t) {
    reject(from, "frame is not a PBFT frame of a supported version");
    return;
  }
  switch (*t) {
  case msg_type::pre_prepare: on_pre_prepare(from, frame); break;
  case msg_type::prepare:
  case msg_type::commit: on_vote(from, frame); break;
  case msg_type::checkpoint: on_checkpoint(from, frame); break;
  case msg_type::view_change: on_view_change(from, frame); break;
  case msg_type::new_view: on_new_view(from, frame); break;
  case msg_type::request_relay: {
    auto m = decode_request_relay(frame);
    if (!m) {
      reject(from, "malformed request relay: " + err_text(m.error()));
      return;
    }
    on_client_requests(m->requests, true, from);
    break;
  }
  case msg_type::fetch_batch: on_fetch(from, frame); break;
  case msg_type::batch_reply: on_batch_reply(from, frame); break;
  }
}

// ---- clients (P2, P3, P5, P19) ------------------------------------------------------------

void replica::on_client_requests(const std::vector<client_request>& reqs, bool relayed,
                                 std::optional<replica_id> from, bool verified) {
  std::vector<client_request> fresh;
  for (const auto& r : reqs) {
    request_key key{r.client, r.client_seq};
    if (auto it = executed_client_seq_.find(r.client);
        it != executed_client_seq_.end() && r.client_seq <= it->second) {
      if (!relayed) reject(from, "client request already executed (P3)");
      continue;
    }
    if (pending_.contains(key)) continue;
    if (pending_.size() >= max_pending_requests) {
      reject(from, "pending request pool is full");
      continue;
    }
    if (!verified && !verifier_.verify(r.client,
                                       codec::signing_bytes(client_request::sign_tag, cfg_.chain_id,
                                                            cfg_.epoch, r.body()),
                                       r.sig)) {
      reject(from, "client request signature does not verify");
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
      send(std::nullopt, encode(request_relay{std::move(fresh)}));
    else
      for (const auto& r : fresh)
        relay_due_.emplace_back(now_ + cfg_.relay_delay_ticks, request_key{r.client, r.client_seq});
  }
  arm_timer();
  propose(false);
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

void replica::propose(bool force) {
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
    accept_pre_prepare(n, view_, pp.d, pp.sig, std::move(b), enc);
    log_[n].own_pp = frame;
    send(std::nullopt, std::move(frame)); // P7: persisted above, in the same ready
    check_prepared(n);
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

void replica::accept_pre_prepare(std::uint64_t n, view_number v, const digest& d,
                                 const signature& sig, batch_ptr requests, byte_view batch_bytes) {
  slot& s = log_[n];
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
  persist_slot(n, s);
  if (s.requests && d != null_digest && !batch_bytes.empty())
    persist(batch_key(d), bytes(batch_bytes.begin(), batch_bytes.end()));
}

void replica::on_pre_prepare(replica_id from, const bytes& frame) {
  auto m = decode_pre_prepare(frame);
  if (!m) {
    reject(from, "malformed pre-prepare: " + err_text(m.error()));
    return;
  }
  const auto v = m->view;
  const auto n = m->seq.value();
  if (m->from != primary_of(v)) {
    reject(from, "pre-prepare not signed by the primary of its view");
    return;
  }
  if (!verify(*m, vctx())) {
    reject(from, "pre-prepare signature does not verify");
    return;
  }
  note_statement(m->from, static_cast<std::uint8_t>(phase::pre_prepare), v.value(), n, m->d, frame);
  if (m->from == cfg_.self) return; // our own frame echoed back
  if (v > view_) note_future_view(m->from, v);
  if (v != view_ || view_changing_) {
    reject(from, v < view_ ? "pre-prepare for an old view"
                           : (view_changing_ && v == view_ ? "pre-prepare while view-changing"
                                                           : "pre-prepare for a future view"));
    return;
  }
  if (!in_window(n) && !has_mutant(cfg_.mutants, accept_outside_watermarks)) {
    reject(from, "pre-prepare outside the watermarks (h, H]");
    return;
  }
  auto region = batch_region(frame);
  const digest d = m->requests->empty() ? null_digest : crypto::sha3_256(region);
  if (d != m->d) {
    reject(from, "pre-prepare digest does not match its batch");
    return;
  }
  if (auto it = log_.find(n); it != log_.end() && it->second.has_pp && it->second.pp_view == v) {
    if (it->second.d != d)
      reject(from, "pre-prepare conflicts with the digest accepted for (v, n)");
    return;
  }
  if (!verify_requests(*m->requests)) {
    reject(from, "pre-prepare carries a request whose client signature does not verify");
    return;
  }
  accept_pre_prepare(n, v, d, m->sig, m->requests, region);
  if (slot_forbidden(v, n)) { // amnesia guard: log it and follow, but sign nothing for (v, n)
    check_prepared(n);
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
  send(std::nullopt, s.own_vote);
  check_prepared(n);
}

void replica::on_vote(replica_id from, const bytes& frame) {
  auto m = decode_vote(frame);
  if (!m) {
    reject(from, "malformed prepare/commit: " + err_text(m.error()));
    return;
  }
  if (!verify(*m, vctx())) {
    reject(from, "prepare/commit signature does not verify");
    return;
  }
  const auto ph = m->phase == msg_type::prepare ? phase::prepare : phase::commit;
  const auto n = m->seq.value();
  note_statement(m->from, static_cast<std::uint8_t>(ph), m->view.value(), n, m->d, frame);
  if (m->view > view_) note_future_view(m->from, m->view);
  if (m->view != view_ || view_changing_) {
    reject(from, m->view < view_ ? "prepare/commit for an old view"
                                 : "prepare/commit for a future view or while view-changing");
    return;
  }
  if (!in_window(n)) {
    reject(from, "prepare/commit outside the watermarks (h, H]");
    return;
  }
  if (m->phase == msg_type::prepare && m->from == primary_of(view_)) {
    reject(from, "the primary sent a prepare (P9)");
    return;
  }
  slot& s = log_[n];
  if (s.votes_view != view_) reset_votes(s, view_);
  auto& box = m->phase == msg_type::prepare ? s.prepares : s.commits;
  box.emplace(m->from, vote_entry{m->d, m->sig}); // a second vote of one signer is ignored
  if (m->phase == msg_type::prepare)
    check_prepared(n);
  else
    check_committed(n);
}

void replica::check_prepared(std::uint64_t n) {
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
  s.prepared_now = true;
  s.cert = std::move(c);
  persist_slot(n, s);
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
    send(std::nullopt, s.own_commit);
  }
  check_committed(n);
}

void replica::check_committed(std::uint64_t n) {
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
  persist_slot(n, s);
  try_execute();
}

void replica::try_execute() {
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
    out_->committed.push_back(std::move(e));
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

// ---- checkpoints (P16-P18) -----------------------------------------------------------------

void replica::on_executed(const ev::executed& e) {
  const auto k = std::max<std::uint64_t>(1, cfg_.checkpoint_interval);
  if (e.index == 0 || e.index % k != 0) return;
  if (e.index <= stable_.seq.value() || e.index > last_executed_ || e.index <= own_ckpt_seq_)
    return;
  checkpoint c;
  c.seq = seq_number{e.index};
  c.state = e.state_root;
  c.from = cfg_.self;
  sign(c, sctx_, signer_);
  own_ckpt_ = encode(c);
  own_ckpt_seq_ = e.index;
  send(std::nullopt, own_ckpt_);
  add_checkpoint(c);
}

void replica::on_checkpoint(replica_id from, const bytes& frame) {
  auto m = decode_checkpoint(frame);
  if (!m) {
    reject(from, "malformed checkpoint: " + err_text(m.error()));
    return;
  }
  if (m->seq <= stable_.seq) return; // already stable: nothing to learn
  if (!verify(*m, vctx())) {
    reject(from, "checkpoint signature does not verify");
    return;
  }
  note_statement(m->from, static_cast<std::uint8_t>(phase::checkpoint), 0, m->seq.value(), m->state,
                 frame);
  const auto k = std::max<std::uint64_t>(1, cfg_.checkpoint_interval);
  if (m->seq.value() % k != 0 || m->seq.value() == 0) {
    reject(from, "checkpoint not at a multiple of the checkpoint interval");
    return;
  }
  if (m->seq <= stable_.seq) return; // already stable: nothing to learn
  add_checkpoint(*m);
}

void replica::add_checkpoint(const checkpoint& c) {
  const auto n = c.seq.value();
  auto& votes = ckpt_votes_[n];
  for (const auto& [state, signers] : votes)
    if (signers.contains(c.from)) return; // one checkpoint per signer and seq counts
  auto& mine = ckpt_by_sender_[c.from];
  mine.insert(n);
  while (mine.size() > max_checkpoints_per_sender) { // bounded memory per sender
    auto low = *mine.begin();
    mine.erase(mine.begin());
    if (auto it = ckpt_votes_.find(low); it != ckpt_votes_.end())
      for (auto& [state, signers] : it->second) signers.erase(c.from);
  }
  if (!mine.contains(n)) return;
  auto& signers = ckpt_votes_[n][c.state];
  signers.emplace(c.from, c.sig);
  std::vector<replica_id> ids;
  for (const auto& [who, sig] : signers) ids.push_back(who);
  if (!is_quorum(ids)) return;
  checkpoint_proof proof;
  proof.seq = c.seq;
  proof.state = c.state;
  for (const auto& [who, sig] : signers) proof.sigs.push_back(signed_by{who, sig});
  make_stable(proof); // P17
  try_execute();
  propose(false);
}

void replica::make_stable(const checkpoint_proof& proof) {
  if (proof.seq <= stable_.seq) return;
  stable_ = proof;
  const auto h = stable_.seq.value();
  {
    codec::writer w(256);
    put_proof(w, stable_);
    persist("pbft/stable", w.take());
  }
  // P17: drop everything at or below the stable checkpoint.
  while (!log_.empty() && log_.begin()->first <= h) {
    erase_slot(log_.begin()->first, log_.begin()->second);
    log_.erase(log_.begin());
  }
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (it->second.until > h) {
      ++it;
      continue;
    }
    erase(batch_key(it->first));
    it = batches_.erase(it);
  }
  ckpt_votes_.erase(ckpt_votes_.begin(), ckpt_votes_.upper_bound(h));
  for (auto& [who, seqs] : ckpt_by_sender_) seqs.erase(seqs.begin(), seqs.upper_bound(h));
  for (auto it = records_.begin(); it != records_.end();) {
    auto ph = std::get<1>(it->first);
    if (ph <= static_cast<std::uint8_t>(phase::checkpoint) && std::get<3>(it->first) <= h)
      it = records_.erase(it);
    else
      ++it;
  }
  next_seq_ = std::max(next_seq_, h);
  if (h > last_executed_) {
    // P30: the certified state is ahead of ours; fetch it from a replica of the proof.
    transfer_ = std::make_pair(h, stable_.state);
    state_transfer_request req;
    req.index = h;
    req.state_root = stable_.state;
    for (const auto& s : stable_.sigs)
      if (s.from != cfg_.self) req.sources.push_back(s.from);
    out_->state_transfer = std::move(req);
    codec::writer w(48);
    w.u64(h);
    w.raw(stable_.state);
    w.u64(last_executed_);
    persist("pbft/transfer", w.take()); // a restart asks again instead of skipping the gap
    // Which pending requests the skipped entries executed is unknown here: clients retry.
    pending_.clear();
    queue_.clear();
    in_flight_.clear();
    view_deadline_.reset();
  }
}

void replica::on_state_installed(const ev::state_installed& e) {
  if (!transfer_ || e.index != transfer_->first || e.state_root != transfer_->second) {
    reject(std::nullopt, "state_installed does not match the certified checkpoint awaited");
    return;
  }
  last_executed_ = e.index;
  transfer_.reset();
  erase("pbft/transfer");
  try_execute();
  arm_timer();
  propose(false);
}

// ---- timers and retransmission ------------------------------------------------------------

void replica::on_tick() {
  ++now_;
  relay_late();
  if (view_deadline_ && now_ >= *view_deadline_) {
    view_deadline_.reset();
    on_timer_expired(); // P31: asks where the others are, then P20 / P28
  }
  propose(false);
  if (now_ - last_resend_ >= resend_interval_) resend();
  if (probe_due()) send_probe();
  // A guarded replica keeps asking: reports bound it first, then bring the new-views that
  // move it along while it may not join view changes.
  if (guarded() && now_ - last_status_request_ >= timeout_) send_status_request();
}

void replica::time_out() {
  if (view_changing_) timeout_ = std::min(timeout_ * 2, max_timeout_ticks); // P28
  start_view_change(view_number{view_.value() + 1});
}

void replica::relay_late() {
  constexpr std::size_t per_frame = 64; // requests per relay frame
  std::vector<client_request> late;
  while (!relay_due_.empty() && relay_due_.front().first <= now_) {
    auto key = relay_due_.front().second;
    relay_due_.pop_front();
    auto it = pending_.find(key);
    if (it == pending_.end() || in_flight_.contains(key) || is_primary()) continue;
    late.push_back(it->second.req);
    if (late.size() == per_frame)
      send(std::nullopt, encode(request_relay{std::exchange(late, {})}));
  }
  if (!late.empty()) send(std::nullopt, encode(request_relay{std::move(late)}));
}

void replica::resend() {
  last_resend_ = now_;
  if (view_changing_) {
    if (!own_vc_.empty()) send(std::nullopt, own_vc_);
  } else if (last_executed_ == executed_at_last_resend_) {
    for (auto it = log_.upper_bound(last_executed_); it != log_.end(); ++it) {
      const slot& s = it->second;
      if (s.votes_view != view_) continue;
      if (!s.own_pp.empty() && s.pp_view == view_) send(std::nullopt, s.own_pp);
      if (!s.own_vote.empty()) send(std::nullopt, s.own_vote);
      if (!s.own_commit.empty()) send(std::nullopt, s.own_commit);
    }
  }
  executed_at_last_resend_ = last_executed_;
  // The latest checkpoint goes out again, so a replica that missed it learns that it is
  // behind (P30) even when the cluster is idle.
  if (!own_ckpt_.empty()) send(std::nullopt, own_ckpt_);
  fetch_missing();
}

void replica::fetch_missing() {
  std::set<digest> asked;
  for (auto it = log_.upper_bound(last_executed_); it != log_.end(); ++it) {
    const slot& s = it->second;
    if (s.has_pp && s.pp_view == view_ && !s.requests && s.d != null_digest &&
        asked.insert(s.d).second)
      send(std::nullopt, encode(fetch_batch{s.d}));
  }
}

void replica::on_fetch(replica_id from, const bytes& frame) {
  auto m = decode_fetch_batch(frame);
  if (!m) {
    reject(from, "malformed batch fetch: " + err_text(m.error()));
    return;
  }
  if (auto b = find_batch(m->d); b && m->d != null_digest) send(from, encode(batch_reply{m->d, b}));
}

void replica::on_batch_reply(replica_id from, const bytes& frame) {
  auto m = decode_batch_reply(frame);
  if (!m) {
    reject(from, "malformed batch reply: " + err_text(m.error()));
    return;
  }
  bool wanted = false;
  for (const auto& [n, s] : log_)
    if (s.has_pp && !s.requests && s.d == m->d) wanted = true;
  if (!wanted) return;
  auto enc = encode_batch(*m->requests);
  if (m->requests->empty() || crypto::sha3_256(enc) != m->d) {
    reject(from, "batch reply does not match its digest");
    return;
  }
  for (auto& [n, s] : log_)
    if (s.has_pp && !s.requests && s.d == m->d) {
      s.requests = m->requests;
      keep_batch(m->d, s.requests, n);
    }
  persist(batch_key(m->d), std::move(enc));
  try_execute();
}

// ---- view change (P19-P29) ------------------------------------------------------------------

std::vector<replica_id> replica::vc_senders_for(view_number v) const {
  std::vector<replica_id> ids;
  for (const auto& [who, s] : vcs_)
    if (s.msg.new_view == v) ids.push_back(who);
  return ids;
}

void replica::start_view_change(view_number v) {
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
  persist_view(); // before the view-change leaves (P20)
  vcs_[cfg_.self] = stored_vc{std::move(vc), own_vc_};
  send(std::nullopt, own_vc_);
  last_resend_ = now_;
  for (auto& [n, s] : log_) s.own_pp.clear();
  check_view_change_quorum();
  maybe_send_new_view();
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

void replica::apply_f_plus_one_rule() {
  // P29: f+1 view-changes from others for views above ours force us to the smallest.
  std::vector<replica_id> ids;
  std::optional<view_number> smallest;
  for (const auto& [who, s] : vcs_) {
    if (who == cfg_.self || s.msg.new_view <= view_) continue;
    ids.push_back(who);
    if (!smallest || s.msg.new_view < *smallest) smallest = s.msg.new_view;
  }
  if (smallest && cfg_.validators.weight_of(ids) >= cfg_.validators.one_honest_weight())
    start_view_change(*smallest);
}

void replica::note_future_view(replica_id signer, view_number v) {
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
    start_view_change(*smallest);
}

void replica::on_view_change(replica_id from, const bytes& frame) {
  auto m = decode_view_change(frame);
  if (!m) {
    reject(from, "malformed view-change: " + err_text(m.error()));
    return;
  }
  if (m->from == cfg_.self) return;
  if (auto r = verify_view_change(*m, vctx()); !r) {
    // P22: dropped whole, reported, and it does not reach O.
    reject(from, "view-change of replica " + std::to_string(m->from.value()) + " for view " +
                     std::to_string(m->new_view.value()) + " dropped: " + err_text(r.error()));
    return;
  }
  // Two different view-changes signed by one replica for one view are equivocation (K8).
  note_statement(m->from, static_cast<std::uint8_t>(phase::view_change), m->new_view.value(), 0,
                 crypto::sha3_256(signing_payload(sctx_, *m)), frame);
  if (m->new_view < view_ || (m->new_view == view_ && !view_changing_)) {
    // The sender is behind: it still waits for the new-view of a view that we entered. Any
    // replica that holds that new-view (or a later one) gives it, since a new-view proves
    // itself (2f+1 signed view-changes, the primary's signature); the primary of that view
    // may already have moved on. A new-view draws no answer from a replica already in its
    // view, so this cannot ping-pong; answering a view-change with a view-change did, and,
    // multiplied by duplication, flooded the network (F6).
    if (!last_nv_.empty() && last_nv_view_ >= m->new_view && may_answer_laggard(m->from))
      send(m->from, last_nv_);
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
  apply_f_plus_one_rule();
  if (target > view_) note_future_view(sender, target);
  check_view_change_quorum();
  maybe_send_new_view();
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

void replica::maybe_send_new_view() {
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
  enter_view(view_, plan, nv.entries, frame); // P25: logs O, persists, enters v+1
  send(std::nullopt, std::move(frame));
  propose(false);
}

void replica::on_new_view(replica_id from, const bytes& frame) {
  auto m = decode_new_view(frame);
  if (!m) {
    reject(from, "malformed new-view: " + err_text(m.error()));
    return;
  }
  if (m->view < view_) return; // stale
  if (m->from != primary_of(m->view)) {
    reject(from, "new-view not signed by the primary of its view");
    return;
  }
  const auto nv_payload = signing_payload(sctx_, *m);
  if (!cfg_.validators.contains(m->from) ||
      !verifier_.verify(cfg_.validators.find(m->from)->key, nv_payload, m->sig)) {
    reject(from, "new-view signature does not verify");
    return;
  }
  // Two different new-views signed by one primary for one view are equivocation (K8), even
  // when this replica already entered the view through the first one.
  note_statement(m->from, static_cast<std::uint8_t>(phase::new_view), m->view.value(), 0,
                 crypto::sha3_256(nv_payload), frame);
  if (m->view == view_ && !view_changing_) return; // known
  const auto c = vctx();
  std::vector<view_change> vset;
  std::set<replica_id> seen;
  for (const auto& f : m->view_changes) {
    auto vc = decode_view_change(f);
    if (!vc) {
      reject(from, "new-view carries a malformed view-change: " + err_text(vc.error()));
      return;
    }
    if (vc->new_view != m->view) {
      reject(from, "new-view carries a view-change for another view");
      return;
    }
    if (auto r = verify_view_change(*vc, c); !r) {
      reject(from, "new-view carries an invalid view-change: " + err_text(r.error()));
      return;
    }
    if (!seen.insert(vc->from).second) {
      reject(from, "new-view carries two view-changes of one replica");
      return;
    }
    vset.push_back(std::move(*vc));
  }
  if (!is_quorum(std::vector<replica_id>(seen.begin(), seen.end()))) {
    reject(from, "new-view holds fewer than 2f+1 view-changes");
    return;
  }
  auto plan = compute_new_view(vset);
  if (!has_mutant(cfg_.mutants, new_view_not_recomputed)) { // P26: recompute O
    bool same = plan.entries.size() == m->entries.size();
    for (std::size_t i = 0; same && i < plan.entries.size(); ++i)
      same =
          plan.entries[i].first == m->entries[i].seq && plan.entries[i].second == m->entries[i].d;
    if (!same) {
      reject(from, "new-view O differs from its recomputation");
      return;
    }
  }
  for (const auto& e : m->entries) {
    if (e.seq.value() > plan.min_s.seq.value() + window_ || e.seq <= plan.min_s.seq) {
      reject(from, "new-view O entry outside the watermarks");
      return;
    }
    if (!verifier_.verify(cfg_.validators.find(m->from)->key,
                          signing_payload(sctx_, m->view, e.seq, e.d, m->from), e.pp_sig)) {
      reject(from, "new-view O entry carries a forged pre-prepare signature");
      return;
    }
  }
  enter_view(m->view, plan, m->entries, frame);
}

void replica::enter_view(view_number v, const new_view_plan& plan,
                         const std::vector<new_view_entry>& entries, const bytes& nv_frame) {
  std::map<digest, batch_ptr> known; // taken before make_stable drops batches at or below h
  for (const auto& [d, k] : batches_) known.emplace(d, k.requests);
  if (plan.min_s.seq > stable_.seq) make_stable(plan.min_s); // P25/P30
  view_ = v;
  view_changing_ = false;
  probing_ = false;
  own_vc_.clear();
  last_nv_ = nv_frame;
  last_nv_view_ = v;
  view_deadline_.reset();
  persist_view();
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
    accept_pre_prepare(n, v, e.d, e.pp_sig, b, {});
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
    send(std::nullopt, s.own_vote);
  }
  if (!backup) next_seq_ = std::max(h, plan.max_s);
  // Requests not carried by O go back to the proposal queue.
  queue_.clear();
  for (const auto& [key, p] : pending_)
    if (!in_flight_.contains(key)) queue_.emplace(p.order, key);
  for (auto it = vcs_.begin(); it != vcs_.end();)
    it = it->second.msg.new_view <= v ? vcs_.erase(it) : std::next(it);
  for (auto it = records_.begin(); it != records_.end();)
    it = std::get<2>(it->first) + 1 < v.value() ? records_.erase(it) : std::next(it);
  fetch_missing();
  try_execute();
  arm_timer();
}

// ---- amnesia guard (README "Amnesia guard", protocols/common/recovery.hpp) -----------------

bool replica::guarded() const {
  // Guarded exactly while a view change from the current view could still be forbidden.
  return view_change_forbidden(view_);
}

bool replica::slot_forbidden(view_number v, std::uint64_t n) const {
  // Before it lost its record this replica signed for (v', n') only in views it entered on a
  // new-view (2f+1 view-changes for v': an honest reporter is at v' or later, so v' <= V), and
  // only for n' <= its h + window, where h was certified by 2f+1 checkpoints (an honest
  // reporter executed h, so h <= index bound).
  if (!guard_) return false;
  if (!guard_->learned) return true;
  return v.value() <= guard_->view_bound && n <= guard_->index_bound + window_;
}

bool replica::view_change_forbidden(view_number target) const {
  // A view-change for w was sent from view w-1 (timer) or on f+1 signers beyond: w <= V+1.
  // It must also carry every prepared certificate above its h: forgotten ones lie at or
  // below index bound + window, so it waits until its stable checkpoint passes them.
  if (!guard_) return false;
  if (!guard_->learned) return true;
  return target.value() <= guard_->view_bound + 1 ||
         stable_.seq.value() < guard_->index_bound + window_;
}

recovery::frame_signing replica::status_signing() const {
  return {status_request_tag, status_report_tag, cfg_.chain_id, cfg_.epoch};
}

void replica::send_status_request() {
  last_status_request_ = now_;
  send(std::nullopt,
       status_signing().seal(status_request_type,
                             recovery::status_request{cfg_.self, cfg_.recovery_nonce}, signer_));
}

bool replica::on_status_frame(replica_id from, const bytes& frame) {
  auto env = codec::peek_envelope(frame);
  if (!env || (env->type != status_request_type && env->type != status_report_type)) return false;
  auto opened = recovery::open_frame(frame);
  if (!opened) {
    reject(from, "malformed status frame");
    return true;
  }
  const auto fs = status_signing();
  const byte_view body = opened->body;
  auto check = [&](replica_id signer, std::string_view tag) {
    return opened->signed_by(signer, tag, fs, cfg_.validators, cfg_.self, verifier_);
  };
  if (env->type == status_request_type) {
    auto m = recovery::decode_request(status_request_type, body);
    if (!m || !check(m->sender, status_request_tag)) {
      reject(from, "status request: malformed or badly signed");
      return true;
    }
    if (guarded()) return true; // our own view is no bound for anyone yet
    recovery::status_report rep;
    rep.sender = cfg_.self;
    rep.nonce = m->nonce;
    rep.view = view_.value();
    rep.index = std::max(last_executed_, stable_.seq.value());
    if (transfer_) rep.index = std::max(rep.index, transfer_->first);
    if (guard_) rep.view = std::max(rep.view, guard_->view_bound + 1);
    rep.proof = last_nv_;
    send(m->sender, fs.seal(status_report_type, rep, signer_));
    return true;
  }
  auto m = recovery::decode_report(status_report_type, body);
  if (!m || !check(m->sender, status_report_tag)) {
    reject(from, "status report: malformed or badly signed");
    return true;
  }
  if (m->nonce != cfg_.recovery_nonce || !guard_) return true; // not ours, or stale
  if (status_ && status_->add(*m)) {
    guard_ = status_->bounds();
    guard_dirty_ = true;
    status_.reset();
  }
  // The sender's new-view proves itself (P26): it moves an observer into the current view.
  if (!m->proof.empty()) {
    auto nv = decode_new_view(m->proof);
    if (nv && nv->view > view_) on_new_view(from, m->proof);
  }
  return true;
}

// ---- evidence ----------------------------------------------------------------------------

void replica::note_statement(replica_id signer, std::uint8_t ph, std::uint64_t v, std::uint64_t n,
                             const digest& content, const bytes& frame) {
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
  record_key key{signer.value(), ph, v, n};
  auto it = records_.find(key);
  if (it == records_.end()) {
    records_.emplace(key, record{content, pp ? strip_batch(frame) : frame, false});
    return;
  }
  if (it->second.content == content || it->second.reported) return;
  it->second.reported = true;
  out_->evidence.push_back(
      bft::evidence{signer, it->second.frame, pp ? strip_batch(frame) : frame});
}

} // namespace bft::pbft
