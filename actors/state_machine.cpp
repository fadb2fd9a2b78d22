// The state machine actor: applies committed entries to the KV application.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/rocksdb_storage.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

namespace {

/// State of the state machine actor: the KV application, its latest snapshot and the gateways
/// that want outcomes. Owned by the actor; touched only from its handlers.
struct state_machine_state {
  static inline const char* name = "bft.state";
  smr::kv_state_machine kv;
  std::uint64_t checkpoint_interval = 100;
  bytes last_snapshot; ///< taken at the last multiple of checkpoint_interval
  std::vector<gateway_actor> subscribers;
  std::shared_ptr<spdlog::logger> log = component_logger("state");
  replica_id self{0};
  std::shared_ptr<rocksdb_storage> durable; ///< null: the state lives in memory only
};

state_machine_actor::behavior_type
state_machine_fn(state_machine_actor::stateful_pointer<state_machine_state> self, replica_id id,
                 std::uint64_t checkpoint_interval, std::shared_ptr<rocksdb_storage> durable) {
  self->state.self = id;
  self->state.checkpoint_interval = checkpoint_interval == 0 ? 100 : checkpoint_interval;
  self->state.durable = std::move(durable);
  if (self->state.durable) {
    if (auto r = recover_kv(*self->state.durable, self->state.kv); !r) {
      self->state.log->critical("state cannot recover from store node={} error=\"{}\"", id.value(),
                                r.error().message());
      self->quit(caf::make_error(caf::sec::runtime_error, r.error().message()));
    } else {
      self->state.log->info("state recovers from store node={} height={}", id.value(),
                            self->state.kv.applied_index());
    }
  }
  return {
      [self](commit_atom, commit_batch& batch) -> executed_list {
        auto& st = self->state;
        executed_list out;
        for (const auto& entry : batch.entries) {
          if (entry.index <= st.kv.applied_index()) continue; // replayed after a restart
          if (st.durable && entry.index != st.kv.applied_index() + 1) {
            // Entries committed before a crash never reached the store: applying this one
            // would diverge. Stop applying until a state transfer (not in this runtime yet).
            st.log->error("state is behind the engine node={} applied={} next={}", st.self.value(),
                          st.kv.applied_index(), entry.index);
            break;
          }
          auto outcomes = st.kv.apply(entry);
          auto root = st.kv.state_root();
          if (st.durable) {
            if (auto r = persist_applied(*st.durable, st.kv, entry, st.checkpoint_interval); !r) {
              st.log->critical("state stops: store failed node={} error=\"{}\"", st.self.value(),
                               r.error().message());
              self->quit(caf::make_error(caf::sec::runtime_error, r.error().message()));
              return out;
            }
          }
          if (entry.index % st.checkpoint_interval == 0) {
            st.last_snapshot = st.kv.snapshot();
            st.log->debug("state takes snapshot node={} index={} bytes={}", st.self.value(),
                          entry.index, st.last_snapshot.size());
          }
          out.entries.push_back(executed_msg{entry.index, root});
          if (!outcomes.empty())
            for (const auto& g : st.subscribers)
              self->send(g, outcome_atom::value, outcome_batch{entry.index, outcomes});
        }
        return out;
      },
      [self](subscribe_atom, gateway_actor& g) { self->state.subscribers.push_back(g); },
      [self](read_atom, const std::string& key) -> read_answer {
        return read_answer{self->state.kv.read(key), self->state.kv.applied_index()};
      },
      [self](session_atom, const public_key& client) -> session_answer {
        session_answer a;
        if (const auto* s = self->state.kv.session(client)) {
          a.known = true;
          a.session = *s;
        }
        return a;
      },
      [self](status_atom) -> state_status {
        auto& kv = self->state.kv;
        return state_status{kv.applied_index(), kv.state_root(), kv.size()};
      },
  };
}

} // namespace

state_machine_actor spawn_state_machine(caf::actor_system& sys, replica_id self,
                                        std::uint64_t checkpoint_interval,
                                        std::shared_ptr<rocksdb_storage> durable) {
  return sys.spawn(state_machine_fn, self, checkpoint_interval, std::move(durable));
}

} // namespace bft::actors
