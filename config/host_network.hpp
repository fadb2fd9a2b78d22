#pragma once
/// Node folders for a network of separate machines (what `bft init --hosts` and `bft init
/// --genesis G --key K` write). A node folder holds what one machine needs and nothing else:
///
///     node.toml      id, listen, advertise = its genesis address, transport
///     node.key       its secret key (only with --hosts; with --key the file stays where it is)
///     genesis.toml   the shared genesis, byte for byte the same in every folder
///     data/          its data directory (the caller adds the FIRST_START marker)
///
/// A node listens on 0.0.0.0:PORT ([::]:PORT for an IPv6 host), or on HOST:PORT itself with
/// `listen_on_host`; it serves metrics on the same host at PORT + 100. Writes are all or nothing
/// (config/staging.hpp). Free functions; thread-safe apart from two writes into one directory.
#include <filesystem>
#include <string>
#include <vector>

#include "config/genesis.hpp"
#include "config/host_list.hpp"
#include "config/node_config.hpp"

namespace bft::config {

/// Port offset of a node folder's metrics endpoint.
inline constexpr std::uint32_t metrics_port_offset = 100;

/// How the node.toml of a folder listens and talks.
struct node_folder_options {
  transport_kind transport = transport_kind::secure;
  bool listen_on_host = false; ///< listen on HOST:PORT instead of 0.0.0.0:PORT
};

/// The node file of validator `id` whose genesis address is `address`.
result<node_config> folder_node_config(replica_id id, const host_port& address,
                                       const node_folder_options& o);

struct host_network_spec {
  std::vector<host_entry> hosts; ///< validator i is hosts[i]
  protocol_kind protocol = protocol_kind::pbft;
  std::string chain_id = "bft-local";
  node_folder_options node;
};

struct host_network_files {
  std::filesystem::path dir;
  config::genesis genesis;
  std::vector<std::filesystem::path> folders; ///< host-<i>, by id, absolute
  std::vector<node_config> nodes;             ///< as written (paths relative to the folder)
};

/// Writes host-<i>/ for every host into `dir` (created if absent). Refuses fewer than 4 or
/// more than 100 hosts and an existing host-<i>; errors name the entry or the folder.
result<host_network_files> write_host_network(const std::filesystem::path& dir,
                                              const host_network_spec& spec);

struct node_folder_files {
  std::filesystem::path dir;
  std::filesystem::path node_file;
  config::genesis genesis;
  node_config node; ///< as written
};

/// Writes genesis.toml (a copy of `genesis_file`), node.toml and data/ into `dir` for the
/// validator whose public key is the one in `key_file`. The key file is not copied: node.toml
/// names it (relative when it lies in `dir`). Refuses a key that no validator has, a key file
/// others may read, and any of the three names already in `dir`.
result<node_folder_files> write_node_folder(const std::filesystem::path& dir,
                                            const std::filesystem::path& genesis_file,
                                            const std::filesystem::path& key_file,
                                            const node_folder_options& o);

/// Checks that `hosts` and the validator addresses of `g` are the same set: fails (one line)
/// on an entry that is no validator's address (naming the entry and its origin) or on a
/// validator whose address the list lacks.
result<void> check_hosts_in_genesis(const std::vector<host_entry>& hosts, const genesis& g);

} // namespace bft::config
