// bft-attack: hostile inputs against one replica's secure port, for tests/attack/attack_test.sh
// (issue 16, point 8). Each sub-command is one attack with a bounded run time; see
// tools/attack/attacks.hpp for what each sends and what it expects.
//
//   bft-attack <attack> --genesis genesis.toml --target ID [options]
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/attack/attacks.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bft-attack: hostile inputs against a replica's secure port (tests only)"};
  app.require_subcommand(1);
  std::string genesis = "genesis.toml";
  std::uint32_t victim = 0;
  std::string key;
  std::uint32_t as_id = 0;
  app.add_option("--genesis,-g", genesis, "the network's genesis.toml")->capture_default_str();
  app.add_option("--target,-t", victim, "the victim's validator id")->capture_default_str();
  app.add_option("--key", key, "a validator key file (oversize --stage validator, flood)");
  app.add_option("--as", as_id, "the validator id of --key");

  std::string stage_name = "pre";
  auto* oversize_cmd = app.add_subcommand("oversize", "a 4 GiB length prefix, then filler");
  oversize_cmd->add_option("--stage", stage_name, "pre | client | validator")
      ->check(CLI::IsMember({"pre", "client", "validator"}))
      ->capture_default_str();
  auto* basp_cmd = app.add_subcommand("basp", "a CAF BASP header with a 4 GiB payload length");
  std::size_t count = 1000;
  std::vector<std::string> sources{"127.0.0.1"};
  int hold_s = 8;
  auto* idle_cmd = app.add_subcommand("idle", "many idle connections from several sources");
  idle_cmd->add_option("--count", count, "connections")->capture_default_str();
  idle_cmd->add_option("--sources", sources, "source addresses (127.0.0.x)")->delimiter(',');
  idle_cmd->add_option("--hold", hold_s, "seconds to hold them")->capture_default_str();
  int every_ms = 250;
  int limit_s = 20;
  auto* slow_cmd = app.add_subcommand("slow", "a valid hello trickled byte by byte");
  slow_cmd->add_option("--every-ms", every_ms, "milliseconds between bytes")->capture_default_str();
  slow_cmd->add_option("--limit", limit_s, "give up after these seconds")->capture_default_str();
  std::size_t connections = 20;
  std::size_t size = 65536;
  std::uint64_t seed = 16;
  auto* random_cmd = app.add_subcommand("random", "connections of random bytes");
  random_cmd->add_option("--connections", connections)->capture_default_str();
  random_cmd->add_option("--bytes", size, "bytes per connection")->capture_default_str();
  random_cmd->add_option("--seed", seed)->capture_default_str();
  std::uint32_t claim = 1;
  auto* unknown_cmd = app.add_subcommand("unknown-key", "a fresh key claiming a validator id");
  unknown_cmd->add_option("--claim", claim, "the validator id claimed")->capture_default_str();
  auto* replay_cmd = app.add_subcommand("replay", "a captured hello and proof replayed");
  int seconds = 10;
  auto* flood_cmd = app.add_subcommand("flood", "sealed garbage from an authenticated validator");
  flood_cmd->add_option("--seconds", seconds)->capture_default_str();
  flood_cmd->add_option("--seed", seed)->capture_default_str();
  bool expect_close = false;
  std::size_t window = 64;
  flood_cmd
      ->add_option("--window", window,
                   "calls kept unanswered (a link's window is 64; 0: never read the answers)")
      ->capture_default_str();
  flood_cmd->add_flag("--expect-close", expect_close,
                      "fail unless the victim closes on the replayed sealed frame");
  CLI11_PARSE(app, argc, argv);

  try {
    using namespace bft::attack;
    auto t = load_target(genesis, bft::replica_id{victim}, key, bft::replica_id{as_id});
    if (*oversize_cmd) {
      const auto s = stage_name == "pre"      ? stage::before_handshake
                     : stage_name == "client" ? stage::as_client
                                              : stage::as_validator;
      return oversized_header(t, s);
    }
    if (*basp_cmd) return basp_header(t);
    if (*idle_cmd) return idle_connections(t, count, sources, std::chrono::seconds(hold_s));
    if (*slow_cmd)
      return slow_handshake(t, std::chrono::milliseconds(every_ms), std::chrono::seconds(limit_s));
    if (*random_cmd) return random_bytes(t, connections, size, seed);
    if (*unknown_cmd) return unknown_key(t, bft::replica_id{claim});
    if (*replay_cmd) return replayed_handshake(t);
    if (*flood_cmd) return flood(t, std::chrono::seconds(seconds), seed, expect_close, window);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bft-attack: %s\n", e.what());
    return 2;
  }
  return 2;
}
