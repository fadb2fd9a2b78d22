// bft config check [--genesis FILE] [--node FILE | --dir DIR] [--hosts LIST | --hosts-file FILE]
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "config/host_network.hpp"
#include "config/node_config.hpp"
#include "tools/bft/command.hpp"

namespace {

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

/// "chain C, pbft, 4 validators, total weight 4, quorum weight 3, tolerates weight 1"
std::string summary(const bft::config::genesis& g) {
  auto vs = bft::config::make_validator_set(g);
  if (!vs) fail(vs.error());
  char line[256];
  std::snprintf(line, sizeof line,
                "chain %s, %s, %zu validators, total weight %llu, quorum weight %llu, "
                "tolerates faulty weight %llu",
                g.chain_id.c_str(), std::string(bft::config::to_string(g.protocol)).c_str(),
                vs->size(), static_cast<unsigned long long>(vs->total_weight()),
                static_cast<unsigned long long>(vs->quorum_weight()),
                static_cast<unsigned long long>(vs->max_faulty_weight()));
  return line;
}

struct check_options {
  std::string genesis;
  std::string node;
  std::string dir;
  std::string hosts;
  std::string hosts_file;
  std::uint16_t base_port = 7000;
};

/// The hosts list of --hosts or --hosts-file, if one was given.
std::optional<std::vector<bft::config::host_entry>> hosts_of(const check_options& o) {
  if (o.hosts.empty() && o.hosts_file.empty()) return std::nullopt;
  auto h = o.hosts.empty() ? bft::config::load_host_file(o.hosts_file, o.base_port)
                           : bft::config::parse_host_list(o.hosts, o.base_port, "--hosts");
  if (!h) fail(h.error());
  return std::move(*h);
}

const bft::cli::command_registrar reg("config", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand("config", "inspect configuration files");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand(
      "check", "load and validate a genesis and/or a node file (with its key); print a summary");
  auto o = std::make_shared<check_options>();
  check->add_option("--genesis", o->genesis, "genesis file (default: the one the node names)")
      ->type_name("FILE");
  auto* node =
      check->add_option("--node", o->node, "node file; its key file is loaded and checked too")
          ->type_name("FILE");
  check->add_option("--dir", o->dir, "a node folder (bft init --hosts / --key): DIR/node.toml")
      ->type_name("DIR")
      ->excludes(node);
  auto* hosts =
      check->add_option("--hosts", o->hosts, "HOST[:PORT],...: must be the genesis addresses")
          ->type_name("LIST");
  check->add_option("--hosts-file", o->hosts_file, "like --hosts, one HOST[:PORT] per line")
      ->type_name("FILE")
      ->excludes(hosts);
  check->add_option("--base-port", o->base_port, "port of a hosts entry that gives none")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  check->callback([&status, o] {
    if (!o->dir.empty()) o->node = (std::filesystem::path(o->dir) / "node.toml").string();
    if (o->node.empty() && o->genesis.empty())
      throw bft::cli::command_error{"config check: give --genesis, --node or --dir"};
    auto listed = hosts_of(*o);
    if (o->node.empty()) {
      auto g = bft::config::load_genesis(o->genesis);
      if (!g) fail(g.error());
      if (listed)
        if (auto h = bft::config::check_hosts_in_genesis(*listed, *g); !h) fail(h.error());
      std::printf("ok: %s: %s\n", o->genesis.c_str(), summary(*g).c_str());
    } else {
      std::optional<std::filesystem::path> genesis;
      if (!o->genesis.empty()) genesis = o->genesis;
      auto b = bft::config::load_node(o->node, genesis);
      if (!b) fail(b.error());
      if (listed)
        if (auto h = bft::config::check_hosts_in_genesis(*listed, b->genesis); !h) fail(h.error());
      for (const auto& w : bft::config::address_warnings(b->node, b->genesis))
        std::fprintf(stderr, "bft: warning: %s\n", w.c_str());
      std::printf("ok: %s: replica %u, listen %s, key matches %s: %s\n", o->node.c_str(),
                  b->node.id.value(), b->node.listen.c_str(), b->genesis.source.c_str(),
                  summary(b->genesis).c_str());
    }
    status = 0;
  });
});

} // namespace
