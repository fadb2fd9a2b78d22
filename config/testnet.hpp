#pragma once
/// Generates the files of an n-replica network on one host (what `bft init` writes, in the
/// manner of `cometbft testnet`): node-<i>.key, genesis.toml and node-<i>.toml, with node i
/// listening on base_port + i and serving metrics on base_port + 100 + i.
///
/// All or nothing: files are staged in a temporary directory and moved into place only when
/// every one was written and synced; on failure nothing new is left in `dir`. Free function;
/// callers must not run two generations into one directory at once.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/genesis.hpp"
#include "config/node_config.hpp"

namespace bft::config {

inline constexpr std::size_t max_testnet_replicas = 100; ///< metrics ports start at base + 100

struct testnet_spec {
  std::size_t replicas = 4;
  protocol_kind protocol = protocol_kind::pbft;
  std::uint32_t base_port = 7000;
  std::string chain_id = "bft-local";
  std::string host = "127.0.0.1";
};

struct testnet_files {
  std::filesystem::path dir;
  std::filesystem::path genesis_file;
  std::vector<std::filesystem::path> node_files; ///< node-<i>.toml, by id
  std::vector<std::filesystem::path> key_files;  ///< node-<i>.key, by id
  config::genesis genesis;
  std::vector<node_config> nodes; ///< as written (paths relative to `dir`)
};

/// Writes a network into `dir` (created, with missing parents, if absent). Refuses a `dir`
/// that already holds a genesis.toml or any file it would write. Errors name the file or
/// the parameter (`replicas`, `base_port`, `chain_id`).
result<testnet_files> write_testnet(const std::filesystem::path& dir, const testnet_spec& spec);

} // namespace bft::config
