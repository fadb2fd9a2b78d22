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
///     transport = "secure"             # optional: "secure" (default) or "basp" (trusted nets)
///     allow_public_basp = false        # optional: basp only; publish BASP off loopback anyway
///     advertise = "10.0.0.1:7000"      # optional: host:port peers dial; default: listen
///     bootstrap = ["10.0.0.2:7000"]    # optional: peers to ask for validators' addresses
///     clock_window_s = 300             # optional: 1..86400; peer clock skew counted as suspect
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
#include <vector>

#include "config/genesis.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"

namespace bft::config {

enum class log_level { trace, debug, info, warn, error };

[[nodiscard]] std::string_view to_string(log_level l);
[[nodiscard]] std::optional<log_level> parse_log_level(std::string_view s);

/// How this replica's links reach other processes (actors/runner.hpp, `transport_kind`).
enum class transport_kind { secure, basp };

[[nodiscard]] std::string_view to_string(transport_kind t);
[[nodiscard]] std::optional<transport_kind> parse_transport(std::string_view s);

inline constexpr std::size_t max_node_config_bytes = 1 << 20;
inline constexpr std::uint64_t default_clock_window_s = 300;
inline constexpr std::uint64_t max_clock_window_s = 86400;

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
  transport_kind transport = transport_kind::secure;
  bool allow_public_basp = false;     ///< only with transport basp
  std::string advertise;              ///< host:port peers dial (never a wildcard); empty: listen
  std::vector<std::string> bootstrap; ///< host:port each, no duplicates
  std::uint64_t clock_window_s = default_clock_window_s;
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

/// Where the node's advertised address (`advertise`, else `listen`) disagrees with the genesis
/// address of its id: one line each, naming the node file and the field. Warnings, not
/// errors: a validator may move and announce its new address in a signed address record; a
/// wildcard `listen` ("0.0.0.0:P") agrees with any genesis address of port P.
[[nodiscard]] std::vector<std::string> address_warnings(const node_config& c, const genesis& g);

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
