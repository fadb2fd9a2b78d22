// bft node --config node-<i>.toml [--genesis FILE]
#include <atomic>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "actors/log.hpp"
#include "actors/runner.hpp"
#include "config/address.hpp"
#include "config/node_config.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/registry.hpp"
#include "tools/bft/command.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_node_signal(int) { g_stop.store(true); }

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

/// A host:port the node file already validated, as a peer address.
bft::actors::peer_address address_of(const std::string& file, const std::string& field,
                                     const std::string& text) {
  auto hp = bft::config::parse_host_port(text);
  if (!hp)
    fail(bft::error{bft::errc::invalid_config, file + ": " + field + ": " + hp.error().detail});
  return {hp->host, hp->port};
}

struct node_cli {
  std::string config;
  std::string genesis;
  std::size_t threads = 2;
  bool fresh = false;
  long long clock_skew_ms = 0;
};

const bft::cli::command_registrar reg("node", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "node", "run one replica from its node config (the genesis picks the protocol: " +
                  bft::protocol_names_text() + ")");
  auto o = std::make_shared<node_cli>();
  cmd->add_option("--config,-c", o->config, "node-<i>.toml written by bft init")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--genesis", o->genesis, "genesis file (default: the node file's genesis)")
      ->type_name("FILE");
  cmd->add_flag("--fresh", o->fresh,
                "an empty data directory is a first start even without bft init's FIRST_START "
                "marker: only for a replica that never signed anything (README, Data directories)");
  cmd->add_option("--threads", o->threads,
                  "actor scheduler threads (1 when several nodes share a few cores)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--clock-skew-ms", o->clock_skew_ms,
                  "testing: this node's wall clock, as its link frames carry it, is off by this "
                  "many milliseconds (consensus must not care; the peers' link checks count it)")
      ->check(CLI::Range(-86400000LL * 365, 86400000LL * 365));
  cmd->callback([&status, o] {
    std::optional<std::filesystem::path> gen;
    if (!o->genesis.empty()) gen = o->genesis;
    auto b = bft::config::load_node(o->config, gen);
    if (!b) fail(b.error());
    bft::actors::set_log_level(std::string(bft::config::to_string(b->node.level)));
    auto ec = bft::config::make_engine_config(b->genesis, b->node.id);
    if (!ec) fail(ec.error());
    bft::actors::node_options no;
    no.engine = std::move(*ec);
    // The genesis names the engine; config::parse_protocol accepted only known names.
    no.make_engine = bft::protocol_by_name(bft::config::to_string(b->genesis.protocol)).make_engine;
    no.signer = std::make_shared<bft::crypto::ed25519_signer>(b->key);
    no.verifier = std::make_shared<bft::crypto::ed25519_verifier>();
    no.tick = std::chrono::milliseconds(b->genesis.params.tick_ms);
    auto listen = bft::config::parse_host_port(b->node.listen);
    if (!listen)
      fail(bft::error{bft::errc::invalid_config,
                      o->config + ": listen: " + listen.error().message()});
    no.listen = {listen->host, listen->port};
    for (const auto& v : b->genesis.validators) {
      if (v.id == b->node.id) continue;
      auto hp = bft::config::parse_host_port(v.address);
      if (!hp)
        fail(bft::error{bft::errc::invalid_config, b->genesis.source.string() + ": validator " +
                                                       std::to_string(v.id.value()) +
                                                       " address: " + hp.error().message()});
      no.peers[v.id] = {hp->host, hp->port};
    }
    // How this replica reaches the others (node.toml: transport ... clock_window_s).
    no.transport = b->node.transport == bft::config::transport_kind::basp
                       ? bft::actors::transport_kind::basp
                       : bft::actors::transport_kind::secure;
    no.allow_public_basp = b->node.allow_public_basp;
    if (!b->node.advertise.empty())
      no.advertise = address_of(o->config, "advertise", b->node.advertise);
    for (std::size_t i = 0; i < b->node.bootstrap.size(); ++i)
      no.bootstrap.push_back(
          address_of(o->config, "bootstrap[" + std::to_string(i) + "]", b->node.bootstrap[i]));
    no.limits.clock_window = std::chrono::seconds(b->node.clock_window_s);
    no.limits.clock_skew = std::chrono::milliseconds(o->clock_skew_ms);
    no.metrics_address = b->node.metrics;
    no.data_dir = b->node.data_dir;
    no.threads = o->threads;
    no.fresh = o->fresh;
    std::signal(SIGINT, on_node_signal);
    std::signal(SIGTERM, on_node_signal);
    status = bft::actors::run_node(no, g_stop);
  });
});

} // namespace
