#pragma once
/// The contract between a protocol engine and whatever drives it (the replica actor, or the
/// deterministic simulator): `step(event) -> ready`.
///
/// An engine is a plain, single-threaded, deterministic class: no clock, no threads, no I/O,
/// no randomness. The same events in the same order give the same `ready` values.
///
/// Ordering contract of `ready` (the driver applies it in this order):
///  1. `persist`: make every record durable (synced) — before anything else of this ready;
///  2. `messages`: only then send them;
///  3. `committed`: apply to the state machine in index order; after applying an entry whose
///     index is a multiple of `checkpoint_interval`, the driver takes a snapshot and feeds back
///     `ev::executed` with the state root (it may feed it for other indexes too);
///  4. `rejected` and `evidence`: report (metrics, logs, validator monitor);
///  5. `state_transfer`: fetch and install a certified snapshot, then feed `ev::state_installed`.
/// Client replies come from the execution layer after it applies `committed` entries.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/ids.hpp"
#include "protocols/common/request.hpp"
#include "protocols/common/validator_set.hpp"

namespace bft {

namespace ev {
/// A frame received from a peer. Not yet decoded nor verified: the engine does both and
/// rejects bad input, so every driver gets the same checks.
struct received {
  replica_id from;
  bytes frame;
};
/// One logical tick of the driver's timer. All timeouts are counted in ticks.
struct tick {};
/// Client requests handed to this replica (already admitted by the mempool).
struct client_requests {
  std::vector<client_request> requests;
  /// The driver already checked every client signature with the cluster's verifier (over
  /// `client_request::sign_tag`, this chain id and epoch), so the engine does not check them
  /// again. Requests the engine later receives from peers (relays, blocks, batches) are still
  /// verified. False (the default) makes the engine verify each signature itself.
  bool verified = false;
};
/// The driver applied committed entry `index`; `state_root` is the application's root after it.
struct executed {
  std::uint64_t index = 0;
  digest state_root{};
};
/// The driver installed an application snapshot at `index` whose root is `state_root`, as asked
/// by `ready::state_transfer` (PBFT P30, catch-up). The engine continues after `index`.
struct state_installed {
  std::uint64_t index = 0;
  digest state_root{};
  /// The installed application's exactly-once table: per client, the highest executed
  /// client_seq (the driver reads it from the snapshot it checked against `state_root`). The
  /// engine learns from it what the skipped entries committed (HotStuff H25); may be empty.
  std::vector<std::pair<public_key, std::uint64_t>> client_seqs;
};
} // namespace ev

using event =
    std::variant<ev::received, ev::tick, ev::client_requests, ev::executed, ev::state_installed>;

/// Durable key/value record of the engine's safety state; `erase` deletes the key.
struct persist_op {
  std::string key;
  bytes value;
  bool erase = false;
};

/// A signed frame to send; `to` empty means every other replica.
struct outbound {
  std::optional<replica_id> to;
  bytes frame;
};

/// One committed entry (PBFT sequence number or HotStuff block height), in order.
struct committed_entry {
  std::uint64_t index = 0;
  digest id{}; ///< batch digest or block hash
  std::vector<client_request> requests;
};

struct rejection {
  std::optional<replica_id> from;
  std::string reason;
};

/// Transferable proof of equivocation: two conflicting frames signed by `culprit`'s key.
struct evidence {
  replica_id culprit;
  bytes first;
  bytes second;
};

/// The engine is behind a certified point: the driver fetches the application snapshot taken
/// at `index` from one of `sources`, checks that its root equals `state_root` (certified by a
/// quorum), installs it, and feeds back `ev::state_installed`. A source that serves a wrong
/// snapshot is skipped and the next one is asked.
struct state_transfer_request {
  std::uint64_t index = 0;
  digest state_root{};
  std::vector<replica_id> sources;
};

struct ready {
  std::vector<persist_op> persist;
  std::vector<outbound> messages;
  std::vector<committed_entry> committed;
  std::vector<rejection> rejected;
  std::vector<bft::evidence> evidence;
  std::optional<state_transfer_request> state_transfer;
  /// Safety alarms: the engine saw what its fault assumption rules out (more than f faulty
  /// replicas), e.g. a certified three-chain that conflicts with the executed chain, or a new
  /// view that re-proposes a committed sequence number with another batch. The engine keeps
  /// what it executed and carries on; a driver reports each alarm loudly (the simulator fails
  /// the run, a node logs it as critical). Never a `rejected` entry: it is not a bad frame.
  std::vector<std::string> alarms;
  [[nodiscard]] bool empty() const {
    return persist.empty() && messages.empty() && committed.empty() && rejected.empty() &&
           evidence.empty() && !state_transfer && alarms.empty();
  }
};

/// Parameters shared by both engines; each engine documents which it uses.
struct engine_config {
  std::string chain_id = "bft-local";
  bft::epoch epoch{0};
  replica_id self{0};
  validator_set validators;
  std::size_t batch_size = 400;            ///< max requests per pre-prepare / block
  std::uint64_t batch_delay_ticks = 1;     ///< max ticks a partial batch waits
  std::uint64_t base_timeout_ticks = 40;   ///< view-change / pacemaker timeout
  std::uint64_t checkpoint_interval = 100; ///< PBFT K; snapshot interval
  /// PBFT P5: ticks a backup waits before it relays a client request it was handed and that no
  /// pre-prepare carries yet; 0 relays at once. A driver whose clients send every request to
  /// every replica (the actor runtime) sets a delay: the primary holds the request already,
  /// and relaying each one at once carried it n - 1 more times across the cluster.
  std::uint64_t relay_delay_ticks = 0;
  /// HotStuff: ticks a replica waits before it asks a peer for a missing block that a QC or a
  /// child block named; 0 asks at once. Under load in one process a block's votes, or the next
  /// proposal, often overtake the block itself on another link: asking at once had the block
  /// sent and decoded twice (a quarter of the CPU with 512-byte transactions). The actor
  /// runtime waits a few ticks; the simulator asks at once.
  std::uint64_t fetch_delay_ticks = 0;
  std::uint64_t mutants = 0; ///< seeded bugs for positive controls (tests only)
  /// If non-empty, the leader of view v < size() is leader_schedule[v] (Twins scenarios pin
  /// leaders this way); the engine's own rotation applies after it.
  std::vector<replica_id> leader_schedule;
  /// Amnesia guard (protocols/common/recovery.hpp). True: this replica may have signed
  /// messages before and lost its safety record (its data directory was deleted), so when it
  /// starts from an EMPTY persisted_state it stays an observer (no votes, proposals,
  /// view-changes or new-views) until its peers' status reports bound what it may have
  /// signed. False (the default): an empty record means a first start (genesis), as before.
  /// Ignored when the persisted state is not empty (a guard still in force is persisted).
  bool recovering = false;
  /// Fresh for every start (the driver draws it): status reports answer this nonce, so they
  /// were made after the restart.
  std::uint64_t recovery_nonce = 0;
};

/// What the driver can show about an engine (status lines, metrics, checkers).
struct engine_status {
  view_number view;
  replica_id leader;
  std::uint64_t committed_index = 0; ///< highest index handed out in `committed`
  std::uint64_t stable_index = 0;    ///< PBFT stable checkpoint / HotStuff locked height
  bool view_changing = false;
};

/// The stored safety records an engine restarts from (key -> value, sorted).
///
/// One policy for both engines: a record that does not decode (a damaged store, not an
/// engine invariant) makes the constructor throw std::invalid_argument whose message names
/// the engine and the record ("pbft: stored pbft/view record is corrupt", "hotstuff: stored
/// safety record is corrupt: ..."). Nothing is guessed or skipped: a replica that cannot read
/// what it signed must not start. The driver reports the message and stops (the simulator
/// fails the run with checker C).
using persisted_state = std::map<std::string, bytes>;

/// Base of both engines. Not thread-safe; one owner calls `step`.
class engine {
public:
  virtual ~engine() = default;
  virtual ready step(const event& e) = 0;
  [[nodiscard]] virtual engine_status status() const = 0;
};

} // namespace bft
