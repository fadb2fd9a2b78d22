// The replica actor: hosts one engine and applies its `ready` values in order. It holds no
// protocol rule: what to send, persist or commit is the engine's decision.
#include <algorithm>
#include <chrono>
#include <deque>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/catchup.hpp"
#include "actors/coro.hpp"
#include "actors/log.hpp"
#include "actors/rocksdb_storage.hpp"
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
  /// How many readies at the front of `pending` have their records (and entries) durable.
  std::size_t covered = 0;
  std::uint64_t committed_txs = 0;
  std::map<replica_id, peer_observation> observed;
  std::unique_ptr<replica_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("replica");
  rate_limiter limiter;
  /// Catch-up: the session fetching a certified snapshot (at most one), the snapshots this
  /// replica serves to others (a few, by index), and their metrics.
  snapshot_fetcher fetcher;
  std::map<std::uint64_t, served_snapshot> served;
  std::unique_ptr<catchup_probe> catchup;
  /// The tick timer: only the timer of generation `tick_gen` counts (a sooner one replaces a
  /// later one); `idle_timer` says it is an idle one (replica_config::idle_tick). When the
  /// engine last had a tick and when a client request last arrived.
  std::uint64_t tick_gen = 0;
  bool idle_timer = false;
  std::chrono::steady_clock::time_point last_tick{};
  std::chrono::steady_clock::time_point last_request{};
  /// The running catch-up session (`catch_up`) waits here for its assembled snapshot
  /// (nullopt: a newer session replaced it).
  trigger<std::optional<bytes>> assembled;
  coro_scope scope; ///< last: waiting coroutines go before the rest of the state
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
      std::size_t left = st.cfg.links.size();
      for (const auto& [peer, link] : st.cfg.links) {
        if (--left == 0)
          self->send(link, frame_atom::value, std::move(f)); // the last one takes the bytes
        else
          self->send(link, frame_atom::value, f);
        ++copies;
      }
    }
    if (st.probe && copies > 0) st.probe->on_sent(type, copies);
  }
}

void send_to(replica_self self, replica_id peer, const bytes& data) {
  auto& st = self->state;
  auto it = st.cfg.links.find(peer);
  if (it == st.cfg.links.end()) return;
  self->send(it->second, frame_atom::value,
             frame{st.cfg.id.self.value(), std::string(data.begin(), data.end())});
}

void apply_fetch(replica_self self, fetch_output out);

/// Engine ticks one idle wake-up stands for (1: every tick wakes the replica).
std::uint64_t idle_factor(const replica_state& st) {
  if (st.cfg.tick.count() <= 0 || st.cfg.idle_tick <= st.cfg.tick) return 1;
  return static_cast<std::uint64_t>(st.cfg.idle_tick / st.cfg.tick);
}

/// Arms the one tick timer that counts: in one tick, or (idle) in one idle period.
void arm_tick(replica_self self, bool idle) {
  auto& st = self->state;
  ++st.tick_gen;
  st.idle_timer = idle;
  const auto ticks = idle ? idle_factor(st) : 1;
  self->delayed_send(self,
                     std::chrono::milliseconds(st.cfg.tick.count() * static_cast<long>(ticks)),
                     tick_atom::value, st.tick_gen);
}

/// A timer fired: steps the engine with one tick, or after an idle period with the ticks that
/// elapsed in it (at most one period's worth: time never runs faster than the clock), and
/// arms the next timer: idle once no client request came for a while (replica_config::
/// idle_after) and no catch-up runs. An idle replica wakes every idle_tick instead of every tick
/// (CPU, and HotStuff's empty blocks: a leader with nothing to order waits for a tick before
/// proposing one).
void on_tick(replica_self self) {
  auto& st = self->state;
  const auto now = self->clock().now(); // the actor clock: steady, or a test's clock
  std::uint64_t n = 1;
  if (st.idle_timer) {
    const auto elapsed = static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(now - st.last_tick).count() /
               std::max<std::int64_t>(1, st.cfg.tick.count())));
    n = std::clamp<std::uint64_t>(elapsed, 1, idle_factor(st));
  }
  st.last_tick = now;
  const auto quiet = std::max<std::chrono::steady_clock::duration>(
      st.cfg.idle_after, 2 * st.cfg.tick * static_cast<long>(st.cfg.engine.batch_delay_ticks));
  const bool idle = idle_factor(st) > 1 && !st.fetcher.active() && now - st.last_request >= quiet;
  arm_tick(self, idle);
  for (std::uint64_t i = 0; i < n; ++i) {
    apply_fetch(self, st.fetcher.on_tick());
    step(self, ev::tick{});
  }
}

