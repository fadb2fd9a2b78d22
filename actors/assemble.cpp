// Assembly of one replica's actors: the one code path of `bft cluster` and `bft node`.
#include <algorithm>

#include <caf/all.hpp>

#include "actors/rocksdb_storage.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

replica_handles
assemble_replica(caf::actor_system& sys, const identity& id, engine_config engine,
                 engine_factory make_engine, std::shared_ptr<storage> st,
                 const std::function<std::unique_ptr<transport>(replica_id)>& transport_for,
                 std::chrono::milliseconds tick) {
  replica_handles h;
  auto restored = st->load();
  h.store = spawn_store(sys, st, std::dynamic_pointer_cast<rocksdb_storage>(st) != nullptr);
  const bool log_entries = st->logs_entries();
  h.state_machine =
      spawn_state_machine(sys, id.self, engine.checkpoint_interval,
                          std::dynamic_pointer_cast<rocksdb_storage>(st), log_entries);
  h.monitor = spawn_monitor(sys, id);
  for (const auto& v : id.validators.members()) {
    if (v.id == id.self) continue;
    link_config lc;
    lc.id = id;
    lc.peer = v.id;
    h.links.emplace(v.id, spawn_link(sys, lc, transport_for(v.id)));
  }
  replica_config rc;
  rc.id = id;
  // Clients of this runtime send every request to every replica (actors/client.cpp), so a
  // PBFT backup relays (P5) only what the primary has not ordered within half a timeout.
  if (engine.relay_delay_ticks == 0)
    engine.relay_delay_ticks = std::max<std::uint64_t>(1, engine.base_timeout_ticks / 2);
  // HotStuff: a block named by a QC or a child is usually still on its way on another link;
  // ask a peer for it only if it has not come within a few ticks.
  if (engine.fetch_delay_ticks == 0)
    engine.fetch_delay_ticks = std::clamp<std::uint64_t>(engine.base_timeout_ticks / 40, 1, 10);
  rc.engine = std::move(engine);
  rc.make_engine = std::move(make_engine);
  rc.restored = std::move(restored);
  rc.store = h.store;
  rc.state_machine = h.state_machine;
  rc.monitor = h.monitor;
  rc.links = h.links;
  rc.tick = tick;
  rc.log_entries = log_entries;
  h.replica = spawn_replica(sys, std::move(rc));
  gateway_config gc;
  gc.id = id;
  gc.replica = h.replica;
  gc.state_machine = h.state_machine;
  gc.monitor = h.monitor;
  h.gateway = spawn_gateway(sys, gc);
  acceptor_config ac;
  ac.id = id;
  ac.replica = h.replica;
  ac.gateway = h.gateway;
  h.acceptor = spawn_acceptor(sys, ac);
  return h;
}

void stop_replica(replica_handles& h) {
  auto r = caf::exit_reason::user_shutdown;
  caf::anon_send_exit(h.acceptor, r);
  caf::anon_send_exit(h.gateway, r);
  caf::anon_send_exit(h.replica, r);
  for (auto& [peer, l] : h.links) caf::anon_send_exit(l, r);
  caf::anon_send_exit(h.monitor, r);
  caf::anon_send_exit(h.state_machine, r);
  caf::anon_send_exit(h.store, r);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

} // namespace bft::actors
