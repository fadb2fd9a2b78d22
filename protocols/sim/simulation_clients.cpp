#include "protocols/sim/simulation.hpp"

// The simulation's clients: each signs one request at a time, submits it to its targets
// (lost like any frame before stabilisation), retransmits it, and moves on once f + 1
// replicas executed it. `submitted_` records every request signed, for K6 and K7.
namespace bft::sim::detail {

void simulation::drive_clients() {
  if (o_.twins_scenario && now_ >= stab_) inst_[4]->up = false; // silence twin B
  for (std::size_t c = 0; c < clients_.size(); ++c) {
    auto& cs = clients_[c];
    if (!cs.outstanding && now_ >= cs.next_submit) {
      client_request r;
      r.client = cs.signer->key();
      r.client_seq = cs.next_seq++;
      const auto txs = rng_.between(plan_.client_txs.lo, plan_.client_txs.hi);
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
    } else if (cs.outstanding &&
               now_ - cs.last_sent >= plan_.client_retransmit_ticks * units_per_tick) {
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
      cs.next_submit =
          now_ +
          rng_.between(plan_.client_think_ticks.lo, plan_.client_think_ticks.hi) * units_per_tick;
    }
  }
}

std::optional<check_host::submission> simulation::submitted(const public_key& client,
                                                            std::uint64_t seq) const {
  auto s = submitted_.find({client, seq});
  if (s == submitted_.end()) return std::nullopt;
  return submission{s->second.first.get(), s->second.second};
}

} // namespace bft::sim::detail
