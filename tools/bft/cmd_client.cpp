// bft client --genesis genesis.toml [--key FILE] [--transport secure|basp]
//            put K V | put K - | put K --value-file F | get K | delete K | status |
//            load [--count N] [--batch B]
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "actors/runner.hpp"
#include "config/address.hpp"
#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "tools/bft/command.hpp"

namespace {

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

/// The whole of `f` if it holds at most `max` bytes; `name` names it in errors.
std::string read_value(std::FILE* f, const std::string& name, std::size_t max) {
  std::string out(max + 1, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    std::size_t n = std::fread(out.data() + got, 1, out.size() - got, f);
    if (n == 0) break;
    got += n;
  }
  if (std::ferror(f))
    throw bft::cli::command_error{"client: " + name + ": cannot read: " + std::strerror(errno)};
  if (got > max)
    throw bft::cli::command_error{"client: value: " + name + " holds more than " +
                                  std::to_string(max) +
                                  " bytes, the maximum of a value (protocols/smr/kv_tx.hpp)"};
  out.resize(got);
  return out;
}

/// Refuses a key or value the KV codec cannot carry, before any request is built.
void check_size(std::string_view what, std::size_t size, std::size_t max) {
  if (size > max)
    throw bft::cli::command_error{"client: " + std::string(what) + ": " + std::to_string(size) +
                                  " bytes, over the maximum of " + std::to_string(max) +
                                  " (protocols/smr/kv_tx.hpp)"};
}

struct client_cli {
  std::string genesis = "genesis.toml";
  std::string key;
  double timeout_s = 10;
  std::vector<std::string> words;
  std::size_t count = 1000;
  std::size_t batch = 10;
  std::size_t concurrency = 8;
  std::string value_file;
  std::string transport = "secure";
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
  cmd->add_option("--value-file", o->value_file, "put: the value is the content of FILE")
      ->type_name("FILE");
  cmd->add_option("--transport", o->transport, "how to reach the replicas (their node.toml's)")
      ->check(CLI::IsMember({"secure", "basp"}))
      ->capture_default_str();
  cmd->add_option("command", o->words,
                  "put K V | put K - (value from standard input) | put K --value-file F | get K | "
                  "delete K | status | load")
      ->required();
  cmd->callback([&status, o] {
    const auto& w = o->words;
    const std::string& c = w[0];
    const bool from_file = !o->value_file.empty();
    std::size_t want = c == "put" ? (from_file ? 2 : 3) : (c == "get" || c == "delete") ? 2 : 1;
    if ((c != "put" && c != "get" && c != "delete" && c != "status" && c != "load") ||
        w.size() != want || (from_file && c != "put"))
      throw bft::cli::command_error{"usage: bft client --genesis FILE put K V | put K - | put K "
                                    "--value-file F | get K | delete K | status | load"};
    std::vector<std::string> args(w.begin() + 1, w.end());
    if (!args.empty()) check_size("key", args[0].size(), bft::smr::max_key_bytes);
    if (from_file) {
      std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(o->value_file.c_str(), "rb"),
                                                        &std::fclose);
      if (!f)
        throw bft::cli::command_error{"client: " + o->value_file +
                                      ": cannot open: " + std::strerror(errno)};
      args.push_back(read_value(f.get(), o->value_file, bft::smr::max_value_bytes));
    } else if (c == "put" && args[1] == "-") {
      args[1] = read_value(stdin, "standard input", bft::smr::max_value_bytes);
    }
    if (c == "put") check_size("value", args[1].size(), bft::smr::max_value_bytes);
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
    co.args = std::move(args);
    co.transport = o->transport == "basp" ? bft::actors::transport_kind::basp
                                          : bft::actors::transport_kind::secure;
    co.count = o->count;
    co.batch = o->batch;
    co.concurrency = o->concurrency;
    co.timeout = std::chrono::milliseconds(static_cast<long>(o->timeout_s * 1000));
    status = bft::actors::run_client(co);
  });
});

} // namespace
