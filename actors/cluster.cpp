// `bft cluster`: n replicas in one actor system, a built-in load, live status, a summary.
#include <chrono>
#include <cstdio>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/rocksdb_storage.hpp"
#include "actors/spawn.hpp"
#include "crypto/ed25519.hpp"

namespace bft::actors {

namespace {

using clock_type = std::chrono::steady_clock;

std::string short_hex(const digest& d) { return to_hex(byte_view{d.data(), 8}); }

struct replica_view {
  bool ok = false;
  replica_status rs;
  state_status ss;
};

replica_view query(caf::scoped_actor& self, const replica_handles& h) {
  replica_view v;
  auto timeout = std::chrono::seconds(2);
  self->request(h.replica, timeout, status_atom::value)
      .receive([&](replica_status& rs) { v.rs = rs; }, [&](caf::error&) {});
  self->request(h.state_machine, timeout, status_atom::value)
      .receive(
          [&](state_status& ss) {
            v.ss = ss;
            v.ok = true;
          },
          [&](caf::error&) {});
  return v;
}

} // namespace

int run_cluster(const cluster_options& o, const std::atomic<bool>& stop) {
  auto log = component_logger("cluster");
  const auto n = o.engines.size();
  std::vector<std::shared_ptr<storage>> stores;
  for (std::size_t i = 0; i < n; ++i) {
    if (o.data_dir.empty()) {
      stores.push_back(std::make_shared<memory_storage>());
      continue;
    }
    std::string name = "replica-";
    name += std::to_string(i);
    auto dir = o.data_dir / name;
    std::error_code ec;
    if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
      std::fprintf(stderr,
                   "bft cluster: %s holds the store of an earlier run; bft cluster makes new "
                   "keys each run, so --data-dir must name a new or empty directory\n",
                   dir.c_str());
      return 2;
    }
    auto rs = rocksdb_storage::open(dir);
    if (!rs) {
      std::fprintf(stderr, "bft cluster: %s\n", rs.error().message().c_str());
      return 2;
    }
    stores.push_back(std::shared_ptr<rocksdb_storage>(std::move(rs).value()));
  }
  metrics m; // outlives the actor system: actors hold pointers to it
  caf::actor_system_config cfg;
  configure(cfg);
  caf::actor_system sys{cfg};
  if (!o.metrics_address.empty()) {
    try {
      m.serve(o.metrics_address);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bft cluster: cannot serve metrics on %s: %s\n",
                   o.metrics_address.c_str(), e.what());
      return 2;
    }
  }
  auto dir = std::make_shared<local_directory>();
  std::vector<replica_handles> replicas;
  for (std::size_t i = 0; i < n; ++i) {
    identity id;
    id.self = o.engines[i].self;
    id.chain_id = o.engines[i].chain_id;
    id.epoch = o.engines[i].epoch;
    id.validators = o.engines[i].validators;
    id.signer = o.signers[i];
    id.verifier = o.verifier;
    id.probes = &m;
    replicas.push_back(assemble_replica(
        sys, id, o.engines[i], o.make_engine, stores[i],
        [&dir](replica_id peer) { return make_local_transport(dir, peer); }, o.tick));
    dir->set(id.self, replicas.back().acceptor);
  }

  // The built-in load: clients with their own keys, each talking to every replica.
  auto stats = std::make_shared<load_stats>();
  load_config lc;
  lc.tx_rate = o.tx_rate;
  lc.tx_size = o.tx_size;
  lc.stats = stats;
  auto clients = std::max<std::size_t>(1, o.clients);
  lc.txs_per_request = std::max<std::size_t>(
      1, static_cast<std::size_t>(o.tx_rate / (static_cast<double>(clients) * 5)));
  for (std::size_t c = 0; c < clients; ++c) {
    client_config cc;
    cc.chain_id = o.engines[0].chain_id;
    cc.epoch = o.engines[0].epoch;
    cc.validators = o.engines[0].validators;
    for (const auto& v : cc.validators.members()) {
      for (std::size_t i = 0; i < n; ++i)
        if (o.engines[i].self == v.id) cc.replicas.push_back(replicas[i].acceptor);
    }
    cc.signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
    lc.clients.push_back(spawn_client(sys, cc));
  }
  auto load = spawn_load(sys, lc);

  std::printf("bft cluster: %zu replicas, protocol %s, load %.0f tx/s of %zu-byte puts "
              "(%zu per request, %zu clients)%s\n",
              n, o.protocol_name.c_str(), o.tx_rate, o.tx_size, lc.txs_per_request, clients,
              o.duration_s > 0 ? "" : ", until Ctrl-C");
  if (!o.metrics_address.empty())
    std::printf("metrics on http://%s/metrics\n", o.metrics_address.c_str());
  std::fflush(stdout);

  caf::scoped_actor self{sys};
  auto start = clock_type::now();
  auto deadline = start + std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000));
  std::uint64_t last_committed = 0;
  auto next = start + std::chrono::seconds(1);
  while (!stop.load()) {
    if (o.duration_s > 0 && clock_type::now() >= deadline) break;
    std::this_thread::sleep_until(std::min(next, o.duration_s > 0 ? deadline : next));
    if (clock_type::now() < next) continue;
    next += std::chrono::seconds(1);
    std::uint64_t height = 0, view = 0;
    for (const auto& r : replicas) {
      auto v = query(self, r);
      height = std::max(height, v.ss.applied_index);
      view = std::max<std::uint64_t>(view, v.rs.engine.view.value());
    }
    auto window = stats->take_window();
    std::uint64_t committed, failed;
    {
      std::lock_guard<std::mutex> g(stats->mtx);
      committed = stats->committed_txs;
      failed = stats->failed_requests;
    }
    auto secs = std::chrono::duration<double>(clock_type::now() - start).count();
    std::printf(
        "[%5.1fs] height %-6llu view %-3llu committed %6llu tx/s  p50 %6.1f ms  "
        "total %llu tx  failed requests %llu\n",
        secs, static_cast<unsigned long long>(height), static_cast<unsigned long long>(view),
        static_cast<unsigned long long>(committed - last_committed), percentile(window, 0.5),
        static_cast<unsigned long long>(committed), static_cast<unsigned long long>(failed));
    std::fflush(stdout);
    last_committed = committed;
  }

  // Stop the load, let the replicas settle, then compare their state.
  caf::anon_send_exit(load, caf::exit_reason::user_shutdown);
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<replica_view> views;
  auto settle = clock_type::now() + std::chrono::seconds(3);
  for (;;) {
    views.clear();
    for (const auto& r : replicas) views.push_back(query(self, r));
    bool same = std::all_of(views.begin(), views.end(), [&](const replica_view& v) {
      return v.ok && v.ss.applied_index == views[0].ss.applied_index;
    });
    if (same || clock_type::now() >= settle) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::vector<double> all;
  std::uint64_t committed, failed;
  std::string last_error;
  {
    std::lock_guard<std::mutex> g(stats->mtx);
    all = stats->all_ms;
    committed = stats->committed_txs;
    failed = stats->failed_requests;
    last_error = stats->last_error;
  }
  std::printf("\nsummary: %llu transactions committed in %.1f s (%.0f tx/s), latency p50 %.1f "
              "ms, p99 %.1f ms, failed requests %llu\n",
              static_cast<unsigned long long>(committed), elapsed,
              elapsed > 0 ? static_cast<double>(committed) / elapsed : 0.0, percentile(all, 0.5),
              percentile(all, 0.99), static_cast<unsigned long long>(failed));
  if (failed > 0 && !last_error.empty()) std::printf("last failure: %s\n", last_error.c_str());
  bool agree = true;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    std::printf("  replica %zu: height %llu view %llu state root %s\n", i,
                static_cast<unsigned long long>(v.ss.applied_index),
                static_cast<unsigned long long>(v.rs.engine.view.value()),
                short_hex(v.ss.state_root).c_str());
    if (!v.ok || v.ss.applied_index != views[0].ss.applied_index ||
        v.ss.state_root != views[0].ss.state_root)
      agree = false;
  }
  std::printf(agree ? "all replicas agree on height and state root\n"
                    : "replicas differ in height or state root (still catching up?)\n");
  std::fflush(stdout);

  for (auto& r : replicas) stop_replica(r);
  for (auto& c : lc.clients) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  dir.reset();
  replicas.clear();
  lc.clients.clear();
  int status = committed > 0 && agree ? 0 : 1;
  shutdown_deadline(status);
  return status;
}

} // namespace bft::actors
