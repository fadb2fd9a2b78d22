#pragma once
/// The durable store of one replica (design section 6): a RocksDB database in the node's data
/// directory with four column families:
///
///  - "safety": the engine's safety records (`ready.persist`), written by `write` with
///    `sync = true` before any message of the same `ready` leaves;
///  - "blocks": committed entries by height (opaque bytes encoded by the caller);
///  - "state":  the application's state (key -> value);
///  - "meta":   the committed height and the state root after it.
///
/// `commit` advances "blocks", "state" and "meta" in ONE synced WriteBatch, so after a crash
/// the state and the committed height always agree: either the whole commit is there or none
/// of it.
///
/// Failures: opening, reading and writing return `result` errors with a message naming the
/// directory and the RocksDB status; nothing throws across this interface. After a failed
/// write (I/O error, disk full) the store is *failed*: every later `write`, `commit`,
/// `install` and `prune_below` is refused, because RocksDB may or may not have made the
/// failed batch durable. The replica must then stop voting: the store actor answers the
/// persist request with an error, and the replica actor (actors/replica.cpp, `drain`) never
/// sends the messages of that `ready`, logs "replica stops: store failed" and quits; an
/// operator restarts the node once the disk is fixed, and the engine restarts from `load()`.
///
/// Threading: one owner (the store actor) calls `write`; one owner (the state machine actor,
/// possibly another thread) calls `commit`, `install` and `prune_below`; the readers may be
/// called from any thread (an internal mutex guards the cached records and the failure flag;
/// RocksDB itself is thread-safe).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/storage.hpp"
#include "protocols/common/bytes.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/smr/kv_state_machine.hpp"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
} // namespace rocksdb

namespace bft::actors {

/// The committed point kept in "meta": height 0 and a zero root mean nothing committed yet.
struct committed_point {
  std::uint64_t height = 0;
  digest state_root{};
  friend bool operator==(const committed_point&, const committed_point&) = default;
};

/// One committed entry with the application's changes it caused.
struct commit_record {
  std::uint64_t height = 0;          ///< must be above the stored committed height
  bytes entry;                       ///< the committed entry, encoded by the caller
  digest state_root{};               ///< the application's root after applying it
  std::vector<persist_op> state_ops; ///< changes to the application state ("state" family)
  /// Synced write. Not needed when the entry is logged already with the engine's synced
  /// safety records: a lost commit is replayed from that log (replay_logged), and RocksDB's
  /// write-ahead log keeps writes in order, so a later synced write makes this one durable too.
  bool sync = true;
};

/// RocksDB-backed `storage`. See the file comment for the layout and the failure contract.
class rocksdb_storage final : public storage {
public:
  /// Opens (creating if missing) the database in `dir` and reads the safety records. Returns
  /// an error naming `dir` if it cannot be created or opened (a file in the way, no
  /// permission, a corrupt or locked database).
  static result<std::unique_ptr<rocksdb_storage>> open(const std::filesystem::path& dir);

  ~rocksdb_storage() override;
  rocksdb_storage(const rocksdb_storage&) = delete;
  rocksdb_storage& operator=(const rocksdb_storage&) = delete;

  /// The safety records (read at open, kept in step with successful writes).
  [[nodiscard]] persisted_state load() override;
  /// Applies `ops` to "safety" as one synced WriteBatch.
  result<void> write(const std::vector<persist_op>& ops) override;
  /// Applies `ops` to "safety" and puts each entry above the committed height in "blocks", in
  /// one synced WriteBatch. An entry logged this way is applied to the state after a crash by
  /// `replay_logged`, so an engine that persisted its execution point with it (HotStuff's
  /// b_exec) never finds the state behind it on restart.
  result<void>
  write_with_entries(const std::vector<persist_op>& ops,
                     const std::vector<std::pair<std::uint64_t, bytes>>& entries) override;
  [[nodiscard]] bool logs_entries() const override { return true; }

