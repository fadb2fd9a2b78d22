// `bft node`: one replica per process, peers through the middleman (BASP).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/rocksdb_storage.hpp"
#include "actors/spawn.hpp"
#include "net/address_book.hpp"

namespace bft::actors {

namespace {

/// Whether `host` names this machine's loopback (127.0.0.0/8, ::1, localhost).
bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

} // namespace

int run_node(const node_options& o, const std::atomic<bool>& stop) {
  auto log = component_logger("node");
  metrics m; // outlives the actor system: actors hold pointers to it
  if (!o.metrics_address.empty()) {
    try {
      m.serve(o.metrics_address);
    } catch (const std::exception& e) {
      log->error("node cannot serve metrics address={} error=\"{}\"", o.metrics_address, e.what());
      return 1;
    }
  }
  std::shared_ptr<storage> store = std::make_shared<memory_storage>();
  auto engine_cfg = o.engine;
  if (!o.data_dir.empty()) {
    auto rs = rocksdb_storage::open(o.data_dir);
    if (!rs) {
      log->error("node cannot open store error=\"{}\"", rs.error().message());
      return 1;
    }
    auto p = rs.value()->committed();
    log->info("node opens store dir={} records={} committed_height={}", o.data_dir.string(),
              rs.value()->load().size(), p ? p->height : 0);
    // Amnesia guard (protocols/common/recovery.hpp): an empty store is a first start only
    // when `bft init` marked it (or --fresh says so); otherwise the data directory was
    // deleted and the replica may have signed before: it observes until its peers bound it.
    const auto marker = o.data_dir / first_start_marker;
    std::error_code ec;
    const bool marked = std::filesystem::exists(marker, ec);
    const bool empty = rs.value()->load().empty();
    const auto kind = classify_start(empty, marked, o.fresh);
    if (empty && !kind.recovering) {
      log->info("node starts for the first time dir={} ({})", o.data_dir.string(),
                marked ? "marked by bft init" : "--fresh");
    } else if (kind.recovering) {
      engine_cfg.recovering = true;
      engine_cfg.recovery_nonce =
          (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
      log->warn("node starts with an empty data directory that bft init did not mark: it may "
                "have signed before, so it votes only after 2f+1 peers report their views "
                "(amnesia guard) dir={}",
                o.data_dir.string());
    }
    if (kind.remove_marker) std::filesystem::remove(marker, ec);
    store = std::shared_ptr<rocksdb_storage>(std::move(rs).value());
  }
  caf::actor_system_config cfg;
  configure(cfg, o.threads);
  caf::actor_system sys{cfg};
  identity id;
  id.self = o.engine.self;
  id.chain_id = o.engine.chain_id;
  id.epoch = o.engine.epoch;
  id.validators = o.engine.validators;
  id.signer = o.signer;
  id.verifier = o.verifier;
  id.probes = &m;
  auto peers = o.peers;
  const bool secure = o.transport == transport_kind::secure;
  if (!secure && !is_loopback(o.listen.host) && !o.allow_public_basp) {
    log->error("node refuses to publish BASP on a non-loopback address address={}:{}: anyone "
               "who reaches a BASP port can make this process allocate gigabytes, and BASP "
               "authenticates no one. Use transport = \"secure\" (the default), or set "
               "allow_public_basp = true for a trusted network",
               o.listen.host, o.listen.port);
    return 2;
  }
  std::shared_ptr<secure_context> ctx;
  if (secure) {
    auto me = std::make_shared<net::local_identity>();
    me->chain_id = id.chain_id;
    me->epoch = id.epoch;
    me->role = net::role::validator;
    me->id = id.self;
    me->signer = id.signer;
    me->verifier = id.verifier;
    me->validators = id.validators;
    secure_config sc;
    sc.probes = &m;
    sc.clock_window = o.limits.clock_window;
    sc.clock_skew = o.limits.clock_skew;
    // Discovery: genesis addresses, then what the address book file holds, then our own
    // record for the address we advertise (signed with a sequence above any we signed).
    sc.book = std::make_shared<net::address_book>(id.chain_id, id.validators, id.verifier);
    if (!o.data_dir.empty()) {
      sc.book_file = o.data_dir / "address_book";
      auto loaded = sc.book->load(sc.book_file);
      if (!loaded)
        log->warn("node ignores its address book file={} error=\"{}\" (starting from genesis "
                  "addresses and gossip)",
                  sc.book_file.string(), loaded.error().message());
      else if (loaded->found)
        log->info("node loads its address book file={} accepted={} refused={}",
                  sc.book_file.string(), loaded->records.accepted, loaded->records.refused());
    }
    const auto adv = o.advertise.host.empty() ? o.listen : o.advertise;
    if (adv.host != "0.0.0.0" && adv.host != "::" && !adv.host.empty()) {
      sc.advertise = adv;
      auto own = sc.book->publish_own(id.self, *id.signer, config::host_port{adv.host, adv.port},
                                      wall_clock_ms());
      if (!own)
        log->warn("node cannot sign its address record address={}:{} error=\"{}\"", adv.host,
                  adv.port, own.error().message());
      else if (!sc.book_file.empty())
        (void)sc.book->save(sc.book_file);
    }
    for (const auto& b : o.bootstrap)
      (void)sc.book->add_bootstrap(config::host_port{b.host, b.port});
    sc.me = std::move(me);
    ctx = make_secure_context(std::move(sc));
  }
  auto h = assemble_replica(
      sys, id, engine_cfg, o.make_engine, store,
      [&peers, &ctx](replica_id peer) {
        auto it = peers.find(peer);
        auto a = it == peers.end() ? peer_address{"127.0.0.1", 0} : it->second;
        return ctx ? make_secure_transport(ctx, a.host, a.port, peer)
                   : make_basp_transport(a.host, a.port);
      },
      o.tick);
  caf::expected<std::uint16_t> bound{caf::sec::runtime_error};
  caf::actor listener;
  if (ctx) {
    set_secure_monitor(*ctx, h.monitor);
    auto l = secure_listen(sys, ctx, h.acceptor, o.listen.host, o.listen.port);
    if (l) {
      listener = l->first;
      bound = l->second;
    } else {
      bound = l.error();
    }
  } else {
    bound = sys.middleman().publish(h.acceptor, o.listen.port, o.listen.host.c_str(), true);
  }
  if (ctx)
    for (const auto& b : o.bootstrap) secure_bootstrap(sys, ctx, b.host, b.port);
  if (!bound) {
    log->error("node cannot listen address={}:{} error=\"{}\"", o.listen.host, o.listen.port,
               sys.render(bound.error()));
    stop_replica(h);
    shutdown_deadline(1);
    return 1;
  }
  log->info("node listens node={} address={}:{} transport={} peers={} metrics={} chain={}",
            id.self.value(), o.listen.host, *bound, secure ? "secure" : "basp", o.peers.size(),
            o.metrics_address.empty() ? "off" : o.metrics_address, id.chain_id);
  if (o.data_dir.empty())
    log->warn("node keeps its safety records in memory: a restarted replica starts empty");

  caf::scoped_actor self{sys};
  auto next = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() < next) continue;
    next += std::chrono::seconds(10);
    self->request(h.replica, std::chrono::seconds(2), status_atom::value)
        .receive(
            [&](replica_status& rs) {
              log->info("node status node={} view={} height={} committed_txs={}", id.self.value(),
                        rs.engine.view.value(), rs.engine.committed_index, rs.committed_txs);
            },
            [&](caf::error& e) {
              log->warn("node status unavailable node={} error={}", id.self.value(), sys.render(e));
            });
  }
  log->info("node stops node={}", id.self.value());
  if (listener) caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
  stop_replica(h);
  shutdown_deadline(0);
  return 0;
}

} // namespace bft::actors
