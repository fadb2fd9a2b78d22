// bft genesis --protocol P --chain-id ID --validator PUBKEY@HOST[:PORT] ... | --validators-file F
//             --out FILE [--base-port P]
// The key ceremony's middle step: public keys and addresses in, genesis.toml out; no secret
// key is ever read.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "config/genesis.hpp"
#include "config/host_list.hpp"
#include "crypto/sha3.hpp"
#include "protocols/registry.hpp"
#include "tools/bft/command.hpp"

namespace {

[[noreturn]] void fail(const bft::error& e) {
  throw bft::cli::command_error{e.detail.empty() ? e.message() : e.detail,
                                bft::cli::exit_bad_input};
}

struct genesis_options {
  std::string protocol;
  std::string chain_id;
  std::vector<std::string> validators;
  std::string validators_file;
  std::string out;
  std::uint16_t base_port = 7000;
};

const bft::cli::command_registrar reg("genesis", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "genesis", "assemble genesis.toml from validators' public keys and addresses (validator i "
                 "is the i-th entry)");
  auto o = std::make_shared<genesis_options>();
  cmd->add_option("--protocol", o->protocol, "consensus protocol")
      ->required()
      ->check(CLI::IsMember(bft::protocol_names()));
  cmd->add_option("--chain-id", o->chain_id, "chain id")
      ->required()
      ->check([](const std::string& id) { return bft::config::chain_id_problem(id).value_or(""); },
              "letters, digits, '-', '_', '.'");
  auto* v = cmd->add_option("--validator", o->validators,
                            "PUBKEY@HOST[:PORT]: a public key printed by bft keygen and the "
                            "address its host serves peers on (repeat, in id order)")
                ->type_name("PUBKEY@HOST[:PORT]");
  auto* f = cmd->add_option("--validators-file", o->validators_file,
                            "one PUBKEY@HOST[:PORT] per line ('#' starts a comment)")
                ->type_name("FILE");
  v->excludes(f);
  cmd->add_option("--out", o->out, "genesis file to write; never replaces an existing file")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--base-port", o->base_port, "port of an entry that gives none")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->callback([&status, o] {
    if (o->validators.empty() && o->validators_file.empty())
      throw bft::cli::command_error{"genesis: give --validator PUBKEY@HOST[:PORT] (one per "
                                    "validator) or --validators-file FILE"};
    auto entries =
        o->validators_file.empty()
            ? bft::config::parse_validator_entries(o->validators, o->base_port, "--validator")
            : bft::config::load_validator_file(o->validators_file, o->base_port);
    if (!entries) fail(entries.error());
    bft::config::genesis g;
    g.chain_id = o->chain_id;
    g.protocol = *bft::config::parse_protocol(o->protocol);
    for (std::size_t i = 0; i < entries->size(); ++i) {
      const auto& e = (*entries)[i];
      g.validators.push_back(
          {bft::replica_id{static_cast<std::uint32_t>(i)}, e.key, to_string(e.address), 1});
    }
    if (auto w = bft::config::write_genesis(o->out, g); !w) fail(w.error());
    const auto text = bft::config::to_toml(g);
    const auto digest = bft::crypto::sha3_256(bft::as_bytes(text));
    std::printf("bft genesis: wrote %s: chain %s, %s, %zu validators\n", o->out.c_str(),
                g.chain_id.c_str(), o->protocol.c_str(), g.validators.size());
    for (const auto& val : g.validators)
      std::printf("  validator %-2u %s  %s\n", val.id.value(), val.address.c_str(),
                  bft::to_hex(val.key).c_str());
    std::printf("sha3-256 %s  (compare it on every host: openssl dgst -sha3-256 %s)\n",
                bft::to_hex(digest).c_str(), o->out.c_str());
    status = 0;
  });
});

} // namespace
