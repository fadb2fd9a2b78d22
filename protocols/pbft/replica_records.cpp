#include "protocols/pbft/replica.hpp"

#include <algorithm>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/replica_detail.hpp"

// The PBFT replica's records: construction, restart from them, and writing them
// (README "Persistence and restart"); the rest of the replica is in replica.cpp.
namespace bft::pbft {

using namespace detail;

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

void replica::persist_slot(ready& out, std::uint64_t n, const slot& s) {
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
  persist(out, log_key(n), w.take());
}

void replica::erase_slot(ready& out, std::uint64_t n, const slot&) {
  erase(out, log_key(n)); // its batches go with batches_ (make_stable)
}

void replica::persist_view(ready& out) {
  codec::writer w(256);
  w.id(view_);
  w.boolean(view_changing_);
  persist(out, "pbft/view", w.take());
  if (view_changing_)
    persist(out, "pbft/vc", own_vc_);
  else
    erase(out, "pbft/vc");
  if (!last_nv_.empty()) persist(out, "pbft/nv", last_nv_);
}

} // namespace bft::pbft
