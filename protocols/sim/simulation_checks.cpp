#include "protocols/sim/simulation.hpp"

// The simulation's commits (through the checkers, checkers.cpp), state transfer and coverage.
namespace bft::sim::detail {

// A committed entry: the checkers' commit hooks, then the application (the checkers' apply
// hooks around it), then `ev::executed` back to the engine.
void simulation::apply_committed(instance& in, const committed_entry& e, std::deque<event>& q) {
  trace(0xc0, in.idx, e.index, hash_bytes(e.id));
  note("commit ", in.idx, " index ", e.index, " ", hex_short(e.id), " requests ", e.requests.size(),
       " app at ", in.app.applied());
  check([&](checker& c) { c.on_commit(*this, in, e); });
  if (stopped()) return;
  const auto applied = in.app.applied();
  if (e.index <= applied) { // already applied before a crash or state transfer
    if (auto root = in.app.root_at(e.index)) q.push_back(ev::executed{e.index, *root});
    return;
  }
  if (e.index != applied + 1) {
    fail("C", "replica " + std::to_string(in.id.value()) + " committed index " +
                  std::to_string(e.index) + " while its application is at " +
                  std::to_string(applied) + " (a gap without state transfer)");
    return;
  }
  check([&](checker& c) { c.on_apply(*this, in, e); });
  if (stopped()) return;
  auto res = in.app.apply(e);
  if (in.honest) {
    ++result_.cov.commits;
    result_.cov.requests += res.executed.size();
  }
  check([&](checker& c) { c.on_applied(*this, in, e, res.executed); });
  if (stopped()) return;
  for (const auto* r : res.executed) client_saw_execution(in, *r);
  q.push_back(ev::executed{e.index, in.app.root()});
}

void simulation::start_transfer(instance& in, const state_transfer_request& req,
                                std::deque<event>& q) {
  trace(0x57a, in.idx, req.index, hash_bytes(req.state_root));
  note("state transfer asked by ", in.idx, " index ", req.index, " app at ", in.app.applied());
  if (in.app.applied() >= req.index) {
    auto r = in.app.root_at(req.index);
    if (r && *r == req.state_root) {
      q.push_back(ev::state_installed{req.index, req.state_root, {}});
      return;
    }
    check([&](checker& c) { c.on_certified_root(*this, in, req.index, req.state_root, false); });
    if (stopped()) return;
  }
  in.transfer = req;
  in.transfer_attempt = 0;
  ++in.transfer_gen;
  send_fetch(in);
}

void simulation::send_fetch(instance& in) {
  const auto& src = in.transfer->sources;
  std::vector<std::size_t> cands;
  for (const auto& s : src)
    for (const auto& x : inst_)
      if (x->id == s && x->id != in.id) cands.push_back(x->idx);
  if (!cands.empty()) {
    const auto target = cands[in.transfer_attempt % cands.size()];
    route_raw(in.idx, target, ev_kind::fetch_request, in.transfer->index, nullptr, nullptr);
  }
  push(now_ + plan_.fetch_timeout_ticks * units_per_tick, ev_kind::fetch_timeout, in.idx, in.idx,
       in.transfer_gen);
}

void simulation::next_fetch(instance& in) {
  ++in.transfer_attempt;
  ++in.transfer_gen;
  send_fetch(in);
}

void simulation::observe(instance& in) {
  if (!in.up) return;
  const auto s = in.eng->status();
  if (in.have_last && (s.view != in.last.view || s.view_changing != in.last.view_changing ||
                       s.stable_index != in.last.stable_index))
    note("status ", in.idx, " view=", s.view.value(), s.view_changing ? " changing" : "",
         " committed=", s.committed_index, " stable=", s.stable_index);
  if (in.honest && in.have_last) {
    if (s.view_changing && !in.last.view_changing) ++result_.cov.view_changes;
    if (s.view > in.last.view && s.view.value() > first_view_ && s.view.value() > max_view_seen_) {
      max_view_seen_ = s.view.value();
      ++result_.cov.new_views;
    }
    if (s.stable_index > max_stable_) {
      max_stable_ = s.stable_index;
      ++result_.cov.checkpoints;
    }
  }
  in.last = s;
  in.have_last = true;
}

void simulation::stabilise() {
  trace(0x57ab, now_, 0);
  note("stabilisation: faults stop");
  for (auto& in : inst_) {
    if (!in->up && !(o_.twins_scenario && in->idx == 4)) restart(*in, false);
  }
}

} // namespace bft::sim::detail
