#include "protocols/sim/simulation.hpp"

// The simulation's network: sending (a Byzantine replica's frames through its roles,
// roles.cpp), partitions and Twins delivery rules, routing with delay, loss and duplication.
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
    check([&](checker& c) { c.on_frame(*this, *w); });
    if (in.byz != 0) {
      byzantine_send(in, w, rcpt);
    } else {
      for (auto d : rcpt) route(in.idx, d, w);
    }
  }
}

wire_ptr simulation::variant(instance& in, std::optional<bytes> frame) {
  if (!frame) return nullptr;
  ++result_.cov.byzantine_frames;
  auto v = make_wire(in, std::move(*frame));
  check([&](checker& c) { c.on_frame(*this, *v); });
  return v;
}

// A Byzantine replica's frame: the roles' before-send hooks reshape it (table order), it goes
// to the recipients, then the after-send hooks add frames of their own.
void simulation::byzantine_send(instance& in, const std::shared_ptr<const wire>& w,
                                const std::vector<std::size_t>& rcpt) {
  // Every Byzantine replica keeps its frames for the replay role (shared stream, as before
  // the role table, so recorded seeds replay).
  if (in.history.size() < plan_.replay_history) {
    in.history.push_back(w);
  } else {
    in.history[rng_.below(in.history.size())] = w;
  }
  byz_send s{in, w, rcpt, w, nullptr, {}, rcpt.size(), false};
  each_role(in, [&](const byz_role& r, role_ctx& c) {
    if (r.before_send && !s.dropped) r.before_send(c, s);
  });
  if (s.dropped) return;
  for (auto d : rcpt) {
    if (!s.fork.empty() && d != rcpt[s.keep_honest]) {
      for (const auto& f : s.fork) route(in.idx, d, f);
    } else if (s.other && rcpt.size() == 1) { // double vote to the one recipient
      route(in.idx, d, s.main);
      route(in.idx, d, s.other);
    } else if (s.other && rng_.chance(plan_.equivocate_each_pm)) {
      route(in.idx, d, s.other);
    } else {
      route(in.idx, d, s.main);
    }
  }
  each_role(in, [&](const byz_role& r, role_ctx& c) {
    if (r.after_send) r.after_send(c, s);
  });
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
