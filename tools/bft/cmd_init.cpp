// bft init --replicas N --protocol pbft|hotstuff --dir DIR [--base-port P] [--chain-id ID]
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "actors/runner.hpp"
#include "config/testnet.hpp"
#include "protocols/registry.hpp"
#include "tools/bft/command.hpp"

namespace {

struct init_options {
  std::size_t replicas = 4;
  std::string protocol = "pbft";
  std::string dir;
  std::uint32_t base_port = 7000;
  std::string chain_id = "bft-local";
};

const bft::cli::command_registrar reg("init", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "init", "write keys, genesis.toml and node-<i>.toml for an n-replica network on 127.0.0.1");
  auto o = std::make_shared<init_options>();
  cmd->add_option("--replicas,-n", o->replicas, "number of replicas (n = 3f + 1 works best)")
      ->check(
          CLI::Range(std::size_t{bft::config::min_validators}, bft::config::max_testnet_replicas))
      ->capture_default_str();
  cmd->add_option("--protocol", o->protocol, "consensus protocol")
      ->check(CLI::IsMember(bft::protocol_names()))
      ->capture_default_str();
  cmd->add_option("--dir", o->dir, "directory to create (or an existing one without a genesis)")
      ->required()
      ->type_name("DIR");
  cmd->add_option("--base-port", o->base_port,
                  "replica i listens on base-port + i and serves metrics on base-port + 100 + i")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--chain-id", o->chain_id, "chain id written to the genesis")
      ->check([](const std::string& id) { return bft::config::chain_id_problem(id).value_or(""); },
              "letters, digits, '-', '_', '.'")
      ->capture_default_str();
  cmd->callback([&status, o] {
    bft::config::testnet_spec spec;
    spec.replicas = o->replicas;
    spec.protocol = *bft::config::parse_protocol(o->protocol);
    spec.base_port = o->base_port;
    spec.chain_id = o->chain_id;
    auto files = bft::config::write_testnet(o->dir, spec);
    if (!files) {
      const auto& e = files.error();
      throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                    bft::cli::exit_bad_input};
    }
    // Each data directory gets the first-start marker: an empty store beside it is a genesis
    // start, not a deleted data directory, so `bft node` leaves the amnesia guard off there.
    for (const auto& n : files->nodes) {
      auto data = n.data_dir.is_absolute() ? n.data_dir : files->dir / n.data_dir;
      std::error_code ec;
      std::filesystem::create_directories(data, ec);
      std::FILE* f =
          ec ? nullptr : std::fopen((data / bft::actors::first_start_marker).c_str(), "w");
      if (f == nullptr)
        throw bft::cli::command_error{"bft init: cannot write " +
                                          (data / bft::actors::first_start_marker).string(),
                                      bft::cli::exit_bad_input};
      std::fputs("Written by bft init: this replica has never signed anything. bft node removes "
                 "this file when it opens the store.\nAn empty data directory WITHOUT it is "
                 "taken for a deleted one: the replica then waits for its peers before voting.\n",
                 f);
      std::fclose(f);
    }
    std::printf("bft init: wrote a %zu-replica %s network (chain %s) to %s\n", spec.replicas,
                o->protocol.c_str(), spec.chain_id.c_str(), files->dir.c_str());
    std::printf("  genesis    %s\n", files->genesis_file.c_str());
    for (std::size_t i = 0; i < files->nodes.size(); ++i) {
      const auto& n = files->nodes[i];
      std::printf("  replica %-2zu %s  key %s  listen %s  metrics %s\n", i,
                  files->node_files[i].c_str(), files->key_files[i].c_str(), n.listen.c_str(),
                  n.metrics.c_str());
    }
    std::printf("check a node with: bft config check --node %s\n",
                files->node_files.front().c_str());
    status = 0;
  });
});

} // namespace
