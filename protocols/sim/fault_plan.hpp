#pragma once
/// The simulator's fault plan: every odds and limit it draws with, in one place. Odds are per
/// mille (`rng::chance`, 1000 = always); ranges are inclusive [lo, hi] (`rng::between`);
/// "units" are the simulator's time units (4 per tick), "ticks" engine ticks, "timeouts" the
/// engine's base timeout (`options::base_timeout_ticks`). Which random stream draws each value
/// is part of the replay contract (tests/sim/regression_seeds.txt, FINDINGS.md): changing a
/// value, or the order of draws, renumbers every recorded seed.
///
/// `bft sim --seed S --verbose` prints the plan in effect before the run's events.
#include <cstdint>
#include <string>
#include <vector>

namespace bft::sim {

/// An inclusive range [lo, hi] drawn with `rng::between`.
struct draw_range {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
};

struct fault_plan {
  // ---------------------------------------------------------------- network (shared stream)
  /// Message delay in units outside network faults, and after stabilisation.
  draw_range delay_units{1, 4};
  /// --faults network|all: the upper bound of the message delay, drawn once per run (units).
  draw_range net_max_delay_units{2, 12};
  /// Twins: every message takes exactly this many units (before and after stabilisation).
  std::uint64_t twins_delay_units = 2;
  /// --faults network|all: loss odds (per mille), drawn once per run; frames, client
  /// requests and snapshot fetches are lost with them before stabilisation.
  draw_range loss_pm{0, 150};
  /// --faults network|all: duplication odds (per mille), drawn once per run.
  draw_range dup_pm{0, 100};
  /// --faults network|all: partition windows per run (shapes halves, one node, one-way,
  /// equally likely), each starting before stabilisation and cut at it.
  draw_range partition_windows{0, 3};
  /// Length of a partition window (ticks).
  draw_range partition_ticks{5, 50};

  // ------------------------------------------------------------------ crashes (shared stream)
  /// --faults crash|all: crash-restarts per run (of any replica).
  draw_range crashes{1, 3};
  /// A crash falls at least this many ticks before stabilisation (if there is room).
  std::uint64_t crash_margin_ticks = 20;
  /// Ticks a crashed replica stays down (restarted at stabilisation at the latest).
  draw_range crash_down_ticks{2, 30};
  /// Odds (per mille) that a crash also loses the replica's unsynced writes.
  std::uint64_t lose_unsynced_pm = 500;
  /// --faults crash|all: a disk sync point comes this many units after a write.
  draw_range sync_units{1, 4};

  // ------------------------------------------------------------------ clients (shared stream)
  /// Ticks before a client's first request.
  draw_range client_first_ticks{0, 3};
  /// Transactions per request (8 random bytes each).
  draw_range client_txs{1, 3};
  /// Ticks between a request executed by f + 1 replicas and the client's next one.
  draw_range client_think_ticks{0, 4};
  /// A client retransmits its outstanding request after this many ticks (not drawn).
  std::uint64_t client_retransmit_ticks = 12;
  /// A snapshot fetch asks the next source after this many ticks (not drawn).
  std::uint64_t fetch_timeout_ticks = 8;

  // ---------------------------------------------------------------- Byzantine roles (roles.cpp)
  /// equivocate: odds of signing a conflicting variant of a frame...
  std::uint64_t equivocate_pm = 600;
  /// ...and, for each of several recipients, of sending it the variant instead.
  std::uint64_t equivocate_each_pm = 500;
  /// silent: odds of dropping a frame.
  std::uint64_t silent_pm = 700;
  /// replay: odds of resending an old frame (of the last `replay_history` kept) to one replica.
  std::uint64_t replay_pm = 250;
  /// Frames a Byzantine replica keeps for replay; when full a random one is replaced.
  std::uint64_t replay_history = 64;
  /// future: odds of also sending a variant of a frame for a later view...
  std::uint64_t future_pm = 250;
  /// ...this many views ahead.
  draw_range future_views{1, 3};
  /// badsig: odds of flipping a byte (by 1-255) among the last `badsig_tail` bytes of a frame.
  std::uint64_t badsig_pm = 300;
  std::uint64_t badsig_tail = 64;
  /// forge: odds of sending a variant with a forged certificate instead.
  std::uint64_t forge_pm = 400;
  /// amnesia: the crash falls between one tick and stabilisation (units); the restart, with
  /// the safety record wiped, this many ticks later.
  draw_range byz_amnesia_down_ticks{1, 20};
  /// bad_snapshot: odds of serving a corrupted snapshot.
  std::uint64_t bad_snapshot_pm = 700;
  /// fork (own stream): odds a Byzantine replica has the role at all...
  std::uint64_t fork_role_pm = 500;
  /// ...of forking a frame with more than one recipient...
  std::uint64_t fork_pm = 600;
  /// ...of putting a forged QC on top...
  std::uint64_t fork_forged_qc_pm = 400;
  /// ...the newest received statements tried as fork points, and how many are kept.
  std::uint64_t fork_candidates = 4;
  std::uint64_t fork_heard = 32;
  /// late (own stream, --late-equivocation): odds a Byzantine replica has the role...
  std::uint64_t late_role_pm = 500;
  /// ...of signing a conflicting variant of a frame, to deliver to everyone later...
  std::uint64_t late_pm = 300;
  /// ...after this many ticks.
  draw_range late_ticks{5, 40};

  // --------------------------------------------------------- honest amnesia (its own stream)
  /// --amnesia: the wiped replica crashes no earlier than this tick...
  std::uint64_t amnesia_earliest_ticks = 10;
  /// ...and at least this many ticks before stabilisation (if there is room)...
  std::uint64_t amnesia_margin_ticks = 40;
  /// ...and restarts empty this many ticks later.
  draw_range amnesia_down_ticks{1, 20};

  // ------------------------------------------------------------------- pauses (its own stream)
  /// --pause: frozen replicas per run (honest ones).
  draw_range pauses{1, 2};
  /// Odds (per mille) that a pause freezes the leader of the moment instead.
  std::uint64_t pause_leader_pm = 500;
  /// Length of a pause (base timeouts).
  draw_range pause_timeouts{3, 8};
  /// A pause falls no earlier than this tick, and ends this many ticks before stabilisation.
  std::uint64_t pause_earliest_ticks = 10;
  std::uint64_t pause_margin_ticks = 20;
  /// Ticks owed at once on resume.
  draw_range pause_owed_ticks{0, 2};
  /// The inbox drains over up to this many base timeouts after a resume.
  std::uint64_t pause_drain_timeouts = 2;

  /// One line per field group, "name=value" (ranges lo-hi), for --verbose.
  [[nodiscard]] std::vector<std::string> describe() const;
};

/// The plan every run uses (the values the recorded seeds were drawn with).
inline constexpr fault_plan default_fault_plan{};

} // namespace bft::sim
