#pragma once
/// The deterministic simulator: n replicas of one engine in one thread on virtual time, a
/// seeded faulty network, crash-restart from persisted records, Byzantine replicas, and the
/// checkers of reliability.md (K1–K4, K6–K9) after every step. See README.md.
///
/// `run_seed` is pure: the same options give the same result and the same trace hash.
/// Not thread-safe; every call owns its whole simulated world.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/signer.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/protocol_inspector.hpp"

namespace bft::sim {

/// A seeded bug of an engine, switched on through engine_config::mutants.
struct mutant_entry {
  std::string name;
  std::uint64_t bits = 0;
};

/// The coarse role of a frame, so a Twins schedule can steer the delivery of each kind of
/// message apart: proposals, votes, view-change messages (PBFT view-change and new-view,
/// HotStuff new-view) and catch-up traffic (block or batch fetches and their answers).
enum class frame_kind : std::uint8_t { other = 0, proposal, vote, view_change, fetch };

/// Everything the simulator needs to know about one engine.
struct protocol_spec {
  using factory =
      std::function<std::unique_ptr<engine>(const engine_config&, const crypto::signer&,
                                            const crypto::verifier&, const persisted_state&)>;
  std::string name;
  factory make_engine;
  std::shared_ptr<const protocol_inspector> inspector;
  std::vector<mutant_entry> mutants;
  /// The kind of a frame from its envelope (no signature check); unset: every frame is
  /// `other`.
  std::function<frame_kind(byte_view)> classify;
};

enum class fault_mode { none, network, crash, all };
[[nodiscard]] std::optional<fault_mode> parse_fault_mode(std::string_view s);
[[nodiscard]] std::string_view to_string(fault_mode m);

/// Number of Twins scenarios for n = 4, one twin, 2 groups, 3 rounds: 15^3.
inline constexpr std::uint32_t twins_scenarios = 3375;
/// Partitions of the 5 Twins instances into 2 non-empty groups.
inline constexpr std::uint32_t twins_partitions = 15;
/// Rounds of the exhaustive enumeration; more rounds are sampled (`twins_plan`).
inline constexpr std::uint32_t twins_enumerated_rounds = 3;
/// Most rounds a sampled or explicit Twins scenario may have.
inline constexpr std::uint32_t twins_max_rounds = 16;
/// Most delivery rules a round of a sampled-rules scenario draws.
inline constexpr std::uint32_t twins_max_sampled_rules = 3;

/// A directed delivery rule of a Twins round: the scheduler does not deliver a frame of one
/// of `kinds` sent by an instance of `from` to an instance of `to` while the sender is in the
/// round's view. Partitions cut every kind both ways; rules let the adversary steer single
/// messages (a proposal to one replica only, votes to one twin only, ...), as the Twins
/// scheduler controls delivery.
struct twins_drop {
  /// Bit k set: frames of `frame_kind` k + 1 (bit 0 proposal, 1 vote, 2 view change,
  /// 3 fetch), bit 7 any other frame.
  std::uint8_t kinds = 0;
  std::uint8_t from = 0; ///< bit i: instance i (0 twin A, 1–3 replicas 1–3, 4 twin B)
  std::uint8_t to = 0;   ///< bit i: instance i
  friend bool operator==(const twins_drop&, const twins_drop&) = default;
};

/// One round (one view) of a Twins scenario. Instances 0 and 4 are the two twins of replica
/// 0, instances 1–3 the honest replicas 1–3.
struct twins_round {
  /// Bit i set: instance i is in group 1, else in group 0 (instance 4 is always in group 0,
  /// so the masks 1..15 name the 15 partitions into 2 non-empty groups once each; mask 0, for
  /// explicit schedules only, keeps all five together).
  std::uint32_t partition = 1;
  /// The replica leading the round's view; 0 is the twinned key (both twins lead).
  std::uint32_t leader = 0;
  /// Delivery rules on top of the partition (explicit schedules only).
  std::vector<twins_drop> drops;
  friend bool operator==(const twins_round&, const twins_round&) = default;
};

struct options {
  protocol_spec protocol;
  std::size_t replicas = 4;
  std::uint64_t seed = 0;
  std::size_t byzantine = 0; ///< Byzantine replicas (more than f for positive controls)
  fault_mode faults = fault_mode::all;
  std::uint64_t ticks = 0; ///< total virtual ticks; 0 picks the default for the mode
  std::string mutant;      ///< mutant name (for the replay command), empty = none
  std::uint64_t mutant_bits = 0;
  std::optional<std::uint32_t> twins_scenario; ///< run Twins scenario s (n must be 4)
  /// Rounds of the Twins scenario: 3 decodes `twins_scenario` as one of the 3,375 of the
  /// enumeration (the twin leads each round); more draw a partition and a leader per round
  /// from the scenario number (sampled deep Twins).
  std::uint32_t twins_rounds = twins_enumerated_rounds;
  /// Sampled rules (`--rules`): scenario `twins_scenario` draws, per round, a partition (or
  /// none), a leader and up to `twins_max_sampled_rules` delivery rules (kinds, senders,
  /// receivers) from its number, for any `twins_rounds` from 3 to 16; the replay command
  /// prints the drawn rounds as an explicit schedule. Off: the enumeration and the sampled
  /// deep Twins are unchanged.
  bool twins_sample_rules = false;
  /// If non-empty: the explicit rounds of the Twins scenario (`twins_scenario` then only
  /// seeds the clients and the network delays).
  std::vector<twins_round> twins_schedule;
  /// Honest amnesia (`--amnesia guarded|unguarded`): one honest replica (drawn from a random
  /// stream of its own, so other seeds replay as before) crashes before stabilisation, loses
  /// its whole persisted record (its data directory is deleted) and restarts empty. Guarded:
  /// its engine_config says so (`recovering`, a fresh `recovery_nonce` at every start) and the
  /// engine's amnesia guard must keep it from contradicting itself. Unguarded: the engine
  /// takes the empty record for a first start (the positive control: K4 and K1 fail). The
  /// wiped replica counts as faulty for K7 (liveness is owed only with at most f faulty).
  enum class amnesia_mode : std::uint8_t { none, guarded, unguarded };
  amnesia_mode honest_amnesia = amnesia_mode::none;
  /// `--late-equivocation`: a Byzantine replica may also (drawn from a stream of its own,
  /// half of them) sign a conflicting variant of a frame and deliver it to everyone only 5-40
  /// ticks later, when a replica may have crashed and restarted meanwhile. Off by default so
  /// the recorded seeds replay as before.
  bool late_equivocation = false;
  /// Pauses (`--pause`): 1–2 honest replicas (half of the time the leader of the moment) are
  /// frozen before stabilisation for 3–8 base timeouts, like a process under SIGSTOP: no
  /// ticks, and everything addressed to them (frames, client requests, disk syncs, snapshot
  /// answers) waits in their inbox while the others go on. On resume up to 2 owed ticks come
  /// at once, then the inbox drains over up to 2 base timeouts while the clock runs again.
  /// Drawn from a random stream of its own, so every other option replays as before. A
  /// paused replica stays honest: K7 requires it to catch up after stabilisation.
  bool pause = false;
  // Engine knobs the simulator sets (small, so short runs reach checkpoints and timeouts).
  std::uint64_t checkpoint_interval = 8;
  std::uint64_t base_timeout_ticks = 10;
  std::size_t batch_size = 8;
  std::size_t clients = 3;
  /// If set, receives a human-readable line per notable event (replays with --verbose).
  std::function<void(const std::string&)> log;
};

inline constexpr std::uint64_t default_campaign_ticks = 400;
inline constexpr std::uint64_t default_twins_ticks = 200;

/// What a run exercised; summed over a campaign.
struct coverage {
  std::uint64_t view_changes = 0;    ///< honest replicas entering view-changing / timing out
  std::uint64_t new_views = 0;       ///< honest replicas entering a view > the first one
  std::uint64_t checkpoints = 0;     ///< new stable checkpoints seen by honest replicas
  std::uint64_t state_transfers = 0; ///< snapshots fetched and installed
  std::uint64_t evidence = 0;        ///< evidence items reported by honest replicas
  std::uint64_t crashes = 0;
  std::uint64_t restarts = 0;
  std::uint64_t lost_writes = 0; ///< unsynced persist records lost in crashes
  std::uint64_t commits = 0;     ///< committed entries applied by honest replicas
  std::uint64_t requests = 0;    ///< requests executed by honest replicas
  std::uint64_t messages = 0;    ///< frames delivered
  std::uint64_t byzantine_frames = 0;
  void add(const coverage& o);
  [[nodiscard]] std::string to_string() const;
};

struct violation {
  std::string checker; ///< "K1", "K2", ... ; "C" for a broken engine contract
  std::string detail;
};

struct seed_result {
  std::vector<violation> violations;
  coverage cov;
  std::uint64_t trace_hash = 0;
  [[nodiscard]] bool passed() const { return violations.empty(); }
};

/// The rounds a Twins run of `o` follows (empty if `o` is not a Twins run).
[[nodiscard]] std::vector<twins_round> twins_plan(const options& o);
/// "mask:leader,mask:leader,..." (one item per round) to rounds; nullopt if malformed. Each
/// item may carry delivery rules, "/KINDS FROM>TO" each (no spaces): KINDS from p (proposal),
/// v (vote), n (view change / new-view), f (fetch), o (other), * (all); FROM and TO sets of
/// instance digits 0–4. Example: "0:0/p0>3/v123>4" (no partition, the twins lead, twin A's
/// proposal does not reach replica 3, votes do not reach twin B).
[[nodiscard]] std::optional<std::vector<twins_round>> parse_twins_schedule(std::string_view s);
[[nodiscard]] std::string to_string(const std::vector<twins_round>& rounds);

/// Runs one seed (or one Twins scenario) to the end or to the first violation.
[[nodiscard]] seed_result run_seed(const options& o);

/// The `bft sim` command line that replays exactly this run.
[[nodiscard]] std::string replay_command(const options& o);

} // namespace bft::sim
