// bft init --replicas N --protocol pbft|hotstuff --dir DIR [--base-port P] [--chain-id ID]
// bft init --hosts HOST[:PORT],... | --hosts-file FILE --dir DIR [--protocol P] [--chain-id ID]
//          [--base-port P] [--transport T] [--listen-on-host]
// bft init --genesis FILE --key FILE --dir DIR [--transport T] [--listen-on-host]
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "actors/runner.hpp"
#include "config/host_network.hpp"
#include "config/testnet.hpp"
#include "protocols/registry.hpp"
#include "tools/bft/command.hpp"

namespace {

namespace fs = std::filesystem;

struct init_options {
  std::size_t replicas = 4;
  std::string protocol = "pbft";
  std::string dir;
  std::uint32_t base_port = 7000;
  std::string chain_id = "bft-local";
  std::string hosts;
  std::string hosts_file;
  std::string genesis;
  std::string key;
  std::string transport = "secure";
  bool listen_on_host = false;
};

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

/// Each data directory gets the first-start marker: an empty store beside it is a genesis
/// start, not a deleted data directory, so `bft node` leaves the amnesia guard off there.
void mark_first_start(const fs::path& data) {
  std::error_code ec;
  fs::create_directories(data, ec);
  std::FILE* f = ec ? nullptr : std::fopen((data / bft::actors::first_start_marker).c_str(), "w");
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

bft::config::node_folder_options folder_options(const init_options& o) {
  bft::config::node_folder_options f;
  f.transport = *bft::config::parse_transport(o.transport);
  f.listen_on_host = o.listen_on_host;
  return f;
}

/// One machine: keys, genesis.toml and node-<i>.toml side by side (the original `bft init`).
void init_testnet(const init_options& o) {
  bft::config::testnet_spec spec;
  spec.replicas = o.replicas;
  spec.protocol = *bft::config::parse_protocol(o.protocol);
  spec.base_port = o.base_port;
  spec.chain_id = o.chain_id;
  auto files = bft::config::write_testnet(o.dir, spec);
  if (!files) fail(files.error());
  for (const auto& n : files->nodes)
    mark_first_start(n.data_dir.is_absolute() ? n.data_dir : files->dir / n.data_dir);
  std::printf("bft init: wrote a %zu-replica %s network (chain %s) to %s\n", spec.replicas,
              o.protocol.c_str(), spec.chain_id.c_str(), files->dir.c_str());
  std::printf("  genesis    %s\n", files->genesis_file.c_str());
  for (std::size_t i = 0; i < files->nodes.size(); ++i) {
    const auto& n = files->nodes[i];
    std::printf("  replica %-2zu %s  key %s  listen %s  metrics %s\n", i,
                files->node_files[i].c_str(), files->key_files[i].c_str(), n.listen.c_str(),
                n.metrics.c_str());
  }
  std::printf("check a node with: bft config check --node %s\n", files->node_files.front().c_str());
}

/// Several machines: one folder per host, each with only its own key.
void init_hosts(const init_options& o) {
  if (o.base_port > 65535) fail({bft::errc::invalid_config, "--base-port: must be 1..65535"});
  const auto port = static_cast<std::uint16_t>(o.base_port);
  auto hosts = o.hosts.empty() ? bft::config::load_host_file(o.hosts_file, port)
                               : bft::config::parse_host_list(o.hosts, port, "--hosts");
  if (!hosts) fail(hosts.error());
  bft::config::host_network_spec spec;
  spec.hosts = std::move(*hosts);
  spec.protocol = *bft::config::parse_protocol(o.protocol);
  spec.chain_id = o.chain_id;
  spec.node = folder_options(o);
  auto files = bft::config::write_host_network(o.dir, spec);
  if (!files) fail(files.error());
  for (std::size_t i = 0; i < files->folders.size(); ++i)
    mark_first_start(files->folders[i] / files->nodes[i].data_dir);
  std::printf("bft init: wrote a %zu-host %s network (chain %s) to %s\n", spec.hosts.size(),
              o.protocol.c_str(), spec.chain_id.c_str(), files->dir.c_str());
  for (std::size_t i = 0; i < files->folders.size(); ++i) {
    const auto& n = files->nodes[i];
    std::printf("  replica %-2zu %s  advertise %s  listen %s  metrics %s\n", i,
                files->folders[i].c_str(), n.advertise.c_str(), n.listen.c_str(),
                n.metrics.c_str());
  }
  std::printf("copy each host-<i> to its machine only (it holds that host's secret key), then: "
              "bft config check --dir host-<i>\n");
}

/// One machine of a key ceremony: its own key and the shared genesis.
void init_folder(const init_options& o) {
  auto files = bft::config::write_node_folder(o.dir, o.genesis, o.key, folder_options(o));
  if (!files) fail(files.error());
  mark_first_start(files->dir / files->node.data_dir);
  std::printf("bft init: wrote the folder of replica %u (chain %s) to %s\n", files->node.id.value(),
              files->genesis.chain_id.c_str(), files->dir.c_str());
  std::printf("  node %s  key %s  advertise %s  listen %s  metrics %s\n", files->node_file.c_str(),
              files->node.key_file.c_str(), files->node.advertise.c_str(),
              files->node.listen.c_str(), files->node.metrics.c_str());
  std::printf("check it with: bft config check --dir %s\n", files->dir.c_str());
}

const bft::cli::command_registrar reg("init", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "init", "write a network: n replicas on 127.0.0.1 (--replicas), one folder per machine "
              "(--hosts), or this machine's folder from a genesis and its key (--genesis --key)");
  auto o = std::make_shared<init_options>();
  auto* replicas =
      cmd->add_option("--replicas,-n", o->replicas, "number of replicas (n = 3f + 1 works best)")
          ->check(CLI::Range(std::size_t{bft::config::min_validators},
                             bft::config::max_testnet_replicas))
          ->capture_default_str();
  auto* protocol = cmd->add_option("--protocol", o->protocol, "consensus protocol")
                       ->check(CLI::IsMember(bft::protocol_names()))
                       ->capture_default_str();
  cmd->add_option("--dir", o->dir, "directory to create (or an existing one without a genesis)")
      ->required()
      ->type_name("DIR");
  auto* base_port =
      cmd->add_option("--base-port", o->base_port,
                      "replica i listens on base-port + i and serves metrics on base-port + 100 + "
                      "i; with --hosts: the port of an entry that gives none")
          ->check(CLI::Range(1, 65535))
          ->capture_default_str();
  auto* chain_id =
      cmd->add_option("--chain-id", o->chain_id, "chain id written to the genesis")
          ->check(
              [](const std::string& id) { return bft::config::chain_id_problem(id).value_or(""); },
              "letters, digits, '-', '_', '.'")
          ->capture_default_str();
  auto* hosts =
      cmd->add_option("--hosts", o->hosts,
                      "HOST[:PORT],...: validator i on the i-th host; writes DIR/host-<i>/")
          ->type_name("LIST");
  auto* hosts_file =
      cmd->add_option("--hosts-file", o->hosts_file,
                      "like --hosts, one HOST[:PORT] per line ('#' starts a comment)")
          ->type_name("FILE");
  auto* genesis = cmd->add_option("--genesis", o->genesis,
                                  "an assembled genesis (bft genesis): write this machine's "
                                  "folder for the validator whose key is --key")
                      ->type_name("FILE");
  auto* key =
      cmd->add_option("--key", o->key, "this machine's key file (bft keygen)")->type_name("FILE");
  auto* transport = cmd->add_option("--transport", o->transport, "node.toml transport")
                        ->check(CLI::IsMember({"secure", "basp"}))
                        ->capture_default_str();
  auto* on_host = cmd->add_flag("--listen-on-host", o->listen_on_host,
                                "listen on HOST:PORT itself, not 0.0.0.0:PORT (several nodes on "
                                "one machine, or one interface only)");
  hosts->excludes(hosts_file)->excludes(replicas)->excludes(genesis);
  hosts_file->excludes(replicas)->excludes(genesis);
  genesis->needs(key)->excludes(replicas)->excludes(protocol)->excludes(chain_id)->excludes(
      base_port);
  key->needs(genesis);
  transport->excludes(replicas);
  on_host->excludes(replicas);
  cmd->callback([&status, o, transport] {
    const bool folder_flags = transport->count() > 0 || o->listen_on_host;
    if (folder_flags && o->genesis.empty() && o->hosts.empty() && o->hosts_file.empty())
      throw bft::cli::command_error{
          "init: --transport and --listen-on-host apply to --hosts, --hosts-file and --genesis"};
    if (!o->genesis.empty())
      init_folder(*o);
    else if (!o->hosts.empty() || !o->hosts_file.empty())
      init_hosts(*o);
    else
      init_testnet(*o);
    status = 0;
  });
});

} // namespace
