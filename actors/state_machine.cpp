// The state machine actor: applies committed entries to the KV application.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
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
};

state_machine_actor::behavior_type
state_machine_fn(state_machine_actor::stateful_pointer<state_machine_state> self, replica_id id,
                 std::uint64_t checkpoint_interval) {
  self->state.self = id;
  self->state.checkpoint_interval = checkpoint_interval == 0 ? 100 : checkpoint_interval;
  return {
      [self](commit_atom, commit_batch& batch) -> executed_list {
        auto& st = self->state;
        executed_list out;
        for (const auto& entry : batch.entries) {
          if (entry.index <= st.kv.applied_index()) continue; // replayed after a restart
          auto outcomes = st.kv.apply(entry);
          auto root = st.kv.state_root();
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
                                        std::uint64_t checkpoint_interval) {
  return sys.spawn(state_machine_fn, self, checkpoint_interval);
}

} // namespace bft::actors