/// Sends what the fetcher asks for and reports the faults it found.
void apply_fetch(replica_self self, fetch_output out) {
  auto& st = self->state;
  for (const auto& [peer, data] : out.send) send_to(self, peer, data);
  for (const auto& f : out.faults) {
    if (st.catchup) st.catchup->on_fault(f.peer, f.reason);
    const bool lie = f.reason != "timeout" && f.reason != "unavailable";
    std::uint64_t held = 0;
    if (lie)
      st.log->warn("replica catch-up finds a faulty peer node={} peer={} reason={} index={}",
                   st.cfg.id.self.value(), f.peer.value(), f.reason, st.fetcher.index());
    else if (st.limiter.allow("catchup/" + f.reason, held))
      st.log->info("replica catch-up asks another peer node={} peer={} reason={} index={} "
                   "suppressed={}",
                   st.cfg.id.self.value(), f.peer.value(), f.reason, st.fetcher.index(), held);
  }
  if (out.complete) {
    const bool heard = st.assembled.fire(std::move(*out.complete));
    BFT_ASSERT(heard, "the catch-up session awaits the snapshot its fetcher assembles");
  }
}

/// One catch-up session, top to bottom: the fetcher asks sources for the manifest and the
/// chunks and checks each (its timeouts, in ticks, and its choice of the next source stay in
/// the CAF-free, unit-tested `snapshot_fetcher`); once it has assembled the snapshot, the
/// state machine restores it, which checks the certified root again (recomputed from the
/// data); only then does the engine hear `ev::state_installed`. A snapshot that does not
/// restore sends the fetcher on to the next source and the session waits again.
task catch_up(coro_scope&, replica_self self, state_transfer_request req) {
  auto& st = self->state;
  std::vector<replica_id> peers;
  for (const auto& [peer, link] : st.cfg.links) peers.push_back(peer);
  apply_fetch(self, st.fetcher.start(req, peers));
  for (;;) {
    auto snapshot = co_await st.assembled;
    if (!snapshot) co_return; // a newer session replaced this one
    const auto index = st.fetcher.index();
    const auto root = st.fetcher.root();
    // A named awaiter: g++ 12.2 destroys an aggregate temporary built inside a co_await
    // expression twice (a double free); see coro.hpp.
    auto restore = request_awaiter<install_answer, std::remove_pointer_t<replica_self>,
                                   state_machine_actor, install_atom, install_request>(
        self, st.cfg.state_machine, caf::infinite, install_atom::value,
        install_request{index, root, std::move(*snapshot)});
    auto a = co_await restore;
    if (!a) { // the state machine is gone: stop, as an unhandled request error does
      self->quit(a.error());
      co_return;
    }
    if (!st.fetcher.installing() || st.fetcher.index() != index || st.fetcher.root() != root)
      co_return; // a newer session replaced this one
    if (!a->ok) {
      st.log->warn("replica catch-up rejects an assembled snapshot node={} index={} "
                   "error=\"{}\"",
                   st.cfg.id.self.value(), index, a->error);
      apply_fetch(self, st.fetcher.on_install_failed());
      continue;
    }
    st.fetcher.on_installed();
    if (st.catchup) st.catchup->on_installed();
    st.log->info("replica installs certified snapshot node={} index={}", st.cfg.id.self.value(),
                 index);
    step(self, ev::state_installed{index, root, std::move(a->client_seqs)});
    co_return;
  }
}

/// Answers a peer's catch-up request from the snapshots the state machine keeps.
void serve(replica_self self, replica_id peer, const sync_request& req) {
  if (auto it = self->state.served.find(req.index); it != self->state.served.end()) {
    send_to(self, peer, encode_sync(answer(&it->second, req)));
    return;
  }
  self->request(self->state.cfg.state_machine, caf::infinite, snapshot_atom::value, req.index)
      .then([self, peer, req](snapshot_answer& a) {
        auto& st = self->state;
        if (!a.found) {
          send_to(self, peer, encode_sync(sync_unavailable{req.index}));
          return;
        }
        auto [it, fresh] = st.served.try_emplace(req.index);
        if (fresh) it->second = make_served(req.index, a.root, a.data);
        while (st.served.size() > 2) st.served.erase(st.served.begin());
        if (auto again = st.served.find(req.index); again != st.served.end())
          send_to(self, peer, encode_sync(answer(&again->second, req)));
        else
          send_to(self, peer, encode_sync(sync_unavailable{req.index}));
      });
}

void on_sync_frame(replica_self self, replica_id from, byte_view data) {
  auto& st = self->state;
  auto m = decode_sync(data);
  if (!m) {
    if (st.catchup) st.catchup->on_fault(from, "malformed");
    std::uint64_t held = 0;
    if (st.limiter.allow("sync-malformed", held))
      st.log->warn("replica drops a malformed catch-up frame node={} from={} suppressed={}",
                   st.cfg.id.self.value(), from.value(), held);
    return;
  }
  if (const auto* req = std::get_if<sync_request>(&*m)) {
    serve(self, from, *req);
    return;
  }
  apply_fetch(self, st.fetcher.on_message(from, *m));
}

/// One engine frame from a peer (alone or out of a batch).
void on_frame(replica_self self, replica_id from, byte_view data) {
  auto& st = self->state;
  if (is_sync_frame(data)) {
    on_sync_frame(self, from, data);
    return;
  }
  auto& o = st.observed[from];
  o.peer = from;
  ++o.messages;
  if (st.probe) {
    auto env = codec::peek_envelope(data);
    st.probe->on_received(env ? env->type : 0);
  }
  step(self, ev::received{from, bytes(data.begin(), data.end())});
}

