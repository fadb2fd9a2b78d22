#pragma once
/// Seeded bugs for positive controls: each bit of `engine_config::mutants` switches one on at
/// run time. Honest configurations use 0. Each is a real safety bug that the simulator's
/// checkers must catch (K1 agreement or K4 honest non-equivocation).
#include <array>
#include <cstdint>
#include <string_view>

namespace bft::pbft {

enum mutant : std::uint64_t {
  /// A view-change carries no prepared certificates (breaks P21): a value committed in view v
  /// can be replaced by a null request or another value in v+1. Caught by K1.
  view_change_drops_prepared = 1,
  /// A backup accepts pre-prepares outside (h, H] (breaks P8): below h its log entry was
  /// truncated, so it prepares a second digest for an old (v, n). Caught by K4.
  accept_outside_watermarks = 2,
  /// The quorum helper is off by one: committed-local after 2f matching commits instead of
  /// 2f+1 (breaks P14), and prepared after 2f−1 backup prepares (breaks P11). Under an
  /// equivocating primary two honest replicas commit different digests. Caught by K1.
  commit_after_2f = 4,
  /// The constructor ignores the persisted log (breaks persist-before-send, known bug 9): a
  /// restarted primary reuses sequence numbers with other batches. Caught by K4.
  forget_log_on_restart = 8,
  /// Certificates inside view-changes are not verified (breaks P22, concord-bft #50): a forged
  /// certificate of a high view wins in O. Caught by K1.
  skip_certificate_check = 16,
  /// A backup accepts a new-view without recomputing O (breaks P26). Caught by K1.
  new_view_not_recomputed = 32,
  /// The log record of a slot (the accepted pre-prepare and the votes it backs) is handed to
  /// the store one ready late, after the prepare or commit it covers has left (breaks
  /// persist-before-send, design.md section 6): a replica that crashes in between restarts
  /// without it and signs a second digest for the same (v, n). Caught by K4.
  vote_before_persist = 64,
};

/// Every mutant by its name (the `bft sim --mutant` spelling), in enumerator order.
struct mutant_name {
  std::string_view name;
  mutant bit;
};
inline constexpr std::array<mutant_name, 7> mutant_names{{
    {"view_change_drops_prepared", view_change_drops_prepared},
    {"accept_outside_watermarks", accept_outside_watermarks},
    {"commit_after_2f", commit_after_2f},
    {"forget_log_on_restart", forget_log_on_restart},
    {"skip_certificate_check", skip_certificate_check},
    {"new_view_not_recomputed", new_view_not_recomputed},
    {"vote_before_persist", vote_before_persist},
}};

[[nodiscard]] constexpr bool has_mutant(std::uint64_t bits, mutant m) { return (bits & m) != 0; }

} // namespace bft::pbft
