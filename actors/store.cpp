// The store actor: makes each `ready.persist` durable through a `storage`, then replies.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

namespace {

/// State of the store actor: owns the storage it writes through. One actor; the storage is
/// called from this actor only.
struct store_state {
  static inline const char* name = "bft.store";
  std::shared_ptr<storage> st;
  std::shared_ptr<spdlog::logger> log = component_logger("store");
};

store_actor::behavior_type store_fn(store_actor::stateful_pointer<store_state> self,
                                    std::shared_ptr<storage> st) {
  self->state.st = std::move(st);
  return {
      [self](persist_atom, persist_batch& b) -> caf::result<persisted_atom> {
        auto r = b.entries.empty() ? self->state.st->write(b.ops)
                                   : self->state.st->write_with_entries(b.ops, b.entries);
        if (!r) {
          self->state.log->error("store fails to write records={} error=\"{}\"", b.ops.size(),
                                 r.error().message());
          return caf::make_error(caf::sec::runtime_error, r.error().message());
        }
        return persisted_atom::value;
      },
  };
}

} // namespace

store_actor spawn_store(caf::actor_system& sys, std::shared_ptr<storage> st, bool own_thread) {
  if (own_thread) return sys.spawn<caf::detached>(store_fn, std::move(st));
  return sys.spawn(store_fn, std::move(st));
}

} // namespace bft::actors
