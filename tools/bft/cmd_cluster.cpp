// bft cluster [--replicas N] [--protocol NAME] [--duration S] [--tx-rate R]
//             [--tx-size B] [--metrics HOST:PORT]
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "actors/runner.hpp"
#include "config/address.hpp"
#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/registry.hpp"
#include "tools/bft/command.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_cluster_signal(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL); // a second Ctrl-C ends at once
}

struct cluster_cli {
  std::size_t replicas = 4;
  std::string protocol = "pbft";
  double duration = 10;
  double tx_rate = 2000;
  std::size_t tx_size = 64;
  std::size_t clients = 16;
  std::string metrics;
  std::string data_dir;
};

const bft::cli::command_registrar reg("cluster", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "cluster", "run n replicas in one process with a built-in load and live status");
  auto o = std::make_shared<cluster_cli>();
  cmd->add_option("--replicas,-n", o->replicas, "number of replicas (n = 3f + 1)")
      ->check(CLI::Range(std::size_t{4}, std::size_t{64}))
      ->capture_default_str();
  cmd->add_option("--protocol", o->protocol, "consensus protocol")
      ->check(CLI::IsMember(bft::protocol_names()))
      ->capture_default_str();
  cmd->add_option("--duration", o->duration, "seconds to run; 0 runs until Ctrl-C")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--tx-rate", o->tx_rate, "transactions per second offered by the load")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--tx-size", o->tx_size, "bytes per transaction value")
      ->check(CLI::Range(std::size_t{1}, std::size_t{65536}))
      ->capture_default_str();
  cmd->add_option("--clients", o->clients, "concurrent clients of the load")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  cmd->add_option("--metrics", o->metrics, "serve Prometheus /metrics on HOST:PORT")
      ->type_name("HOST:PORT");
  cmd->add_option("--data-dir", o->data_dir,
                  "keep each replica's RocksDB store in DIR/replica-<i> (default: memory)")
      ->type_name("DIR");
  cmd->callback([&status, o] {
    if (!o->metrics.empty()) {
      auto hp = bft::config::parse_host_port(o->metrics);
      if (!hp) throw bft::cli::command_error{"--metrics: " + hp.error().message()};
    }
    bft::config::genesis g;
    g.chain_id = "bft-cluster";
    g.protocol = *bft::config::parse_protocol(o->protocol);
    std::vector<std::shared_ptr<const bft::crypto::signer>> signers;
    for (std::size_t i = 0; i < o->replicas; ++i) {
      auto kp = bft::crypto::generate_key_pair();
      g.validators.push_back(
          bft::validator{bft::replica_id{static_cast<std::uint32_t>(i)}, kp.pub, "in-process", 1});
      signers.push_back(std::make_shared<bft::crypto::ed25519_signer>(std::move(kp)));
    }
    bft::actors::cluster_options co;
    co.protocol_name = o->protocol;
    co.make_engine = bft::protocol_by_name(o->protocol).make_engine;
    for (std::size_t i = 0; i < o->replicas; ++i) {
      auto ec = bft::config::make_engine_config(g, bft::replica_id{static_cast<std::uint32_t>(i)});
      if (!ec) throw bft::cli::command_error{"cluster genesis: " + ec.error().message()};
      co.engines.push_back(std::move(*ec));
    }
    co.signers = std::move(signers);
    co.verifier = std::make_shared<bft::crypto::ed25519_verifier>();
    co.tick = std::chrono::milliseconds(g.params.tick_ms);
    co.duration_s = o->duration;
    co.tx_rate = o->tx_rate;
    co.tx_size = o->tx_size;
    co.clients = o->clients;
    co.metrics_address = o->metrics;
    co.data_dir = o->data_dir;
    std::signal(SIGINT, on_cluster_signal);
    std::signal(SIGTERM, on_cluster_signal);
    status = bft::actors::run_cluster(co, g_stop);
  });
});

} // namespace
