#include "protocols/sim/simulation.hpp"

// The simulation's clients, the checkers K1-K9, state transfer and coverage.
namespace bft::sim::detail {

void simulation::drive_clients() {
  if (o_.twins_scenario && now_ >= stab_) inst_[4]->up = false; // silence twin B
  for (std::size_t c = 0; c < clients_.size(); ++c) {
    auto& cs = clients_[c];
    if (!cs.outstanding && now_ >= cs.next_submit) {
      client_request r;
      r.client = cs.signer->key();
      r.client_seq = cs.next_seq++;
      const auto txs = rng_.between(1, 3);
      for (std::uint64_t i = 0; i < txs; ++i) {
        bytes tx(8);
        const auto v = rng_.next();
        for (int k = 0; k < 8; ++k) tx[k] = static_cast<std::uint8_t>(v >> (8 * k));
        r.txs.push_back(std::move(tx));
      }
      const auto body = r.body();
      r.sig = cs.signer->sign(codec::signing_bytes(client_request::sign_tag, inst_[0]->cfg.chain_id,
                                                   inst_[0]->cfg.epoch, body));
      cs.outstanding = std::make_shared<const client_request>(std::move(r));
      cs.submitted_at = now_;
      cs.executed_by.clear();
      submitted_[{cs.outstanding->client, cs.outstanding->client_seq}] = {cs.outstanding, now_};
      note("client ", c, " submits seq ", cs.outstanding->client_seq);
      send_request(cs);
    } else if (cs.outstanding && now_ - cs.last_sent >= client_retransmit_units) {
      send_request(cs);
    }
  }
}

void simulation::send_request(client_state& cs) {
  cs.last_sent = now_;
  for (auto i : cs.targets) {
    if (now_ < stab_ && loss_pm_ > 0 && rng_.chance(loss_pm_)) continue;
    push(now_ + draw_delay(), ev_kind::client, i, i, 0, nullptr, cs.outstanding);
  }
}

void simulation::client_saw_execution(const instance& in, const client_request& r) {
  for (auto& cs : clients_) {
    if (!cs.outstanding || cs.outstanding->client != r.client ||
        cs.outstanding->client_seq != r.client_seq)
      continue;
    cs.executed_by.insert(in.id.value());
    if (cs.executed_by.size() >= f_ + 1) {
      cs.outstanding.reset();
      cs.next_submit = now_ + rng_.between(0, 4) * units_per_tick;
    }
  }
}

void simulation::apply_committed(instance& in, const committed_entry& e, std::deque<event>& q) {
  const auto rid = std::to_string(in.id.value());
  trace(0xc0, in.idx, e.index, hash_bytes(e.id));
  note("commit ", in.idx, " index ", e.index, " ", hex_short(e.id), " requests ", e.requests.size(),
       " app at ", in.app.applied());
  if (in.honest) {
    // K2: the committed prefix only grows; an index once committed never changes.
    auto [it, fresh] = in.committed_ids.emplace(e.index, e.id);
    if (!fresh && it->second != e.id) {
      fail("K2", "replica " + rid + " re-committed index " + std::to_string(e.index) + " as " +
                     hex_short(e.id) + " after " + hex_short(it->second));
      return;
    }
    // K1: no two honest replicas commit different values at one index.
    auto [g, gfresh] = agreed_.emplace(e.index, std::make_pair(e.id, in.id.value()));
    if (!gfresh && g->second.first != e.id) {
      fail("K1", "replicas " + std::to_string(g->second.second) + " and " + rid +
                     " committed different entries at index " + std::to_string(e.index) + ": " +
                     hex_short(g->second.first) + " vs " + hex_short(e.id));
      return;
    }
  }
  const auto applied = in.app.applied();
  if (e.index <= applied) { // already applied before a crash or state transfer
    if (auto root = in.app.root_at(e.index)) q.push_back(ev::executed{e.index, *root});
    return;
  }
  if (e.index != applied + 1) {
    fail("C", "replica " + rid + " committed index " + std::to_string(e.index) +
                  " while its application is at " + std::to_string(applied) +
                  " (a gap without state transfer)");
    return;
  }
  if (in.honest) {
    // K6: every committed request was submitted by a client, as signed.
    for (const auto& r : e.requests) {
      auto s = submitted_.find({r.client, r.client_seq});
      if (s == submitted_.end() || !(*s->second.first == r)) {
        fail("K6", "replica " + rid + " committed a request never submitted by a client" +
                       " (client_seq " + std::to_string(r.client_seq) + ") at index " +
                       std::to_string(e.index));
        return;
      }
    }
  }
  auto res = in.app.apply(e);
  if (in.honest) {
    ++result_.cov.commits;
    for (const auto* r : res.executed) {
      ++result_.cov.requests;
      if (!in.executed.insert({r->client, r->client_seq}).second) {
        fail("K6",
             "replica " + rid + " executed client_seq " + std::to_string(r->client_seq) + " twice");
        return;
      }
      if (submitted_[{r->client, r->client_seq}].second >= stab_)
        fresh_index_ = std::min(fresh_index_, e.index);
    }
    // K3: equal state roots at every committed index.
    auto [g, gfresh] = roots_.emplace(e.index, std::make_pair(in.app.root(), in.id.value()));
    if (!gfresh && g->second.first != in.app.root()) {
      fail("K3", "replicas " + std::to_string(g->second.second) + " and " + rid +
                     " have different state roots at index " + std::to_string(e.index));
      return;
    }
  }
  for (const auto* r : res.executed) client_saw_execution(in, *r);
  q.push_back(ev::executed{e.index, in.app.root()});
}

/// K4 on every frame that leaves any replica: a statement signed by an honest key (sent by
/// its owner or relayed by another replica) must not conflict with an earlier one.
void simulation::check_honest_statement(const wire& w) {
  if (!w.stmt) return;
  const auto& s = *w.stmt;
  if (!honest_key(s.signer)) return;
  auto [it, fresh] = honest_said_.emplace(key_of(s), s.content);
  if (!fresh && it->second != s.content) {
    fail("K4", "honest replica " + std::to_string(s.signer.value()) +
                   " signed two conflicting statements for phase " + std::to_string(s.phase) +
                   " view " + std::to_string(s.view) + " seq " + std::to_string(s.seq) + ": " +
                   hex_short(it->second) + " vs " + hex_short(s.content));
  }
}

void simulation::note_received(instance& in, const wire& w) {
  if (!o_.twins_scenario || !in.honest || !w.stmt) return;
  const auto& s = *w.stmt;
  if (s.signer == in.id) return;
  auto [it, fresh] = in.received.emplace(key_of(s), s.content);
  // Reached: the receiver was not past the statement's view nor its sequence number's
  // stable checkpoint, where an engine may drop messages unread.
  if (!fresh && it->second != s.content && in.last.view.value() <= s.view &&
      (s.seq == 0 || s.seq > in.last.stable_index)) {
    std::ostringstream os;
    os << "replica " << in.id.value() << " received phase " << int{s.phase} << " view " << s.view
       << " seq " << s.seq << " at t=" << now_ / units_per_tick << " while in view "
       << in.last.view.value();
    equivocation_reached_.emplace(s.signer.value(), os.str());
  }
}

void simulation::check_evidence(const instance& in, const evidence& ev) {
  if (!in.honest && !in.twin) return;
  const auto& insp = *o_.protocol.inspector;
  auto a = insp.statement_of(ev.first, vs_, verifier_, in.cfg);
  auto b = insp.statement_of(ev.second, vs_, verifier_, in.cfg);
  const auto rid = std::to_string(in.id.value());
  const auto culprit = std::to_string(ev.culprit.value());
  if (!a || !b || a->signer != ev.culprit || b->signer != ev.culprit || key_of(*a) != key_of(*b) ||
      a->content == b->content) {
    fail("K8", "replica " + rid + " reported invalid evidence against " + culprit);
    return;
  }
  const auto& accused = *inst_[ev.culprit.value() < n_ ? ev.culprit.value() : 0];
  bool culprit_honest = false;
  for (const auto& x : inst_)
    if (x->id == ev.culprit && x->honest) culprit_honest = true;
  if (culprit_honest) {
    fail("K8", "replica " + rid + " accused honest replica " + culprit);
    return;
  }
  (void)accused;
  if (in.honest) {
    ++result_.cov.evidence;
    accused_.insert(ev.culprit.value());
  }
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
    if (r && in.honest) {
      fail("K3", "replica " + std::to_string(in.id.value()) + " applied index " +
                     std::to_string(req.index) + " with a root other than the certified one");
      return;
    }
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
  push(now_ + fetch_timeout_units, ev_kind::fetch_timeout, in.idx, in.idx, in.transfer_gen);
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

void simulation::final_checks() {
  const std::size_t faulty = std::count_if(inst_.begin(), inst_.end(), [](const auto& in) {
    return (!in->honest && !in->twin) || in->amnesiac;
  });
  const bool live_expected = o_.twins_scenario || faulty <= f_;
  if (live_expected) {
    // Every honest replica's committed state must cover an entry holding a request that
    // was submitted after stabilisation, executed itself or installed from a certified
    // snapshot (a replica may catch up through state transfer).
    for (const auto& in : inst_) {
      if (!in->honest) continue;
      if (in->app.applied() < fresh_index_) {
        std::ostringstream os;
        os << "replica " << in->id.value()
           << " committed no entry holding a request submitted after stabilisation at t="
           << stab_ / units_per_tick << " within the bound of " << (end_ - stab_) / units_per_tick
           << " ticks (first such entry: "
           << (fresh_index_ == ~std::uint64_t{0} ? std::string("none")
                                                 : std::to_string(fresh_index_))
           << "; application at index " << in->app.applied() << ", view " << in->last.view.value()
           << (in->last.view_changing ? ", view-changing" : "") << ")";
        fail("K7", os.str());
        return;
      }
    }
  }
  if (o_.twins_scenario) {
    for (const auto& [culprit, where] : equivocation_reached_) {
      if (!accused_.count(culprit)) {
        fail("K8", "conflicting statements of replica " + std::to_string(culprit) +
                       " reached an honest replica (" + where +
                       ") but no honest replica reported evidence");
        return;
      }
    }
  }
}

} // namespace bft::sim::detail
