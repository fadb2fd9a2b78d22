#include <algorithm>
#include <utility>

#include "protocols/pbft/log_record.hpp"
#include "protocols/pbft/replica.hpp"
#include "protocols/pbft/replica_detail.hpp"

// The PBFT replica's checkpoints, P16-P18 and the state transfer they start (P30); the votes
// are counted by `checkpoints` (checkpoints.hpp). The rest of the replica is in replica.cpp.
namespace bft::pbft {

using namespace detail;

// ---- checkpoints (P16-P18) -----------------------------------------------------------------

void replica::on_executed(ready& out, const ev::executed& e) {
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
  send(out, std::nullopt, own_ckpt_);
  add_checkpoint(out, c);
}

void replica::on_checkpoint(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_checkpoint(frame);
  if (!m) {
    reject(out, from, "malformed checkpoint: " + err_text(m.error()));
    return;
  }
  if (m->seq <= stable_.seq) return; // already stable: nothing to learn
  if (!verify(*m, vctx())) {
    reject(out, from, "checkpoint signature does not verify");
    return;
  }
  note_statement(out, m->from, static_cast<std::uint8_t>(phase::checkpoint), 0, m->seq.value(),
                 m->state, frame);
  const auto k = std::max<std::uint64_t>(1, cfg_.checkpoint_interval);
  if (m->seq.value() % k != 0 || m->seq.value() == 0) {
    reject(out, from, "checkpoint not at a multiple of the checkpoint interval");
    return;
  }
  if (m->seq <= stable_.seq) return; // already stable: nothing to learn
  add_checkpoint(out, *m);
}

void replica::add_checkpoint(ready& out, const checkpoint& c) {
  auto proof = ckpts_.add(c);
  if (!proof) return;
  make_stable(out, *proof); // P17
  try_execute(out);
  propose(out, false);
}

void replica::make_stable(ready& out, const checkpoint_proof& proof) {
  if (proof.seq <= stable_.seq) return;
  stable_ = proof;
  const auto h = stable_.seq.value();
  persist(out, stable_key, encode_stable(stable_));
  // P17: drop everything at or below the stable checkpoint.
  while (!log_.empty() && log_.begin()->first <= h) {
    erase_slot(out, log_.begin()->first, log_.begin()->second);
    log_.erase(log_.begin());
  }
  for (auto it = batches_.begin(); it != batches_.end();) {
    if (it->second.until > h) {
      ++it;
      continue;
    }
    erase(out, batch_key(it->first));
    it = batches_.erase(it);
  }
  ckpts_.drop_to(h);
  records_.forget_if([h](const signed_slot& s) {
    return s.phase <= static_cast<std::uint8_t>(phase::checkpoint) && s.seq <= h;
  });
  next_seq_ = std::max(next_seq_, h);
  if (h > last_executed_) {
    // P30: the certified state is ahead of ours; fetch it from a replica of the proof.
    transfer_ = std::make_pair(h, stable_.state);
    state_transfer_request req;
    req.index = h;
    req.state_root = stable_.state;
    for (const auto& s : stable_.sigs)
      if (s.from != cfg_.self) req.sources.push_back(s.from);
    out.state_transfer = std::move(req);
    // A restart asks again instead of skipping the gap.
    persist(out, transfer_key, transfer_record{h, stable_.state, last_executed_}.encode());
    // Which pending requests the skipped entries executed is unknown here: clients retry.
    pending_.clear();
    queue_.clear();
    in_flight_.clear();
    view_deadline_.reset();
  }
}

void replica::on_state_installed(ready& out, const ev::state_installed& e) {
  if (!transfer_ || e.index != transfer_->first || e.state_root != transfer_->second) {
    reject(out, std::nullopt, "state_installed does not match the certified checkpoint awaited");
    return;
  }
  last_executed_ = e.index;
  transfer_.reset();
  erase(out, transfer_key);
  try_execute(out);
  arm_timer();
  propose(out, false);
}

} // namespace bft::pbft
