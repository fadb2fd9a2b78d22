#pragma once
/// `genesis.toml`: the network every replica of one cluster agrees on.
///
///     chain_id = "bft-local"
///     protocol = "pbft"                # or "hotstuff"
///
///     [params]                         # every field optional; defaults shown
///     batch_size = 400                 # max requests per pre-prepare / block
///     batch_delay_ms = 2               # max time a partial batch waits
///     tick_ms = 10                     # length of one logical tick
///     base_timeout_ticks = 40          # view-change / pacemaker timeout
///     checkpoint_interval = 100        # PBFT K; snapshot interval
///
///     [[validators]]                   # at least 4
///     id = 0
///     public_key = "<64 hex digits>"
///     address = "127.0.0.1:7000"
///     weight = 1                       # optional, default 1
///
/// Loading validates everything and fails with ONE line naming the file and the field, e.g.
/// `genesis.toml: validators[2].weight: must be > 0` (validators are indexed from 0 in file
/// order). Unknown fields are errors too, so a typo never becomes a silent default.
/// Free functions and plain values; thread-safe.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/engine.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft::config {

enum class protocol_kind { pbft, hotstuff };

[[nodiscard]] std::string_view to_string(protocol_kind p);
[[nodiscard]] std::optional<protocol_kind> parse_protocol(std::string_view s);

/// Protocol parameters, with their defaults.
struct protocol_params {
  std::uint64_t batch_size = 400;
  std::uint64_t batch_delay_ms = 2;
  std::uint64_t tick_ms = 10;
  std::uint64_t base_timeout_ticks = 40;
  std::uint64_t checkpoint_interval = 100;
};

/// Bounds that loading enforces.
inline constexpr std::size_t min_validators = 4;
inline constexpr std::uint64_t max_weight = std::uint64_t{1} << 40;
inline constexpr std::size_t max_chain_id_length = 64;
inline constexpr std::size_t max_genesis_bytes = 4 << 20;

/// Why `id` is not a valid chain id (1..64 of letters, digits, '-', '_', '.'), or nothing.
[[nodiscard]] std::optional<std::string> chain_id_problem(std::string_view id);

struct genesis {
  std::filesystem::path source; ///< file it was loaded from; empty when built in code
  std::string chain_id;
  protocol_kind protocol = protocol_kind::pbft;
  protocol_params params;
  std::vector<validator> validators; ///< in file order
};

/// Parses and validates genesis text; `file` is the name used in error messages.
result<genesis> parse_genesis(std::string_view text, const std::string& file);
/// Reads, parses and validates a genesis file.
result<genesis> load_genesis(const std::filesystem::path& path);

/// The TOML text of `g` (what `parse_genesis` reads back to an equal genesis).
[[nodiscard]] std::string to_toml(const genesis& g);
/// Validates `g` (by parsing its text back), then writes it atomically. Refuses to replace an
/// existing file unless `overwrite`.
result<void> write_genesis(const std::filesystem::path& path, const genesis& g,
                           bool overwrite = false);

/// The validator set of epoch 0.
result<validator_set> make_validator_set(const genesis& g);

/// Engine parameters for replica `self`: timeouts in ticks; the batch delay is rounded up to
/// whole ticks (0 ms stays 0). Fails if `self` is not a validator.
result<engine_config> make_engine_config(const genesis& g, replica_id self);

} // namespace bft::config