/// Everything of a ready after its persist: messages, committed, rejected, alarms, evidence.
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
  for (const auto& a : r.alarms) // more than f faulty replicas, or a bug: never rate-limited
    st.log->critical("replica raises a safety alarm node={} alarm=\"{}\"", st.cfg.id.self.value(),
                     a);
  for (auto& e : r.evidence) {
    if (st.probe) st.probe->on_evidence();
    auto first = codec::peek_envelope(e.first);
    auto second = codec::peek_envelope(e.second);
    st.log->warn("replica finds evidence node={} culprit={} types={},{}", st.cfg.id.self.value(),
                 e.culprit.value(), frame_type_label(first ? first->type : 0),
                 frame_type_label(second ? second->type : 0));
    self->send(st.cfg.monitor, evidence_atom::value, evidence_report{std::move(e)});
  }
  if (r.state_transfer) {
    const auto& req = *r.state_transfer;
    if (st.fetcher.active() && st.fetcher.index() == req.index &&
        st.fetcher.root() == req.state_root)
      return; // this session is already running
    st.log->info("replica catches up by snapshot node={} index={} sources={}",
                 st.cfg.id.self.value(), req.index, req.sources.size());
    st.assembled.fire(std::nullopt); // ends a session that still waits for its snapshot
    catch_up(st.scope, self, req);
  }
}

bool needs_store(const replica_state& st, const ready& r) {
  return !r.persist.empty() || (st.cfg.log_entries && !r.committed.empty());
}

/// Applies the pending readies in order. A ready that has records (or, with a logging store,
/// committed entries) waits for the store; the write then carries the records of EVERY ready
/// pending at that moment, in order, as one synced batch (group commit), so one fsync covers
/// them all and a slow disk does not make the queue grow. Each ready still leaves only after
/// its own records are durable; a later ready's records merely become durable early.
void drain(replica_self self) {
  auto& st = self->state;
  while (!st.persisting && !st.pending.empty()) {
    auto& front = st.pending.front();
    if (st.covered == 0 && needs_store(st, front)) {
      persist_batch b;
      for (auto& r : st.pending) {
        for (auto& op : r.persist) b.ops.push_back(std::move(op));
        r.persist.clear();
        if (st.cfg.log_entries) // committed stays in the ready, to be applied
          for (const auto& e : r.committed) b.entries.emplace_back(e.index, encode_entry(e));
        if (st.cfg.mutant_send_before_persist) { // seeded bug (tests only)
          send_messages(self, r.messages);
          r.messages.clear();
        }
      }
      const auto group = st.pending.size();
      st.persisting = true;
      self->request(st.cfg.store, caf::infinite, persist_atom::value, std::move(b))
          .then(
              [self, group](persisted_atom) {
                self->state.persisting = false;
                self->state.covered = group;
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
    if (st.covered > 0) --st.covered;
    apply_after_persist(self, r);
  }
}

replica_actor::behavior_type replica_fn(replica_self self, replica_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.eng = init.cfg.make_engine(init.cfg.engine, *init.cfg.id.signer, *init.cfg.id.verifier,
                                  init.cfg.restored);
  init.cfg.restored.clear();
  if (init.cfg.id.probes != nullptr) {
    init.probe = std::make_unique<replica_probe>(*init.cfg.id.probes, init.cfg.id.self);
    init.catchup = std::make_unique<catchup_probe>(*init.cfg.id.probes, init.cfg.id.self);
  }
  init.fetcher = snapshot_fetcher(init.cfg.catchup_window, init.cfg.catchup_patience_ticks);
  init.log->info("replica starts node={} peers={} tick_ms={}", init.cfg.id.self.value(),
                 init.cfg.links.size(), init.cfg.tick.count());
  init.last_tick = init.last_request = self->clock().now();
  arm_tick(self, false);
  self->delayed_send(self, std::chrono::seconds(1), flush_atom::value);
  return {
      [self](frame_atom, frame& f) {
        if (f.data.size() > codec::max_frame_bytes) return; // the acceptor checked already
        on_frame(self, replica_id{f.from}, as_bytes(f.data));
      },
      [self](batch_atom, frame& f) {
        // The acceptor checked the batch; a malformed one is dropped whole here too.
        (void)for_each_in_batch(f.data,
                                [&](byte_view b) { on_frame(self, replica_id{f.from}, b); });
      },
      [self](tick_atom, std::uint64_t gen) {
        if (gen == self->state.tick_gen) on_tick(self); // else a sooner timer replaced it
      },
      [self](submit_atom, request_batch& b) {
        auto& st = self->state;
        st.last_request = self->clock().now();
        if (st.idle_timer) arm_tick(self, false); // ticks again (batch delays, timers)
        step(self, ev::client_requests{std::move(b.requests), true}); // the gateway verified them
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