  /// Stores the entry at `c.height` (unless `c.entry` is empty: it was logged already by
  /// `write_with_entries`), the state changes and the new committed point in one synced
  /// WriteBatch. Refuses a height not above the stored one (no rollback).
  result<void> commit(const commit_record& c);
  /// Replaces the whole application state by `state` and sets the committed point, in one
  /// synced WriteBatch (a verified snapshot installed by catch-up). Entries below
  /// `point.height` are left for `prune_below`.
  result<void> install(const committed_point& point, const std::map<std::string, bytes>& state);
  /// Deletes the committed entries with height below `height` (bounded disk use). Returns how
  /// many were deleted.
  result<std::size_t> prune_below(std::uint64_t height);

  /// The stored committed point (zero when nothing was committed).
  [[nodiscard]] result<committed_point> committed() const;
  /// The committed entry at `height`, or nothing if absent (never committed or pruned).
  [[nodiscard]] result<std::optional<bytes>> entry(std::uint64_t height) const;
  /// The whole application state.
  [[nodiscard]] result<std::map<std::string, bytes>> state() const;

  /// True once a write failed; all later writes are refused.
  [[nodiscard]] bool failed() const;
  /// Why the store failed (empty if it did not).
  [[nodiscard]] std::string failure() const;
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

  /// Column family names, in the order they are opened (after "default").
  static constexpr const char* safety_cf = "safety";
  static constexpr const char* blocks_cf = "blocks";
  static constexpr const char* state_cf = "state";
  static constexpr const char* meta_cf = "meta";

private:
  rocksdb_storage() = default;
  result<void> check_writable() const;
  void mark_failed(const std::string& why);

  std::filesystem::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* safety_ = nullptr; ///< owned by db_; released in the destructor
  rocksdb::ColumnFamilyHandle* blocks_ = nullptr;
  rocksdb::ColumnFamilyHandle* state_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_ = nullptr;

  mutable std::mutex mtx_;
  persisted_state records_;              ///< mirror of "safety"
  std::string failure_;                  ///< non-empty once a write failed
  std::atomic<std::uint64_t> height_{0}; ///< read by the store actor, written by the state
};

/// The canonical bytes of a committed entry as kept in "blocks".
bytes encode_entry(const committed_entry& e);
/// Decodes `encode_entry`'s bytes; an error for truncated or malformed input.
result<committed_entry> decode_entry(byte_view b);

/// Keys of the KV application's snapshot and its root in the "state" family.
inline constexpr const char* kv_snapshot_key = "kv/snapshot";
inline constexpr const char* kv_snapshot_root_key = "kv/snapshot_root";

/// Makes `entry`, just applied to `kv`, durable in one synced commit with `kv`'s new root.
/// Every `snapshot_interval` entries the commit also carries `kv`'s snapshot, and entries
/// up to the previous snapshot are pruned (disk use stays bounded). Recovery is `recover_kv`.
/// With `entry_logged`, the entry itself is already in "blocks" (`write_with_entries`) and
/// only the state and the committed point are written, without a sync (a lost commit is
/// replayed from the log), and the root is computed and recorded at snapshots only (between
/// them the committed point carries a zero root, which `recover_kv` does not check).
result<void> persist_applied(rocksdb_storage& store, smr::kv_state_machine& kv,
                             const committed_entry& entry, std::uint64_t snapshot_interval,
                             bool entry_logged = false);

/// Rebuilds a fresh `kv` from `store`: the last snapshot (checked against its stored root),
/// then every entry after it up to the committed height, then checks that the resulting root
/// equals the stored one. An error names what is missing or disagrees.
result<void> recover_kv(const rocksdb_storage& store, smr::kv_state_machine& kv);

/// After `recover_kv`: applies the entries logged above the committed height (consecutive
/// from it, as `write_with_entries` left them before a crash) and commits each through
/// `persist_applied`. Returns how many were applied.
result<std::uint64_t> replay_logged(rocksdb_storage& store, smr::kv_state_machine& kv,
                                    std::uint64_t snapshot_interval);

} // namespace bft::actors
