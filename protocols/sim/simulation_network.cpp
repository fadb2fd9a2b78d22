#include "protocols/sim/simulation.hpp"

// The simulation's network: sending, the Byzantine behaviours, partitions and Twins
// delivery rules, routing with delay, loss and duplication.
namespace bft::sim::detail {

std::shared_ptr<const wire> simulation::make_wire(const instance& in, bytes frame) {
  auto w = std::make_shared<wire>();
  w->frame = std::move(frame);
  w->hash = hash_bytes(w->frame);
  w->stmt = o_.protocol.inspector->statement_of(w->frame, vs_, verifier_, in.cfg);
  if (o_.protocol.classify) w->kind = o_.protocol.classify(w->frame);
  return w;
}

std::vector<std::size_t> simulation::recipients(const instance& in,
                                                const std::optional<replica_id>& to) {
  std::vector<std::size_t> out;
  for (const auto& other : inst_) {
    if (other->id == in.id) continue;
    if (to && other->id != *to) continue;
    out.push_back(other->idx);
  }
  return out;
}

void simulation::release(instance& in, std::vector<outbound>& msgs) {
  for (auto& m : msgs) {
    if (stopped()) return;
    auto rcpt = recipients(in, m.to);
    auto w = make_wire(in, std::move(m.frame));
    trace(0x5e0d, in.idx, w->hash, m.to ? m.to->value() + 1 : 0);
    check_honest_statement(*w);
    if (in.byz != 0) {
      byzantine_send(in, w, rcpt);
    } else {
      for (auto d : rcpt) route(in.idx, d, w);
    }
  }
}

void simulation::byzantine_send(instance& in, const std::shared_ptr<const wire>& w,
                                const std::vector<std::size_t>& rcpt) {
  const auto& insp = *o_.protocol.inspector;
  auto variant = [&](std::optional<bytes> b) -> std::shared_ptr<const wire> {
    if (!b) return nullptr;
    ++result_.cov.byzantine_frames;
    auto v = make_wire(in, std::move(*b));
    check_honest_statement(*v);
    return v;
  };
  if (in.history.size() < 64) {
    in.history.push_back(w);
  } else {
    in.history[rng_.below(in.history.size())] = w;
  }
  if ((in.byz & byz_silent) && rng_.chance(700)) return;
  std::shared_ptr<const wire> main = w;
  if ((in.byz & byz_forge) && rng_.chance(400)) {
    if (auto f =
            variant(insp.forged_certificate_variant(w->frame, *in.signer, in.cfg, rng_.next())))
      main = f;
  }
  if ((in.byz & byz_badsig) && rng_.chance(300) && main->frame.size() >= 64) {
    bytes b = main->frame;
    b[b.size() - 1 - rng_.below(64)] ^= static_cast<std::uint8_t>(rng_.between(1, 255));
    main = variant(std::move(b));
  }
  std::shared_ptr<const wire> other;
  if ((in.byz & byz_equivocate) && rng_.chance(600))
    other = variant(insp.conflicting_variant(w->frame, *in.signer, in.cfg, rng_.next()));
  // byz_fork: one recipient gets the honest proposal, the others a fork on an older block
  // (one of the newest ones found), with the forger's vote for it.
  std::vector<std::shared_ptr<const wire>> fork;
  std::size_t keep_honest = rcpt.size();
  if ((in.byz & byz_fork) && rcpt.size() > 1 && fork_rng_.chance(600)) {
    const bool forge_qc = fork_rng_.chance(400);
    std::vector<std::vector<bytes>> found;
    for (auto it = in.heard.rbegin(); it != in.heard.rend() && found.size() < 4; ++it) {
      auto v = insp.fork_variant(w->frame, (*it)->frame, *in.signer, in.cfg, forge_qc);
      if (!v.empty()) found.push_back(std::move(v));
    }
    if (!found.empty()) {
      for (auto& b : found[fork_rng_.below(found.size())])
        if (auto v = variant(std::move(b))) fork.push_back(v);
      keep_honest = fork_rng_.below(rcpt.size());
      note("replica ", in.idx, " forks", forge_qc ? " with a forged QC" : "",
           ", the honest proposal only to ", rcpt[keep_honest]);
    }
  }
  for (auto d : rcpt) {
    if (!fork.empty() && d != rcpt[keep_honest]) {
      for (const auto& f : fork) route(in.idx, d, f);
    } else if (other && rcpt.size() == 1) { // double vote to the one recipient
      route(in.idx, d, main);
      route(in.idx, d, other);
    } else if (other && rng_.chance(500)) {
      route(in.idx, d, other);
    } else {
      route(in.idx, d, main);
    }
  }
  if ((in.byz & byz_late) && late_rng_.chance(300)) {
    // Sign the conflicting variant now, deliver it to the others later (byz_late).
    if (auto lv = variant(insp.conflicting_variant(w->frame, *in.signer, in.cfg, late_rng_.next())))
      in.late.emplace_back(now_ + late_rng_.between(5, 40) * units_per_tick, lv);
  }
  while ((in.byz & byz_late) && !in.late.empty() && in.late.front().first <= now_) {
    auto lv = in.late.front().second;
    in.late.erase(in.late.begin());
    for (auto d : recipients(in, std::nullopt)) route(in.idx, d, lv);
  }
  if ((in.byz & byz_future) && rng_.chance(250)) {
    if (auto fv =
            variant(insp.future_view_variant(w->frame, *in.signer, in.cfg, rng_.between(1, 3))))
      for (auto d : rcpt) route(in.idx, d, fv);
  }
  if ((in.byz & byz_replay) && rng_.chance(250) && !in.history.empty()) {
    auto old = in.history[rng_.below(in.history.size())];
    auto all = recipients(in, std::nullopt);
    if (!all.empty()) route(in.idx, all[rng_.below(all.size())], old);
  }
}

bool simulation::honest_key(replica_id id) const {
  for (const auto& x : inst_)
    if (x->id == id && !x->honest) return false;
  return id.value() < n_;
}

/// The Twins round a frame of instance `from` belongs to: the round of the view the sender is
/// in when it sends (after the step, so a proposal made on entering a view belongs to that
/// view's round); views after the last round keep the last one.
const twins_round& simulation::round_of(std::size_t from) const {
  const auto v = inst_[from]->eng->status().view.value();
  const auto round =
      std::min<std::uint64_t>(v >= first_view_ ? v - first_view_ : 0, rounds_.size() - 1);
  return rounds_[round];
}

/// A delivery rule of the sender's Twins round holds back this frame.
bool simulation::twins_dropped(std::size_t from, std::size_t to, frame_kind k) const {
  if (!o_.twins_scenario || now_ >= stab_) return false;
  const std::uint8_t bit = k == frame_kind::other
                               ? drop_other_bit
                               : static_cast<std::uint8_t>(1u << (static_cast<int>(k) - 1));
  for (const auto& d : round_of(from).drops)
    if ((d.kinds & bit) && ((d.from >> from) & 1) && ((d.to >> to) & 1)) return true;
  return false;
}

bool simulation::link_open(std::size_t from, std::size_t to) const {
  if (o_.twins_scenario) {
    if (now_ >= stab_) return true;
    const auto mask = round_of(from).partition;
    return ((mask >> from) & 1) == ((mask >> to) & 1);
  }
  if (split_brain_) return group_[from] == group_[to];
  for (const auto& p : partitions_) {
    if (now_ < p.start || now_ >= p.end) continue;
    switch (p.kind) {
    case partition_window::shape::halves:
      if (((p.group_mask >> from) & 1) != ((p.group_mask >> to) & 1)) return false;
      break;
    case partition_window::shape::one_node:
      if ((from == p.node) != (to == p.node)) return false;
      break;
    case partition_window::shape::one_way:
      if (((p.group_mask >> from) & 1) && !((p.group_mask >> to) & 1)) return false;
      break;
    }
  }
  return true;
}

std::uint64_t simulation::draw_delay() {
  return now_ >= stab_ ? rng_.between(post_min_delay_, post_max_delay_)
                       : rng_.between(min_delay_, max_delay_);
}

void simulation::route(std::size_t from, std::size_t to, const std::shared_ptr<const wire>& w) {
  if (!link_open(from, to) || twins_dropped(from, to, w->kind)) return;
  const bool faulty = now_ < stab_;
  if (faulty && loss_pm_ > 0 && rng_.chance(loss_pm_)) return;
  push(now_ + draw_delay(), ev_kind::deliver, to, from, 0, w);
  if (faulty && dup_pm_ > 0 && rng_.chance(dup_pm_))
    push(now_ + draw_delay(), ev_kind::deliver, to, from, 0, w);
}

void simulation::route_raw(std::size_t from, std::size_t to, ev_kind k, std::uint64_t aux,
                           std::shared_ptr<const client_request> req,
                           std::shared_ptr<const app_snapshot> snap) {
  if (!link_open(from, to)) return;
  if ((k == ev_kind::fetch_request || k == ev_kind::fetch_reply) &&
      twins_dropped(from, to, frame_kind::fetch))
    return; // snapshot transfer is catch-up traffic too
  if (now_ < stab_ && loss_pm_ > 0 && rng_.chance(loss_pm_)) return;
  push(now_ + draw_delay(), k, to, from, aux, nullptr, std::move(req), std::move(snap));
}

} // namespace bft::sim::detail
