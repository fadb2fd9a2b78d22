#pragma once
/// Entry points of the `bft cluster`, `bft node` and `bft client` commands. No CAF in this
/// header: the commands stay quick to compile; everything CAF lives in actors/*.cpp.
///
/// `bft cluster` and `bft node` assemble each replica with the same function
/// (`assemble_replica`, actors/spawn.hpp); only the link transport differs (local handle or
/// BASP), so an in-process cluster runs exactly the code of a multi-process one.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/signer.hpp"
#include "protocols/common/engine.hpp"

namespace bft::actors {

/// Builds an engine: the signature of `pbft::make_engine` and `hotstuff::make_engine`.
using engine_factory = std::function<std::unique_ptr<engine>(
    const engine_config&, const crypto::signer&, const crypto::verifier&, const persisted_state&)>;

struct peer_address {
  std::string host;
  std::uint16_t port = 0;
};

/// How replicas of separate processes reach each other (design section 5).
/// - `secure` (the default of `bft node`): our own framing inside CAF's middleman (a broker):
///   a length prefix checked before any allocation, a handshake that binds the connection to
///   the validator keys of genesis (X25519 + ed25519), frames sealed with XChaCha20-Poly1305.
/// - `basp`: CAF's own protocol, for trusted networks only: anyone who reaches a BASP port can
///   make the process allocate gigabytes; a node refuses to publish it on a non-loopback
///   address unless `allow_public_basp` says so.
enum class transport_kind { secure, basp };

/// Limits and checks of the link layer (`bft node`; defaults are the embedded ones).
struct link_limits {
  /// Link checks (never safety): frames whose sender clock is further than this from ours
  /// are counted per peer and reported to the validator monitor as suspicion.
  std::chrono::milliseconds clock_window{std::chrono::minutes(5)};
  /// Testing only (`bft node --clock-skew-ms`): this node's clock, as its link frames carry it
  /// and its link checks read it, is off by this much. Consensus never reads wall clocks.
  std::chrono::milliseconds clock_skew{0};
};

struct cluster_options {
  std::string protocol_name;
  engine_factory make_engine;
  std::vector<engine_config> engines; ///< one per replica, `self` set
  std::vector<std::shared_ptr<const crypto::signer>> signers;
  std::shared_ptr<const crypto::verifier> verifier;
  std::chrono::milliseconds tick{10};
  double duration_s = 10; ///< 0 = until Ctrl-C
  double tx_rate = 2000;  ///< transactions per second offered by the built-in load
  std::size_t tx_size = 64;
  std::size_t clients = 16; ///< concurrent clients of the load (one request in flight each)
  std::string metrics_address;
  std::filesystem::path data_dir; ///< non-empty: a RocksDB store per replica in replica-<i>/
};

/// Runs an in-process cluster with a built-in load, a status line per second and a summary.
/// Returns the exit status (0 when the replicas committed and agree on their state roots).
int run_cluster(const cluster_options& o, const std::atomic<bool>& stop);

struct node_options {
  engine_config engine;
  engine_factory make_engine;
  std::shared_ptr<const crypto::signer> signer;
  std::shared_ptr<const crypto::verifier> verifier;
  std::chrono::milliseconds tick{10};
  peer_address listen;
  std::map<replica_id, peer_address> peers;
  std::string metrics_address;    ///< empty: no /metrics
  std::filesystem::path data_dir; ///< non-empty: the RocksDB store; empty: memory (tests)
  /// CAF scheduler threads. 1 suits several nodes sharing a few cores (`bft bench --mode
  /// processes`): fewer threads to wake per message, and a node's work is mostly sequential.
  std::size_t threads = 2;
  /// `bft node --fresh`: an empty data directory is a first start even without the
  /// FIRST_START marker of `bft init` (the amnesia guard stays off; see README "Data
  /// directories").
  bool fresh = false;
  transport_kind transport = transport_kind::secure;
  /// `basp` only: publish it on an address other than loopback anyway (node.toml
  /// `allow_public_basp = true`); without it such a node refuses to start and says why.
  bool allow_public_basp = false;
  /// The address peers should dial (node.toml `advertise`); empty host: `listen`.
  peer_address advertise;
  /// Addresses to ask for validators' signed address records at start (node.toml
  /// `bootstrap`), besides the genesis addresses.
  std::vector<peer_address> bootstrap;
  link_limits limits;
};

/// The file `bft init` writes into each node's data directory: its presence beside an empty
/// store says the replica never signed anything (a first start), so the amnesia guard is off.
inline constexpr const char* first_start_marker = "FIRST_START";

/// What `bft node` makes of its data directory at start (README, "Data directories").
struct start_kind {
  bool recovering = false;    ///< start with the amnesia guard
  bool remove_marker = false; ///< the store speaks for itself from now on
};

/// An empty store has sent nothing that a crash could make it contradict: every record a
/// message depends on is synced before the message leaves. So a marked (or `--fresh`) empty
/// store stays a first start, and keeps its marker, until it holds a record; a node stopped
/// before it signed anything starts again as a first start, not with the guard (which would
/// stall a network whose replicas were all stopped that early: none could answer the others).
/// An empty store without the marker was deleted: the replica may have signed before.
inline start_kind classify_start(bool store_empty, bool marked, bool fresh) {
  if (!store_empty) return {false, marked};
  return {!(marked || fresh), false};
}

/// Runs one replica until `stop`; returns the exit status.
int run_node(const node_options& o, const std::atomic<bool>& stop);

struct client_options {
  std::string chain_id;
  bft::epoch epoch{0};
  validator_set validators;
  std::vector<peer_address> addresses; ///< by validator (members() order)
  std::shared_ptr<const crypto::signer> signer;
  std::string command; ///< put, get, status, load
  std::vector<std::string> args;
  std::size_t count = 1000; ///< load: transactions
  std::size_t batch = 10;   ///< load: transactions per request
  std::size_t concurrency = 8;
  std::chrono::milliseconds timeout{10000};
  transport_kind transport = transport_kind::secure;
};

/// Runs one client command against the replicas of a genesis; returns the exit status.
int run_client(const client_options& o);

} // namespace bft::actors
