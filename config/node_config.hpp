#pragma once
/// `node.toml`: how to run one replica.
///
///     id = 0                           # this replica's validator id in the genesis
///     key_file = "node-0.key"          # its ed25519 key pair (mode 0600)
///     data_dir = "data-0"              # where its store lives
///     listen = "127.0.0.1:7000"        # host:port it serves peers on
///     metrics = "127.0.0.1:7100"       # optional: host:port of /metrics; absent = none
///     log_level = "info"               # optional: trace|debug|info|warn|error (default info)
///     genesis = "genesis.toml"         # optional: default genesis.toml beside this file
///
/// Relative paths resolve against the directory of the node file, so a generated network
/// directory can be moved as a whole. Errors are one line naming the file and the field,
/// e.g. `node-1.toml: listen: "localhost" is not host:port (missing port)`.
/// Free functions and plain values; thread-safe.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"

namespace bft::config {

enum class log_level { trace, debug, info, warn, error };

[[nodiscard]] std::string_view to_string(log_level l);
[[nodiscard]] std::optional<log_level> parse_log_level(std::string_view s);

inline constexpr std::size_t max_node_config_bytes = 1 << 20;

struct node_config {
  std::filesystem::path source; ///< file it was loaded from; empty when built in code
  replica_id id{0};
  /// Paths as loaded: absolute after `load_node_config`; when written, relative paths are
  /// kept as they are (relative to the node file's directory).
  std::filesystem::path genesis_file = "genesis.toml";
  std::filesystem::path key_file;
  std::filesystem::path data_dir;
  std::string listen;  ///< host:port
  std::string metrics; ///< host:port, or empty for no metrics endpoint
  log_level level = log_level::info;
};

/// Parses and validates node text; relative paths resolve against `base_dir`; `file` is the
/// name used in error messages.
result<node_config> parse_node_config(std::string_view text, const std::string& file,
                                      const std::filesystem::path& base_dir);
/// Reads, parses and validates a node file; relative paths resolve against its directory.
result<node_config> load_node_config(const std::filesystem::path& path);

/// The TOML text of `c` (paths written as they are).
[[nodiscard]] std::string to_toml(const node_config& c);
/// Validates `c` (by parsing its text back), then writes it atomically. Refuses to replace an
/// existing file unless `overwrite`.
result<void> write_node_config(const std::filesystem::path& path, const node_config& c,
                               bool overwrite = false);

/// Fails (naming the node file and `id`) if the node's id is not a validator of `g`.
result<void> check_node_in_genesis(const node_config& c, const genesis& g);

/// Loads the node's key pair (refusing loose permissions) and checks that its public key is
/// the one `g` lists for the node's id.
result<crypto::key_pair> load_node_key(const node_config& c, const genesis& g);

/// Everything one replica needs at start-up, loaded and cross-checked.
struct node_bundle {
  node_config node;
  config::genesis genesis;
  crypto::key_pair key;
};

/// Loads the node file, its genesis (`genesis_override` if given, else the node's `genesis`
/// field) and its key, and checks that they agree.
result<node_bundle>
load_node(const std::filesystem::path& node_path,
          const std::optional<std::filesystem::path>& genesis_override = std::nullopt);

} // namespace bft::config
