// bft client --genesis genesis.toml [--key FILE] put K V | get K | delete K | status |
//            load [--count N] [--batch B]
#include <cstdio>
#include <memory>
#include <string>

#include "actors/runner.hpp"
#include "config/address.hpp"
#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"
#include "tools/bft/command.hpp"

namespace {

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

struct client_cli {
  std::string genesis = "genesis.toml";
  std::string key;
  double timeout_s = 10;
  std::vector<std::string> words;
  std::size_t count = 1000;
  std::size_t batch = 10;
  std::size_t concurrency = 8;
};

const bft::cli::command_registrar reg("client", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "client", "talk to a running network: put K V | get K | delete K | status | load");
  auto o = std::make_shared<client_cli>();
  cmd->add_option("--genesis,-g", o->genesis, "the network's genesis.toml")
      ->capture_default_str()
      ->type_name("FILE");
  cmd->add_option("--key", o->key, "client key file (default: a fresh ephemeral key)")
      ->type_name("FILE");
  cmd->add_option("--timeout", o->timeout_s, "seconds to wait for each replica's answer")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->add_option("--count", o->count, "load: transactions to commit")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}))
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "load: transactions per signed request")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))
      ->capture_default_str();
  cmd->add_option("--concurrency", o->concurrency, "load: clients in parallel")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  cmd->add_option("command", o->words, "put K V | get K | delete K | status | load")->required();
  cmd->callback([&status, o] {
    const auto& w = o->words;
    const std::string& c = w[0];
    std::size_t want = c == "put" ? 3 : (c == "get" || c == "delete") ? 2 : 1;
    if ((c != "put" && c != "get" && c != "delete" && c != "status" && c != "load") ||
        w.size() != want)
      throw bft::cli::command_error{
          "usage: bft client --genesis FILE put K V | get K | delete K | status | load"};
    auto g = bft::config::load_genesis(o->genesis);
    if (!g) fail(g.error());
    auto vs = bft::config::make_validator_set(*g);
    if (!vs) fail(vs.error());
    bft::actors::client_options co;
    co.chain_id = g->chain_id;
    co.validators = *vs;
    for (const auto& v : vs->members()) {
      auto hp = bft::config::parse_host_port(v.address);
      if (!hp)
        fail(bft::error{bft::errc::invalid_config, o->genesis + ": validator " +
                                                       std::to_string(v.id.value()) +
                                                       " address: " + hp.error().message()});
      co.addresses.push_back({hp->host, hp->port});
    }
    if (!o->key.empty()) {
      auto kp = bft::crypto::load_key_file(o->key);
      if (!kp) fail(kp.error());
      co.signer = std::make_shared<bft::crypto::ed25519_signer>(std::move(*kp));
    } else {
      co.signer = std::make_shared<bft::crypto::ed25519_signer>(bft::crypto::generate_key_pair());
    }
    co.command = c;
    co.args.assign(w.begin() + 1, w.end());
    co.count = o->count;
    co.batch = o->batch;
    co.concurrency = o->concurrency;
    co.timeout = std::chrono::milliseconds(static_cast<long>(o->timeout_s * 1000));
    status = bft::actors::run_client(co);
  });
});

} // namespace
