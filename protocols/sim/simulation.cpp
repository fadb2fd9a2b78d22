#include "protocols/sim/simulation.hpp"

#include "protocols/common/assert.hpp"

// The simulation's set-up, event queue and handlers: crashes, restarts, pauses, and
// feeding the engines (applying each ready in the driver contract's order).
namespace bft::sim::detail {

seed_result simulation::run() {
  setup();
  std::uint64_t t = 0;
  for (; t <= end_ && !stopped(); ++t) {
    now_ = t;
    if (t == stab_) stabilise();
    while (!queue_.empty() && queue_.top().time <= t && !stopped()) {
      sim_event e = queue_.top();
      queue_.pop();
      handle(e);
    }
    if (t % units_per_tick == 0 && !stopped()) {
      drive_clients();
      for (auto& in : inst_) {
        if (stopped()) break;
        if (!in->up || in->paused) continue;
        trace(0x71c, in->idx, t);
        feed(*in, ev::tick{});
      }
    }
  }
  if (!stopped()) check([&](checker& c) { c.at_end(*this); });
  result_.trace_hash = trace_;
  return std::move(result_);
}

void simulation::setup() {
  if (o_.log)
    for (const auto& line : plan_.describe()) o_.log(line);
  const bool twins = o_.twins_scenario.has_value();
  n_ = twins ? 4 : o_.replicas;
  f_ = max_byzantine_tolerance(n_);
  if (twins) rounds_ = twins_plan(o_);
  // More Twins rounds need proportionally more time before and after stabilisation.
  const std::uint64_t twins_ticks = default_twins_ticks *
                                    std::max<std::size_t>(rounds_.size(), twins_enumerated_rounds) /
                                    twins_enumerated_rounds;
  std::uint64_t ticks = o_.ticks != 0 ? o_.ticks : (twins ? twins_ticks : default_campaign_ticks);
  end_ = ticks * units_per_tick;
  stab_ = twins ? (ticks / 3) * units_per_tick : (ticks / 2) * units_per_tick;

  std::vector<public_key> keys;
  for (std::size_t i = 0; i < n_; ++i) keys.push_back(crypto::fake_public_key(i + 1));
  vs_ = validator_set::equal_weights(keys);

  const std::size_t count = twins ? 5 : n_;
  for (std::size_t i = 0; i < count; ++i) {
    auto in = std::make_unique<instance>(o_.checkpoint_interval);
    in->idx = i;
    in->id = replica_id{static_cast<std::uint32_t>(i < n_ ? i : 0)};
    in->signer = std::make_unique<crypto::fake_signer>(in->id.value() + 1);
    engine_config c;
    c.chain_id = "sim";
    c.epoch = epoch{0};
    c.self = in->id;
    c.validators = vs_;
    c.batch_size = o_.batch_size;
    c.batch_delay_ticks = 1;
    c.base_timeout_ticks = o_.base_timeout_ticks;
    c.checkpoint_interval = o_.checkpoint_interval;
    c.mutants = o_.mutant_bits;
    in->cfg = c;
    inst_.push_back(std::move(in));
  }

  if (twins) {
    setup_twins();
  } else {
    draw_faults();
  }
  for (auto& in : inst_) {
    if (!build_engine(*in)) return;
  }
  first_view_ = inst_[0]->last.view.value();

  for (std::size_t c = 0; c < o_.clients; ++c) {
    client_state cs;
    cs.signer = std::make_unique<crypto::fake_signer>(client_secret_base + c);
    cs.next_submit =
        rng_.between(plan_.client_first_ticks.lo, plan_.client_first_ticks.hi) * units_per_tick;
    if (twins) {
      // Client 0 reaches twin A, client 1 twin B, the others everyone: the two twins see
      // different requests, so they propose different batches (equivocation).
      for (std::size_t i = 0; i < inst_.size(); ++i) {
        if (c == 0 && i == 4) continue;
        if (c == 1 && i == 0) continue;
        cs.targets.push_back(i);
      }
    } else if (split_brain_ && c < 2) {
      for (std::size_t i = 0; i < inst_.size(); ++i)
        if (group_[i] == c) cs.targets.push_back(i);
    } else {
      for (std::size_t i = 0; i < inst_.size(); ++i) cs.targets.push_back(i);
    }
    clients_.push_back(std::move(cs));
  }
}

void simulation::setup_twins() {
  inst_[0]->twin = inst_[4]->twin = true;
  inst_[0]->honest = inst_[4]->honest = false;
  // Probe the first view so the schedule pins the leader of each round's view.
  {
    persisted_state empty;
    std::uint64_t v0 = 0;
    try {
      auto probe = o_.protocol.make_engine(inst_[1]->cfg, *inst_[1]->signer, verifier_, empty);
      v0 = probe->status().view.value();
    } catch (const std::exception& ex) {
      fail("C", std::string("the engine could not start: ") + ex.what());
    }
    std::vector<replica_id> sched(static_cast<std::size_t>(v0 + rounds_.size()), replica_id{0});
    // Views before the first keep the engine's own leader (unused).
    for (std::uint64_t v = 0; v < v0; ++v)
      sched[v] = replica_id{static_cast<std::uint32_t>(v % n_)};
    for (std::size_t r = 0; r < rounds_.size(); ++r) sched[v0 + r] = replica_id{rounds_[r].leader};
    for (auto& in : inst_) in->cfg.leader_schedule = sched;
  }
  min_delay_ = max_delay_ = plan_.twins_delay_units;
  post_min_delay_ = post_max_delay_ = plan_.twins_delay_units;
}

void simulation::draw_faults() {
  const auto& p = plan_;
  const bool net = o_.faults == fault_mode::network || o_.faults == fault_mode::all;
  const bool crash = o_.faults == fault_mode::crash || o_.faults == fault_mode::all;
  min_delay_ = post_min_delay_ = p.delay_units.lo;
  max_delay_ = post_max_delay_ = p.delay_units.hi;
  if (net) {
    loss_pm_ = rng_.between(p.loss_pm.lo, p.loss_pm.hi);
    dup_pm_ = rng_.between(p.dup_pm.lo, p.dup_pm.hi);
    max_delay_ = rng_.between(p.net_max_delay_units.lo, p.net_max_delay_units.hi);
    const auto windows = rng_.between(p.partition_windows.lo, p.partition_windows.hi);
    for (std::uint64_t w = 0; w < windows; ++w) {
      partition_window pw;
      pw.start = rng_.below(stab_);
      pw.end = std::min(stab_, pw.start + rng_.between(p.partition_ticks.lo, p.partition_ticks.hi) *
                                              units_per_tick);
      switch (rng_.below(3)) {
      case 0: pw.kind = partition_window::shape::halves; break;
      case 1: pw.kind = partition_window::shape::one_node; break;
      default: pw.kind = partition_window::shape::one_way; break;
      }
      pw.group_mask = rng_.between(1, (std::uint64_t{1} << n_) - 2);
      pw.node = rng_.below(n_);
      partitions_.push_back(pw);
    }
  }
  note("drawn: loss ", loss_pm_, " per mille, duplication ", dup_pm_, " per mille, delay ",
       min_delay_, "-", max_delay_, " units, ", partitions_.size(), " partition windows");
  // Byzantine replicas and their behaviours.
  std::vector<std::size_t> ids(n_);
  for (std::size_t i = 0; i < n_; ++i) ids[i] = i;
  for (std::size_t i = 0; i + 1 < n_; ++i) std::swap(ids[i], ids[i + rng_.below(n_ - i)]);
  const std::size_t k = std::min(o_.byzantine, n_);
  // Beyond f (positive controls) the Byzantine replicas collude as split brains: each runs
  // two honest instances with its key, one beside each half of the honest replicas, which
  // a permanent partition keeps apart, so both halves can gather quorums on their own.
  split_brain_ = k > f_ && k < n_;
  if (split_brain_) {
    group_.assign(n_, 0);
    for (std::size_t b = k; b < n_; ++b) group_[ids[b]] = (b - k) % 2;
    for (std::size_t b = 0; b < k; ++b) {
      auto& orig = *inst_[ids[b]];
      orig.honest = false;
      auto in = std::make_unique<instance>(o_.checkpoint_interval);
      in->idx = inst_.size();
      in->id = orig.id;
      in->signer = std::make_unique<crypto::fake_signer>(in->id.value() + 1);
      in->cfg = orig.cfg;
      in->honest = false;
      group_.push_back(1);
      inst_.push_back(std::move(in));
    }
  }
  for (std::size_t b = 0; b < k && !split_brain_; ++b) draw_roles(*inst_[ids[b]]);
  if (o_.honest_amnesia != options::amnesia_mode::none && k < n_) {
    // One honest replica loses its data directory: crash, wipe, restart before stabilisation.
    auto& in = *inst_[ids[k + amnesia_rng_.below(n_ - k)]];
    in.amnesiac = true;
    in.cfg.recovering = o_.honest_amnesia == options::amnesia_mode::guarded;
    const auto earliest = p.amnesia_earliest_ticks * units_per_tick;
    const auto margin = p.amnesia_margin_ticks * units_per_tick;
    const auto span = stab_ > margin ? stab_ - margin : 1;
    const auto at = earliest + amnesia_rng_.below(span);
    push(at, ev_kind::crash, in.idx, 0, 0);
    push(at + amnesia_rng_.between(p.amnesia_down_ticks.lo, p.amnesia_down_ticks.hi) *
                  units_per_tick,
         ev_kind::restart, in.idx, 0, 1);
    note("replica ", in.idx, " will restart with a deleted record (",
         in.cfg.recovering ? "guarded" : "unguarded", ")");
  }
  if (o_.pause)
    draw_pauses(k < n_ ? std::vector<std::size_t>(ids.begin() + k, ids.end())
                       : std::vector<std::size_t>{});
  if (crash) {
    async_sync_ = true;
    const auto crashes = rng_.between(p.crashes.lo, p.crashes.hi);
    const auto margin = p.crash_margin_ticks * units_per_tick;
    for (std::uint64_t c = 0; c < crashes; ++c) {
      const auto who = rng_.below(n_);
      const auto at = rng_.below(stab_ > margin ? stab_ - margin : 1);
      const auto back =
          at + rng_.between(p.crash_down_ticks.lo, p.crash_down_ticks.hi) * units_per_tick;
      push(at, ev_kind::crash, who, 0, rng_.chance(p.lose_unsynced_pm) ? 2 : 0);
      push(std::min(back, stab_), ev_kind::restart, who, 0, 0);
    }
  }
}

// The roles of a Byzantine replica (byzantine_roles): the shared mask from the shared stream
// (redrawn while empty), then each own-stream role from its stream, then their set-up hooks.
void simulation::draw_roles(instance& in) {
  static_assert(byzantine_roles.size() <= 32, "instance::byz holds a bit per role");
  in.honest = false;
  const auto mask = shared_role_mask();
  BFT_ASSERT(mask == 0xff, "the legacy roles keep the 8 bits of the shared mask they had");
  while (in.byz == 0) in.byz = roles_of_mask(static_cast<std::uint32_t>(rng_.next()) & mask);
  for (std::size_t i = 0; i < byzantine_roles.size(); ++i) {
    const auto& r = byzantine_roles[i];
    if (r.draw != role_draw::own_stream || (r.enabled && !r.enabled(o_))) continue;
    if (role_stream(i).chance(plan_.*r.role_pm)) in.byz |= 1u << i;
  }
  note("replica ", in.idx, " is Byzantine, roles ", role_names(in.byz));
  each_role(in, [&](const byz_role& r, role_ctx& c) {
    if (r.at_setup) r.at_setup(c, in);
  });
}

void simulation::push(std::uint64_t time, ev_kind k, std::size_t target, std::size_t source,
                      std::uint64_t aux, std::shared_ptr<const wire> msg,
                      std::shared_ptr<const client_request> req,
                      std::shared_ptr<const app_snapshot> snap) {
  sim_event e;
  e.time = time;
  e.order = order_++;
  e.kind = k;
  e.target = target;
  e.source = source;
  e.aux = aux;
  e.msg = std::move(msg);
  e.request = std::move(req);
  e.snapshot = std::move(snap);
  queue_.push(std::move(e));
}

void simulation::trace(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  trace_ = mix64(trace_ ^ mix64(a ^ mix64(b ^ mix64(c ^ mix64(d)))));
}

bool simulation::stopped() const { return !result_.violations.empty(); }

void simulation::fail(std::string checker, std::string detail) {
  if (stopped()) return;
  std::ostringstream os;
  os << "t=" << now_ / units_per_tick << " " << detail;
  result_.violations.push_back({std::move(checker), os.str()});
}

void simulation::handle(const sim_event& e) {
  auto& in = *inst_[e.target];
  if (in.paused && e.kind != ev_kind::crash && e.kind != ev_kind::restart &&
      e.kind != ev_kind::pause && e.kind != ev_kind::resume) {
    in.inbox.push_back(e); // frozen: it waits, in arrival order
    return;
  }
  switch (e.kind) {
  case ev_kind::deliver: {
    if (!in.up) return;
    trace(0xde1, e.target, e.source, e.msg->hash);
    ++result_.cov.messages;
    check([&](checker& c) { c.on_received(*this, in, *e.msg); });
    each_role(in, [&](const byz_role& r, role_ctx& c) {
      if (r.on_receive) r.on_receive(c, in, e.msg);
    });
    feed(in, ev::received{inst_[e.source]->id, e.msg->frame});
    return;
  }
  case ev_kind::client: {
    if (!in.up) return;
    trace(0xc11, e.target, e.request->client_seq, hash_bytes(e.request->client));
    feed(in, ev::client_requests{{*e.request}});
    return;
  }
  case ev_kind::sync:
    if (!in.up || e.aux != in.generation) return;
    in.sync_scheduled = false;
    flush(in);
    return;
  case ev_kind::fetch_request: {
    if (!in.up) return;
    const app_snapshot* s = in.app.snapshot_at(e.aux);
    if (s == nullptr) return;
    auto snap = std::make_shared<app_snapshot>(*s);
    each_role(in, [&](const byz_role& r, role_ctx& c) {
      if (r.on_snapshot) r.on_snapshot(c, in, *snap);
    });
    route_raw(in.idx, e.source, ev_kind::fetch_reply, e.aux, nullptr, std::move(snap));
    return;
  }
  case ev_kind::fetch_reply: {
    if (!in.up || !in.transfer || in.transfer->index != e.aux) return;
    const auto& s = *e.snapshot;
    if (s.index != in.transfer->index || s.root() != in.transfer->state_root) {
      trace(0xbad5, in.idx, e.aux);
      next_fetch(in); // a wrong snapshot: ask the next source
      return;
    }
    if (in.app.applied() >= s.index) { // caught up meanwhile
      check([&](checker& c) { c.on_certified_root(*this, in, s.index, s.root(), true); });
    } else {
      in.app.install(s);
    }
    in.transfer.reset();
    ++in.transfer_gen;
    ++result_.cov.state_transfers;
    trace(0x57a7e, in.idx, s.index);
    note("state installed at ", in.idx, " index ", s.index);
    feed(in, ev::state_installed{s.index, s.root(), {s.last_seq.begin(), s.last_seq.end()}});
    return;
  }
  case ev_kind::fetch_timeout:
    if (!in.up || !in.transfer || e.aux != in.transfer_gen) return;
    next_fetch(in);
    return;
  case ev_kind::crash: crash(in, e.aux); return;
  case ev_kind::restart: restart(in, e.aux == 1); return;
  case ev_kind::pause: pause(in, e.aux == 1); return;
  case ev_kind::resume: resume(in, e.aux); return;
  }
}

// --pause: a replica frozen like a process under SIGSTOP (options::pause).
void simulation::draw_pauses(const std::vector<std::size_t>& honest) {
  if (honest.empty()) return;
  const std::uint64_t timeout = std::max<std::uint64_t>(1, o_.base_timeout_ticks);
  const auto& pl = plan_;
  const auto count = pause_rng_.between(pl.pauses.lo, pl.pauses.hi);
  for (std::uint64_t p = 0; p < count; ++p) {
    const auto who = honest[pause_rng_.below(honest.size())];
    const bool leader = pause_rng_.chance(pl.pause_leader_pm);
    const auto length =
        pause_rng_.between(pl.pause_timeouts.lo, pl.pause_timeouts.hi) * timeout * units_per_tick;
    const auto margin = pl.pause_margin_ticks * units_per_tick;
    const auto room = stab_ > length + margin ? stab_ - length - margin : 1;
    const auto at = pl.pause_earliest_ticks * units_per_tick + pause_rng_.below(room);
    push(at, ev_kind::pause, who, 0, leader ? 1 : 0);
    push(std::min(at + length, stab_), ev_kind::resume, who, 0,
         pause_rng_.between(pl.pause_owed_ticks.lo, pl.pause_owed_ticks.hi));
  }
}

void simulation::pause(instance& target, bool leader) {
  instance* in = &target;
  if (leader) { // the leader of the highest view an honest replica is in, if honest and up
    const instance* best = nullptr;
    for (const auto& x : inst_)
      if (x->honest && x->up && (!best || x->last.view > best->last.view)) best = x.get();
    if (best)
      for (auto& x : inst_)
        if (x->id == best->last.leader && x->honest && !x->twin) in = x.get();
  }
  if (!in->up || in->paused) return;
  trace(0x9a05e, in->idx, now_);
  note("pause ", in->idx, " view=", in->last.view.value(), " committed=", in->last.committed_index);
  in->paused = true;
  paused_.push_back(in->idx);
}

void simulation::resume(instance& target, std::uint64_t owed) {
  // The resume event names the drawn replica; a leader pause froze another one: resume the
  // longest-paused.
  instance* in = &target;
  if (!in->paused) {
    if (paused_.empty()) return;
    in = inst_[paused_.front()].get();
  }
  paused_.erase(std::find(paused_.begin(), paused_.end(), in->idx));
  const std::uint64_t timeout = std::max<std::uint64_t>(1, o_.base_timeout_ticks);
  const auto span = pause_rng_.between(0, plan_.pause_drain_timeouts * timeout) * units_per_tick;
  trace(0x4e5e, in->idx, owed, span);
  note("resume ", in->idx, " inbox=", in->inbox.size(), " owed ticks=", owed, " drain over ",
       span / units_per_tick, " ticks");
  in->paused = false;
  for (std::uint64_t t = 0; t < owed && in->up && !stopped(); ++t) feed(*in, ev::tick{});
  auto inbox = std::move(in->inbox);
  in->inbox.clear();
  for (std::size_t i = 0; i < inbox.size(); ++i) {
    auto e = std::move(inbox[i]);
    e.time = now_ + 1 + (inbox.size() > 1 ? span * i / (inbox.size() - 1) : 0);
    e.order = order_++;
    queue_.push(std::move(e));
  }
}

void simulation::crash(instance& in, std::uint64_t flags) {
  if (!in.up) return;
  if (in.paused) { // a frozen process killed: its inbox is gone with it
    in.paused = false;
    in.inbox.clear();
    paused_.erase(std::find(paused_.begin(), paused_.end(), in.idx));
  }
  trace(0xc4a5, in.idx, flags);
  note("crash ", in.idx, (flags & 2) ? " losing unsynced writes" : "",
       " pending=", in.pending.size());
  in.up = false;
  ++in.generation;
  ++result_.cov.crashes;
  const bool lose = (flags & 2) != 0;
  if (lose) {
    result_.cov.lost_writes += in.pending.size();
    in.pending.clear();
  } else {
    flush_writes(in);
  }
  in.held.clear();
  in.sync_scheduled = false;
  in.eng.reset();
  in.transfer.reset();
  ++in.transfer_gen;
  in.have_last = false;
}

void simulation::restart(instance& in, bool amnesia) {
  if (in.up) return;
  trace(0x4e57, in.idx, amnesia ? 1 : 0);
  note("restart ", in.idx, amnesia ? " with amnesia" : "", " app at ", in.app.applied());
  if (amnesia) in.durable.clear();
  if (!build_engine(in)) return;
  in.up = true;
  ++result_.cov.restarts;
  note("restarted ", in.idx, " view=", in.last.view.value(), " committed=", in.last.committed_index,
       " stable=", in.last.stable_index);
}

bool simulation::build_engine(instance& in) {
  if (in.cfg.recovering) in.cfg.recovery_nonce = amnesia_rng_.next(); // fresh per start
  try {
    in.eng = o_.protocol.make_engine(in.cfg, *in.signer, verifier_, in.durable);
  } catch (const std::exception& ex) {
    fail("C", "replica " + std::to_string(in.id.value()) +
                  " could not start from its persisted records: " + ex.what());
    return false;
  }
  in.last = in.eng->status();
  in.have_last = true;
  return true;
}

void simulation::feed(instance& in, event first) {
  std::deque<event> q;
  q.push_back(std::move(first));
  while (!q.empty() && !stopped() && in.up) {
    event e = std::move(q.front());
    q.pop_front();
    ready r = in.eng->step(e);
    apply_ready(in, r, q);
    observe(in);
  }
}

void simulation::apply_ready(instance& in, ready& r, std::deque<event>& q) {
  // 1. persist (into the unsynced buffer; durable at the next sync point)
  for (auto& op : r.persist) {
    trace(0x9e4, in.idx, hash_bytes(as_bytes(op.key)), op.erase ? 1 : hash_bytes(op.value));
    in.pending.push_back(std::move(op));
  }
  // 2. messages leave only once everything persisted before them is durable
  if (!in.pending.empty() && !async_sync_) flush_writes(in);
  if (!r.messages.empty()) {
    if (in.pending.empty() && in.held.empty()) {
      release(in, r.messages);
    } else {
      in.held.push_back(std::move(r.messages));
    }
  }
  if (!in.pending.empty() && !in.sync_scheduled) {
    in.sync_scheduled = true;
    push(now_ + rng_.between(plan_.sync_units.lo, plan_.sync_units.hi), ev_kind::sync, in.idx,
         in.idx, in.generation);
  }
  // 3. committed entries, in index order, into the application
  for (const auto& entry : r.committed) {
    apply_committed(in, entry, q);
    if (stopped()) return;
  }
  if (o_.log)
    for (const auto& rj : r.rejected) note("rejected by ", in.idx, ": ", rj.reason);
  for (const auto& a : r.alarms) check([&](checker& c) { c.on_alarm(*this, in, a); });
  // 4. evidence
  for (const auto& ev : r.evidence) check([&](checker& c) { c.on_evidence(*this, in, ev); });
  // 5. state transfer
  if (r.state_transfer) start_transfer(in, *r.state_transfer, q);
}

void simulation::flush_writes(instance& in) {
  for (auto& op : in.pending) {
    if (op.erase) {
      in.durable.erase(op.key);
    } else {
      in.durable[op.key] = std::move(op.value);
    }
  }
  in.pending.clear();
}

void simulation::flush(instance& in) {
  flush_writes(in);
  while (!in.held.empty() && in.up && !stopped()) {
    auto msgs = std::move(in.held.front());
    in.held.pop_front();
    release(in, msgs);
  }
}

} // namespace bft::sim::detail
