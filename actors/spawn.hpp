#pragma once
/// Spawning the actors of one replica, and the transports behind a link. Used by the node and
/// cluster assembly (actors/node.cpp) and by the actor tests; includes CAF.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "actors/probes.hpp"
#include "actors/runner.hpp"
#include "actors/storage.hpp"
#include "crypto/signer.hpp"
#include "net/secure_channel.hpp"
#include "protocols/common/engine.hpp"

namespace bft::net {
class address_book;
}

namespace bft::actors {

class rocksdb_storage;

/// How a link reaches its peer's acceptor. `connect` must eventually send the link either
/// `(link_up_atom, acceptor)` or `(link_fail_atom, reason)`, and must not block the caller.
/// Nothing above the link knows which transport it uses.
class transport {
public:
  virtual ~transport() = default;
  virtual void connect(caf::actor_system& sys, const link_actor& link) = 0;
  [[nodiscard]] virtual std::string describe() const = 0;
  /// The link no longer uses `peer` (a connection it reached through `connect`): a transport
  /// that owns a connection per answer closes it. Local and BASP handles need nothing.
  virtual void release(caf::actor_system&, const acceptor_actor& /*peer*/) {}
};

/// The acceptors of the replicas of one process (bft cluster, tests). Thread-safe.
class local_directory {
public:
  void set(replica_id id, acceptor_actor a);
  void erase(replica_id id);
  [[nodiscard]] std::optional<acceptor_actor> find(replica_id id) const;

private:
  mutable std::mutex mtx_;
  std::map<replica_id, acceptor_actor> acceptors_;
};

/// A peer in the same actor system, looked up in `dir` at each connection attempt.
std::unique_ptr<transport> make_local_transport(std::shared_ptr<local_directory> dir,
                                                replica_id peer);
/// A peer in another process, through the middleman (BASP over TCP). Each attempt runs the
/// blocking `remote_actor` in a detached helper actor.
std::unique_ptr<transport> make_basp_transport(std::string host, std::uint16_t port);

/// The secure transport's limits and identity (actors/secure.cpp, net/secure_channel.hpp).
/// Every limit is enforced before allocation and has a test just over it.
struct secure_config {
  std::shared_ptr<const net::local_identity> me;
  /// Discovery (validators): the signed address records this node holds and gossips after
  /// each handshake with a validator; links dial the newest address of their peer. Saved to
  /// `book_file` (if set) whenever a record is accepted. `advertise` is this node's own
  /// address: should a newer record of ours arrive with another address (an old one gossiped
  /// back after our data was wiped), we sign ours again with a higher sequence.
  std::shared_ptr<net::address_book> book;
  std::filesystem::path book_file;
  std::optional<peer_address> advertise;
  metrics* probes = nullptr; ///< outlives every actor; null: no metrics
  std::chrono::milliseconds handshake_timeout{5000};
  std::size_t max_pending = 64;                 ///< connections not yet authenticated, in all
  std::size_t max_pending_per_source = 8;       ///< ... from one source address
  std::size_t max_sessions_per_validator = 2;   ///< a newer session of a validator ends its oldest
  std::size_t max_clients = 1024;               ///< authenticated client connections
  std::size_t peer_in_flight = 256;             ///< a validator's calls awaiting our answer
  std::size_t client_in_flight = 64;            ///< a client's calls awaiting our answer
  double client_frames_per_s = 2000;            ///< a client's calls per second (then throttled)
  std::size_t client_queued_bytes = 8u << 20;   ///< answers queued to a client not reading them
  std::chrono::milliseconds client_idle{60000}; ///< a silent client connection is closed
  std::chrono::milliseconds clock_window{std::chrono::minutes(5)}; ///< link checks
  std::chrono::milliseconds clock_skew{0};      ///< testing: our clock as the link checks see it
  std::chrono::milliseconds call_timeout{5000}; ///< the acceptor's answer to a call
  std::chrono::milliseconds log_interval{5000}; ///< one log line per reason per interval
};

/// What a node's secure listener and dialled connections share: the config, the probe, the
/// log limiter and, once the replica is assembled, its monitor. Thread-safe.
class secure_context;
std::shared_ptr<secure_context> make_secure_context(secure_config cfg);
/// Asks the validator at a bootstrap address for its address records (a handshake, the
/// records both ways, then the connection closes); returns at once.
void secure_bootstrap(caf::actor_system& sys, std::shared_ptr<secure_context> ctx,
                      const std::string& host, std::uint16_t port);
/// A client's side of the secure transport (bft client, the bench's load clients): its own
/// key, proved in each handshake; no limits of its own.
std::shared_ptr<secure_context>
make_client_secure_context(std::string chain_id, bft::epoch epoch, validator_set validators,
                           std::shared_ptr<const crypto::signer> signer);
/// Hands the monitor that hears the link checks' suspicion (after the replica is assembled).
void set_secure_monitor(secure_context& ctx, monitor_actor m);
/// Refusals counted so far for `reason` (net::to_string names); for tests.
std::uint64_t secure_rejections(const secure_context& ctx, const std::string& reason);

/// A peer through the secure transport: each attempt dials `host:port` (from a detached
/// helper, since connecting blocks) and runs the handshake, expecting validator `peer`.
std::unique_ptr<transport> make_secure_transport(std::shared_ptr<secure_context> ctx,
                                                 std::string host, std::uint16_t port,
                                                 replica_id peer);
/// Serves the secure transport on `host:port` (0: any free port) for `acceptor`: returns
/// the listening actor and the bound port.
caf::expected<std::pair<caf::actor, std::uint16_t>>
secure_listen(caf::actor_system& sys, std::shared_ptr<secure_context> ctx, acceptor_actor acceptor,
              const std::string& host, std::uint16_t port);
/// Dials `host:port` and completes the handshake with validator `peer` (blocking, for
/// clients): the connection as an acceptor handle.
caf::expected<acceptor_actor> secure_dial(caf::actor_system& sys,
                                          std::shared_ptr<secure_context> ctx,
                                          const std::string& host, std::uint16_t port,
                                          replica_id peer, std::chrono::milliseconds timeout);

/// What a replica's actors share.
struct identity {
  replica_id self{0};
  std::string chain_id;
  bft::epoch epoch{0};
  validator_set validators;
  std::shared_ptr<const crypto::signer> signer;
  std::shared_ptr<const crypto::verifier> verifier;
  metrics* probes = nullptr; ///< outlives every actor
};

struct link_config {
  identity id;
  replica_id peer{0};
  std::size_t max_queued_bytes = 64u << 20; ///< overflow policy: drop the oldest frames
  std::size_t window = 64;                  ///< messages (frames or batches) in flight (credits)
  std::size_t batch_bytes = 1u << 20;       ///< frames queued together leave in batches this big
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds unreachable_log_interval{5000};
};

struct replica_config {
  identity id;
  engine_config engine;
  engine_factory make_engine;
  persisted_state restored;
  store_actor store;
  state_machine_actor state_machine;
  monitor_actor monitor;
  std::map<replica_id, link_actor> links;
  std::chrono::milliseconds tick{10};
  /// Idle ticks: after `idle_after` (or twice the batch delay, if longer) without client
  /// requests, and with no catch-up running, the timer wakes the replica only every
  /// `idle_tick` and steps the engine with the ticks that elapsed (at most idle_tick / tick),
  /// instead of waking it every tick. A client request brings back one wake-up per tick at
  /// once. With idle_tick <= tick nothing changes.
  std::chrono::milliseconds idle_tick{20};
  std::chrono::milliseconds idle_after{20};
  /// The store logs committed entries with the safety records (`storage::logs_entries`): the
  /// replica sends each ready's committed entries with its persist.
  bool log_entries = false;
  /// Catch-up: ticks without progress before the next source is asked, chunks in flight.
  std::uint64_t catchup_patience_ticks = 200;
  std::size_t catchup_window = 4;
  /// Positive control for tests only, never set otherwise: the replica sends a ready's
  /// messages before its store confirmed the persist ("vote before the safety record is
  /// durable"); tests/actors shows its check catches it.
  bool mutant_send_before_persist = false;
};

struct gateway_config {
  identity id;
  replica_actor replica;
  state_machine_actor state_machine;
  monitor_actor monitor;
  std::size_t max_pending = 100000; ///< mempool bound: submissions beyond it are refused
  std::chrono::milliseconds pending_timeout{30000};
};

struct acceptor_config {
  identity id;
  replica_actor replica;
  gateway_actor gateway;
};

struct client_config {
  std::string chain_id;
  bft::epoch epoch{0};
  validator_set validators;
  std::vector<acceptor_actor> replicas; ///< by validator order
  std::shared_ptr<const crypto::signer> signer;
  std::chrono::milliseconds timeout{10000};
  std::uint64_t first_seq = 1;
};

/// `own_thread`: the storage blocks on the disk (RocksDB's synced writes); the store then runs
/// detached, on a thread of its own, so a slow fsync never holds one of the few scheduler
/// workers (off in deterministic tests, whose coordinator runs only scheduled actors).
store_actor spawn_store(caf::actor_system& sys, std::shared_ptr<storage> st,
                        bool own_thread = false);
/// With `durable`, the state machine rebuilds its state from it at start and commits each
/// applied entry to it (actors/rocksdb_storage.hpp, `persist_applied`). `entries_logged`: the
/// replica's store logs each committed entry with the safety records of its `ready`
/// (`storage::write_with_entries`), so the state's commits need not write it again.
state_machine_actor spawn_state_machine(caf::actor_system& sys, replica_id self,
                                        std::uint64_t checkpoint_interval,
                                        std::shared_ptr<rocksdb_storage> durable = nullptr,
                                        bool entries_logged = false);
monitor_actor spawn_monitor(caf::actor_system& sys, identity id);
link_actor spawn_link(caf::actor_system& sys, link_config cfg, std::unique_ptr<transport> t);
replica_actor spawn_replica(caf::actor_system& sys, replica_config cfg);
gateway_actor spawn_gateway(caf::actor_system& sys, gateway_config cfg);
acceptor_actor spawn_acceptor(caf::actor_system& sys, acceptor_config cfg);
client_actor spawn_client(caf::actor_system& sys, client_config cfg);

/// Every actor of one replica.
struct replica_handles {
  store_actor store;
  state_machine_actor state_machine;
  monitor_actor monitor;
  std::map<replica_id, link_actor> links;
  replica_actor replica;
  gateway_actor gateway;
  acceptor_actor acceptor;
};

/// Spawns the actors of one replica, the same way for `bft cluster` and `bft node`; links
/// reach peers through `transport_for(peer)`.
replica_handles
assemble_replica(caf::actor_system& sys, const identity& id, engine_config engine,
                 engine_factory make_engine, std::shared_ptr<storage> st,
                 const std::function<std::unique_ptr<transport>(replica_id)>& transport_for,
                 std::chrono::milliseconds tick);
/// Asks every actor of a replica to stop.
void stop_replica(replica_handles& h);

/// One finished request of a load (kept when `load_config::keep_samples`).
struct load_sample {
  double done_s = 0;    ///< seconds from `load_config::start` to the receipt
  double e2e_ms = 0;    ///< submit to receipt
  double commit_ms = 0; ///< the receipt's consensus latency (admission to execution)
  std::uint32_t txs = 0;
  bool ok = false;
};

/// Counters of a built-in load, shared with the thread that prints status. Thread-safe.
struct load_stats {
  std::mutex mtx;
  std::uint64_t submitted_txs = 0;
  std::uint64_t committed_txs = 0;
  std::uint64_t failed_requests = 0;
  std::uint64_t in_flight = 0;   ///< requests submitted and not yet answered
  std::uint64_t shed_txs = 0;    ///< open loop with `shed_when_full`: not offered, queues full
  std::vector<double> window_ms; ///< latencies since the last `take_window`
  std::vector<double> all_ms;
  std::vector<load_sample> samples; ///< every finished request, with `keep_samples` only
  std::string last_error;
  std::vector<double> take_window() {
    std::lock_guard<std::mutex> g(mtx);
    return std::exchange(window_ms, {});
  }
};

/// A load: open loop (`tx_rate` > 0, a token bucket refilled every `pace`) or closed loop
/// (`tx_rate` 0, every client keeps a request in flight). The defaults are those of
/// `bft cluster` and `bft client load`; `bft bench` sets the options below its line.
struct load_config {
  std::vector<client_actor> clients;
  double tx_rate = 0;       ///< 0: as fast as the clients go
  std::size_t tx_size = 64; ///< bytes of each put value
  std::size_t txs_per_request = 1;
  std::uint64_t max_txs = 0; ///< 0: no limit
  std::shared_ptr<load_stats> stats;
  /// Keys are `<key_prefix><client>-<k>` for k cycling through `key_space` values.
  std::string key_prefix = "c";
  std::size_t key_space = 1000;
  std::chrono::milliseconds pace{20}; ///< open loop: the token bucket's refill period
  double burst_s = 0.2;               ///< open loop: the bucket holds this many seconds' tokens
  /// Open loop: refill by the time measured since the last refill, not one `pace` per tick.
  bool refill_by_elapsed = false;
  /// Requests one client may have waiting at once; a request goes to the least loaded client.
  std::size_t max_queued_per_client = 1;
  /// Open loop: tokens that find every client's queue full are dropped and counted in
  /// `load_stats::shed_txs` (the offer does not wait for the system); else they wait.
  bool shed_when_full = false;
  /// Closed loop: a client's next request leaves as its receipt arrives, not at the next tick.
  bool resubmit_at_once = false;
  /// Record every finished request in `load_stats::samples` (instead of `window_ms`/`all_ms`).
  bool keep_samples = false;
  std::chrono::steady_clock::time_point start{}; ///< the origin of `load_sample::done_s`
};

/// A load generator: each client runs `co_await client.submit(txs)`, paced to `tx_rate`.
/// Stop it with an exit message.
caf::actor spawn_load(caf::actor_system& sys, load_config cfg);

/// Percentile `p` (0..1) of `v` (sorted in place); 0 for an empty vector.
double percentile(std::vector<double>& v, double p);

/// Guards shutdown: if the process has not exited 10 s from now (an actor that does not stop,
/// a blocked connection attempt), it exits with `status` anyway.
void shutdown_deadline(int status);

/// Registers `frame` under its one name ("bft::frame"), as every node must.
void register_types(caf::actor_system_config& cfg);

/// Registers `frame` and sets the runtime options every process uses: `threads` scheduler
/// threads (2 by default), finite max-throughput, short idle polling, middleman heartbeat and
/// connection timeout, app identifier.
void configure(caf::actor_system_config& cfg, std::size_t threads = 2);

} // namespace bft::actors
