// The replica actor: hosts one engine and applies its `ready` values in order. It holds no
// protocol rule: what to send, persist or commit is the engine's decision.
#include <deque>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "protocols/common/codec.hpp"

namespace bft::actors {

namespace {

/// State of the replica actor. Owned by the actor; the engine is stepped only from its
/// handlers (the engine is single-threaded).
struct replica_state {
  static inline const char* name = "bft.replica";
  replica_config cfg;
  std::unique_ptr<engine> eng;
  /// Readies not yet fully applied, oldest first. The front one may wait for its persist;
  /// those behind it wait too, so no message overtakes an unconfirmed persist.
  std::deque<ready> pending;
  bool persisting = false;
  std::uint64_t committed_txs = 0;
  std::map<replica_id, peer_observation> observed;
  std::unique_ptr<replica_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("replica");
  rate_limiter limiter;
};

using replica_self = replica_actor::stateful_pointer<replica_state>;

void drain(replica_self self);

void step(replica_self self, const event& e) {
  auto& st = self->state;
  auto r = st.eng->step(e);
  auto s = st.eng->status();
  if (st.probe) st.probe->on_status(s.view.value(), s.committed_index);
  if (r.empty()) return;
  st.pending.push_back(std::move(r));
  drain(self);
}

void send_messages(replica_self self, std::vector<outbound>& messages) {
  auto& st = self->state;
  for (auto& m : messages) {
    auto env = codec::peek_envelope(m.frame);
    std::uint16_t type = env ? env->type : 0;
    frame f{st.cfg.id.self.value(), std::string(m.frame.begin(), m.frame.end())};
    std::uint64_t copies = 0;
    if (m.to) {
      auto it = st.cfg.links.find(*m.to);
      if (it != st.cfg.links.end()) {
        self->send(it->second, frame_atom::value, std::move(f));
        copies = 1;
      }
    } else {
      for (const auto& [peer, link] : st.cfg.links) {
        self->send(link, frame_atom::value, f);
        ++copies;
      }
    }
    if (st.probe && copies > 0) st.probe->on_sent(type, copies);
  }
}

/// Everything of a ready after its persist: messages, committed, rejected, evidence.
void apply_after_persist(replica_self self, ready& r) {
  auto& st = self->state;
  send_messages(self, r.messages);
  if (!r.committed.empty()) {
    std::uint64_t txs = 0;
    for (const auto& e : r.committed)
      for (const auto& req : e.requests) txs += req.txs.size();
    st.committed_txs += txs;
    if (st.probe) st.probe->on_committed(r.committed.size(), txs);
    self->request(st.cfg.state_machine, caf::infinite, commit_atom::value,
                  commit_batch{std::move(r.committed)})
        .then([self](executed_list& done) {
          for (const auto& e : done.entries) step(self, ev::executed{e.index, e.state_root});
        });
  }
  for (const auto& rej : r.rejected) {
    bool sig = rej.reason.find("signature") != std::string::npos;
    if (st.probe) st.probe->on_rejected(sig);
    std::string who = rej.from ? std::to_string(rej.from->value()) : std::string("?");
    if (rej.from) {
      auto& o = st.observed[*rej.from];
      o.peer = *rej.from;
      ++o.rejected;
      if (sig) ++o.signature_failures;
    }
    std::uint64_t held = 0;
    if (st.limiter.allow("reject/" + who, held))
      st.log->warn("replica rejects frame node={} from={} reason=\"{}\" suppressed={}",
                   st.cfg.id.self.value(), who, rej.reason, held);
  }
  for (auto& e : r.evidence) {
    if (st.probe) st.probe->on_evidence();
    st.log->warn("replica finds evidence node={} culprit={}", st.cfg.id.self.value(),
                 e.culprit.value());
    self->send(st.cfg.monitor, evidence_atom::value, evidence_report{std::move(e)});
  }
  if (r.state_transfer) {
    std::uint64_t held = 0;
    if (st.limiter.allow("state-transfer", held))
      st.log->warn("replica needs state transfer node={} index={} (not available in this "
                   "runtime yet) suppressed={}",
                   st.cfg.id.self.value(), r.state_transfer->index, held);
  }
}

void drain(replica_self self) {
  auto& st = self->state;
  while (!st.persisting && !st.pending.empty()) {
    auto& front = st.pending.front();
    if (!front.persist.empty()) {
      st.persisting = true;
      persist_batch b{std::move(front.persist)};
      front.persist.clear();
      self->request(st.cfg.store, caf::infinite, persist_atom::value, std::move(b))
          .then(
              [self](persisted_atom) {
                self->state.persisting = false;
                drain(self);
              },
              [self](caf::error& err) {
                // Without a durable safety record nothing of this ready may leave: stop.
                self->state.log->critical("replica stops: store failed node={} error={}",
                                          self->state.cfg.id.self.value(),
                                          self->system().render(err));
                self->quit(err);
              });
      return;
    }
    ready r = std::move(front);
    st.pending.pop_front();
    apply_after_persist(self, r);
  }
}

replica_actor::behavior_type replica_fn(replica_self self, replica_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.eng = init.cfg.make_engine(init.cfg.engine, *init.cfg.id.signer, *init.cfg.id.verifier,
                                  init.cfg.restored);
  init.cfg.restored.clear();
  if (init.cfg.id.probes != nullptr)
    init.probe = std::make_unique<replica_probe>(*init.cfg.id.probes, init.cfg.id.self);
  init.log->info("replica starts node={} peers={} tick_ms={}", init.cfg.id.self.value(),
                 init.cfg.links.size(), init.cfg.tick.count());
  self->delayed_send(self, init.cfg.tick, tick_atom::value);
  self->delayed_send(self, std::chrono::seconds(1), flush_atom::value);
  return {
      [self](frame_atom, frame& f) {
        auto& st = self->state;
        if (f.data.size() > codec::max_frame_bytes) return; // the acceptor checked already
        auto& o = st.observed[replica_id{f.from}];
        o.peer = replica_id{f.from};
        ++o.messages;
        if (st.probe) {
          auto env = codec::peek_envelope(as_bytes(f.data));
          st.probe->on_received(env ? env->type : 0);
        }
        step(self, ev::received{replica_id{f.from}, bytes(f.data.begin(), f.data.end())});
      },
      [self](tick_atom) {
        self->delayed_send(self, self->state.cfg.tick, tick_atom::value);
        step(self, ev::tick{});
      },
      [self](submit_atom, request_batch& b) {
        step(self, ev::client_requests{std::move(b.requests)});
      },
      [self](flush_atom) {
        auto& st = self->state;
        self->delayed_send(self, std::chrono::seconds(1), flush_atom::value);
        observations obs;
        for (auto& [peer, o] : st.observed) obs.peers.push_back(o);
        st.observed.clear();
        self->send(st.cfg.monitor, observe_atom::value, std::move(obs));
      },
      [self](status_atom) -> replica_status {
        return replica_status{self->state.eng->status(), self->state.committed_txs};
      },
  };
}

} // namespace

replica_actor spawn_replica(caf::actor_system& sys, replica_config cfg) {
  return sys.spawn(replica_fn, std::move(cfg));
}

} // namespace bft::actors
