#pragma once
/// The simulator's application: a tiny deterministic state machine per replica that executes
/// committed client requests exactly once and exposes a verifiable state root.
///
/// State: a hash chain over the bodies of executed requests and, per client key, the highest
/// executed `client_seq` (P3: a request whose sequence number is not above the client's last
/// one is skipped, never re-executed). The state root is SHA3-256 over the chain head and the
/// canonical encoding of that map, so a snapshot can be checked against a certified root by
/// recomputing it. Snapshots are kept at checkpoint indexes (multiples of the interval) so
/// `ready.state_transfer` can be served to other replicas.
///
/// Owned by one simulated replica; not thread-safe. Survives crashes (it models a durable
/// application store).
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/engine.hpp"

namespace bft::sim {

/// A full copy of the application state at one index.
struct app_snapshot {
  std::uint64_t index = 0;
  digest chain{};                               ///< hash chain over executed requests
  std::map<public_key, std::uint64_t> last_seq; ///< per client: highest executed seq
  [[nodiscard]] digest root() const;            ///< recomputed from the fields above
  friend bool operator==(const app_snapshot&, const app_snapshot&) = default;
};

/// The result of applying one committed entry.
struct apply_result {
  std::vector<const client_request*> executed; ///< requests executed (first time)
  std::size_t skipped = 0;                     ///< requests skipped as duplicates (P3)
};

class application {
public:
  explicit application(std::uint64_t snapshot_interval);

  [[nodiscard]] std::uint64_t applied() const { return state_.index; }
  [[nodiscard]] digest root() const { return root_; }
  /// Root after applying `index`, if this replica applied or installed it.
  [[nodiscard]] std::optional<digest> root_at(std::uint64_t index) const;
  /// The snapshot kept at checkpoint index `index`, if any.
  [[nodiscard]] const app_snapshot* snapshot_at(std::uint64_t index) const;

  /// Applies the entry at index applied() + 1 (the caller checks the index).
  apply_result apply(const committed_entry& e);
  /// Replaces the state by `s` (already checked against a certified root).
  void install(const app_snapshot& s);

private:
  std::uint64_t interval_;
  app_snapshot state_;
  digest root_{};
  std::map<std::uint64_t, digest> roots_;
  std::map<std::uint64_t, app_snapshot> snapshots_;
};

} // namespace bft::sim
