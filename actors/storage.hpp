#pragma once
/// Where a replica keeps its engine's safety records (design section 6). The replica actor
/// writes each `ready.persist` through this interface and sends the messages of that `ready`
/// only after `write` returned success. The durable implementation (RocksDB, synced writes)
/// comes in a later issue behind this same interface; `memory_storage` is for `bft cluster`
/// and tests.
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "protocols/common/engine.hpp"
#include "protocols/common/errors.hpp"

namespace bft::actors {

/// Abstract store of key/value safety records. One owner (the store actor) calls it.
class storage {
public:
  virtual ~storage() = default;
  /// Everything written so far (what an engine restarts from).
  [[nodiscard]] virtual persisted_state load() = 0;
  /// Applies `ops` atomically and durably; returns only when they would survive a crash.
  virtual result<void> write(const std::vector<persist_op>& ops) = 0;
  /// Like `write`, and in the same atomic, durable write also logs committed entries (encoded,
  /// by index), so that the engine's persisted execution point and the entries it covers
  /// advance together. A store that keeps no entry log (`logs_entries()` false) ignores them.
  virtual result<void>
  write_with_entries(const std::vector<persist_op>& ops,
                     const std::vector<std::pair<std::uint64_t, bytes>>& entries) {
    (void)entries;
    return write(ops);
  }
  [[nodiscard]] virtual bool logs_entries() const { return false; }
};

/// A store in memory: survives an actor restart inside one process, not a process crash.
/// Thread-safe (tests read it while the store actor writes).
class memory_storage final : public storage {
public:
  [[nodiscard]] persisted_state load() override;
  result<void> write(const std::vector<persist_op>& ops) override;
  /// Number of successful `write` calls.
  [[nodiscard]] std::size_t writes() const;

private:
  mutable std::mutex mtx_;
  persisted_state records_;
  std::size_t writes_ = 0;
};

} // namespace bft::actors
