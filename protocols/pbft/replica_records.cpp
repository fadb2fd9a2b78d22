#include "protocols/pbft/replica.hpp"

#include <algorithm>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/pbft/log_record.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/replica_detail.hpp"

// The PBFT replica's records: construction, restart from them, and writing them
// (README "Persistence and restart"); the rest of the replica is in replica.cpp.
namespace bft::pbft {

using namespace detail;

// ---- construction and restart --------------------------------------------------------------

replica::replica(engine_config cfg, const crypto::signer& s, const crypto::verifier& v,
                 const persisted_state& stored)
    : cfg_(std::move(cfg)), signer_(s), verifier_(v), ckpts_(cfg_.validators) {
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
    require_record(g.has_value(), guard_key);
    guard_ = *g;
  } else if (cfg_.recovering && stored.empty()) {
    guard_ = recovery::guard_state{};
    guard_dirty_ = true;
  }
  if (guard_ && !guard_->learned) status_.emplace(cfg_.validators, cfg_.self, cfg_.recovery_nonce);
  status_due_ = guarded();
}

void replica::restore(const persisted_state& stored) {
  if (auto it = stored.find(view_key); it != stored.end()) {
    auto v = view_record::decode(it->second);
    require_record(v.has_value(), view_key);
    view_ = v->view;
    view_changing_ = v->changing;
  }
  if (auto it = stored.find(stable_key); it != stored.end()) {
    auto p = decode_stable(it->second);
    require_record(p.has_value(), stable_key);
    stable_ = std::move(*p);
  }
  if (auto it = stored.find(vc_key); it != stored.end() && view_changing_) {
    auto vc = decode_view_change(it->second);
    require_record(vc.has_value(), vc_key);
    own_vc_ = it->second;
    vcs_[cfg_.self] = stored_vc{*vc, own_vc_};
  }
  if (auto it = stored.find(nv_key); it != stored.end()) {
    auto nv = decode_new_view(it->second);
    require_record(nv.has_value(), nv_key);
    last_nv_ = it->second;
    last_nv_view_ = nv->view;
  }
  last_executed_ = stable_.seq.value();
  next_seq_ = last_executed_;
  if (auto it = stored.find(transfer_key); it != stored.end()) {
    auto t = transfer_record::decode(it->second);
    require_record(t.has_value(), transfer_key);
    if (t->index == stable_.seq.value() && t->before < t->index) {
      transfer_ = std::make_pair(t->index, t->root);
      last_executed_ = t->before;
      restored_ = true;
    }
  }
  if (has_mutant(cfg_.mutants, forget_log_on_restart)) return;

  std::map<digest, batch_ptr> batches;
  for (auto it = stored.lower_bound(std::string(batch_key_prefix)); it != stored.end(); ++it) {
    if (!it->first.starts_with(batch_key_prefix)) break;
    auto b = decode_stored_batch(it->second);
    require_record(b.has_value(), "pbft/batch");
    batches[crypto::sha3_256(it->second)] = std::make_shared<const batch>(std::move(*b));
  }
  for (auto it = stored.lower_bound(std::string(log_key_prefix)); it != stored.end(); ++it) {
    if (!it->first.starts_with(log_key_prefix)) break;
    const auto n = log_key_seq(it->first);
    require_record(n.has_value(), "pbft/log");
    auto rec = log_record::decode(it->second, *n);
    require_record(rec.has_value(), "pbft/log");
    if (*n <= stable_.seq.value()) continue;
    slot s;
    s.has_pp = rec->has_pp;
    s.pp_view = rec->pp_view;
    s.d = rec->d;
    s.pp_sig = rec->pp_sig;
    s.committed = rec->committed;
    s.cert = std::move(rec->cert);
    if (s.d == null_digest)
      s.requests = empty_batch();
    else if (auto b = batches.find(s.d); b != batches.end())
      s.requests = b->second;
    s.votes_view = view_;
    s.prepared_now = s.has_pp && s.cert && s.cert->view == s.pp_view && s.pp_view == view_;
    if (s.has_pp && s.pp_view == view_) next_seq_ = std::max<std::uint64_t>(next_seq_, *n);
    log_.emplace(*n, std::move(s));
  }
  // A stored batch belongs to some sequence number in (h, H] of the time it was stored; it
  // stays until a stable checkpoint covers that whole window.
  for (auto& [d, b] : batches) batches_[d] = kept_batch{b, stable_.seq.value() + window_};
  restored_ = true;
}

void replica::persist_slot(ready& out, std::uint64_t n, const slot& s) {
  log_record rec;
  rec.has_pp = s.has_pp;
  rec.pp_view = s.pp_view;
  rec.d = s.d;
  rec.pp_sig = s.pp_sig;
  rec.committed = s.committed;
  rec.cert = s.cert;
  if (has_mutant(cfg_.mutants, vote_before_persist)) {
    late_records_.push_back(persist_op{log_key(n), rec.encode(), false});
    return;
  }
  persist(out, log_key(n), rec.encode());
}

void replica::erase_slot(ready& out, std::uint64_t n, const slot&) {
  erase(out, log_key(n)); // its batches go with batches_ (make_stable)
}

void replica::persist_view(ready& out) {
  persist(out, view_key, view_record{view_, view_changing_}.encode());
  if (view_changing_)
    persist(out, vc_key, own_vc_);
  else
    erase(out, vc_key);
  if (!last_nv_.empty()) persist(out, nv_key, last_nv_);
}

} // namespace bft::pbft
