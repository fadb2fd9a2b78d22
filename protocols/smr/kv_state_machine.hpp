#pragma once
/// The built-in replicated application: a key/value store with put, get, delete and
/// compare-and-set (protocols/smr/kv_tx.hpp), executed exactly once per (client key,
/// client_seq), with a SHA3-256 state root kept incrementally (protocols/smr/state_tree.hpp)
/// and snapshots whose root is checked on restore.
///
/// Exactly-once (PBFT's reply cache): each client has a session holding the last executed
/// `client_seq` and that request's results. A request whose `client_seq` is not above the
/// session's is a duplicate: it changes nothing, and if it is the last one its cached results
/// are returned again, so a client that retries gets the same answer.
///
/// The state root covers the data and the sessions (both change what later transactions do).
/// Not thread-safe; one owner (the state machine actor, or a test / the simulator).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "protocols/smr/state_tree.hpp"

namespace bft::smr {

/// What executing one client request produced.
struct request_outcome {
  public_key client{};
  std::uint64_t client_seq = 0;
  bool duplicate = false;         ///< already executed before: nothing changed
  std::vector<kv_result> results; ///< one per transaction (cached ones for a duplicate)
};

/// A client's exactly-once record.
struct client_session {
  std::uint64_t last_seq = 0;
  std::vector<kv_result> last_results;
};

class kv_state_machine {
public:
  static constexpr std::uint16_t snapshot_type = 0x5303;
  static constexpr std::size_t max_entries = 1u << 26;

  /// Executes every request of a committed entry in order. Entries at or below
  /// `applied_index()` were applied already and yield nothing (replays after a restart).
  std::vector<request_outcome> apply(const committed_entry& entry);

  [[nodiscard]] std::optional<std::string> read(const std::string& key) const;
  [[nodiscard]] const client_session* session(const public_key& client) const;
  /// Per client, the highest executed client_seq (ev::state_installed::client_seqs).
  [[nodiscard]] std::vector<std::pair<public_key, std::uint64_t>> client_seqs() const;
  [[nodiscard]] std::uint64_t applied_index() const { return applied_index_; }
  [[nodiscard]] std::size_t size() const { return data_.size(); }
  /// SHA3-256 over data and sessions; cheap when little changed since the last call. Leaf
  /// digests of keys written since the last call are computed here, once per key however
  /// often it was written in between (so callers may ask for the root once per checkpoint).
  [[nodiscard]] digest state_root();

  /// The whole state with its applied index and root, canonically encoded.
  [[nodiscard]] bytes snapshot();
  /// Replaces the state with a snapshot if it decodes and its recomputed root equals
  /// `expected_root` (and the root it carries); otherwise the state is unchanged.
  result<void> restore(byte_view snapshot, const digest& expected_root);

private:
  kv_result execute(const bytes& raw_tx);
  void set_data(const std::string& key, std::string value);
  void erase_data(const std::string& key);
  void set_session(const public_key& client, client_session s);

  std::map<std::string, std::string> data_;
  std::map<public_key, client_session> sessions_;
  state_tree tree_;
  /// Keys written or erased since the tree was last brought up to date (`state_root`).
  std::set<std::string> dirty_data_;
  std::set<public_key> dirty_sessions_;
  std::uint64_t applied_index_ = 0;
};

/// Canonical bytes of a session (the leaf value that the state root commits to).
bytes encode_session(const client_session& s);

} // namespace bft::smr
