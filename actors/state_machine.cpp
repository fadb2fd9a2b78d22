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
  /// The latest snapshots by index (multiples of checkpoint_interval, or installed ones),
  /// served to peers that catch up; the oldest is dropped beyond `kept_snapshots`.
  std::map<std::uint64_t, snapshot_answer> snapshots;
  static constexpr std::size_t kept_snapshots = 4;
  std::vector<gateway_actor> subscribers;
  std::shared_ptr<spdlog::logger> log = component_logger("state");
  replica_id self{0};
  std::shared_ptr<rocksdb_storage> durable; ///< null: the state lives in memory only
  bool entries_logged = false; ///< the store logs committed entries with the safety records

  void keep_snapshot(std::uint64_t index, const digest& root, bytes data) {
    snapshot_answer a;
    a.found = true;
    a.root = root;
    a.data = std::make_shared<const bytes>(std::move(data));
    snapshots[index] = std::move(a);
    while (snapshots.size() > kept_snapshots) snapshots.erase(snapshots.begin());
  }
};

state_machine_actor::behavior_type
state_machine_fn(state_machine_actor::stateful_pointer<state_machine_state> self, replica_id id,
                 std::uint64_t checkpoint_interval, std::shared_ptr<rocksdb_storage> durable,
                 bool entries_logged) {
  self->state.self = id;
  self->state.checkpoint_interval = checkpoint_interval == 0 ? 100 : checkpoint_interval;
  self->state.durable = std::move(durable);
  self->state.entries_logged = entries_logged && self->state.durable;
  if (self->state.durable) {
    auto& st = self->state;
    auto r = recover_kv(*st.durable, st.kv);
    std::uint64_t replayed = 0;
    if (r) {
      // Entries the store logged with the engine's safety records before a crash, but that
      // the state had not committed yet: apply them now, so the state is where the engine
      // resumes (HotStuff resumes after its persisted b_exec).
      auto n = replay_logged(*st.durable, st.kv, st.checkpoint_interval);
      if (n)
        replayed = *n;
      else
        r = n.error();
    }
    if (!r) {
      st.log->critical("state cannot recover from store node={} error=\"{}\"", id.value(),
                       r.error().message());
      self->quit(caf::make_error(caf::sec::runtime_error, r.error().message()));
    } else {
      // The stored snapshot can be served to peers again (and reported to the engine).
      if (auto state = st.durable->state(); state) {
        auto snap = state->find(kv_snapshot_key);
        auto root = state->find(kv_snapshot_root_key);
        if (snap != state->end() && root != state->end() && root->second.size() == 32 &&
            snap->second.size() >= 12) {
          std::uint64_t at = 0;
          for (int i = 7; i >= 0; --i)
            at = (at << 8) | snap->second[4 + static_cast<std::size_t>(i)];
          digest kept_root{};
          std::copy(root->second.begin(), root->second.end(), kept_root.begin());
          st.keep_snapshot(at, kept_root, snap->second);
        }
      }
      st.log->info("state recovers from store node={} height={} replayed_logged={}", id.value(),
                   st.kv.applied_index(), replayed);
    }
  }
  return {
      [self](commit_atom, commit_batch& batch) -> executed_list {
        auto& st = self->state;
        executed_list out;
        for (const auto& entry : batch.entries) {
          if (entry.index <= st.kv.applied_index()) {
            // Handed out again after a restart: applied already. Its root is known if a kept
            // snapshot was taken there (the engine's checkpoint for that index needs it).
            auto kept = st.snapshots.find(entry.index);
            if (kept != st.snapshots.end())
              out.entries.push_back(executed_msg{entry.index, kept->second.root});
            continue;
          }
          if (st.durable && entry.index != st.kv.applied_index() + 1) {
            // Entries committed before a crash never reached the store: applying this one
            // would diverge. Stop applying until a state transfer installs a snapshot.
            st.log->error("state is behind the engine node={} applied={} next={}", st.self.value(),
                          st.kv.applied_index(), entry.index);
            break;
          }
          auto outcomes = st.kv.apply(entry);
          if (st.durable) {
            if (auto r = persist_applied(*st.durable, st.kv, entry, st.checkpoint_interval,
                                         st.entries_logged);
                !r) {
              st.log->critical("state stops: store failed node={} error=\"{}\"", st.self.value(),
                               r.error().message());
              self->quit(caf::make_error(caf::sec::runtime_error, r.error().message()));
              return out;
            }
          }
          // The engines need the root at checkpoint indexes only (engine.hpp, ordering
          // contract 3): the root is computed there, once for all the writes since the last.
          if (entry.index % st.checkpoint_interval == 0) {
            auto root = st.kv.state_root();
            auto snap = st.kv.snapshot();
            st.log->debug("state takes snapshot node={} index={} bytes={}", st.self.value(),
                          entry.index, snap.size());
            st.keep_snapshot(entry.index, root, std::move(snap));
            out.entries.push_back(executed_msg{entry.index, root});
          }
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
      [self](snapshot_atom, std::uint64_t index) -> snapshot_answer {
        auto& snaps = self->state.snapshots;
        auto it = snaps.find(index);
        return it == snaps.end() ? snapshot_answer{} : it->second;
      },
      [self](install_atom, install_request& req) -> install_answer {
        auto& st = self->state;
        // Restore into a fresh state first: a snapshot that does not match the certified root
        // (or the index) leaves the current state untouched.
        smr::kv_state_machine fresh;
        if (auto r = fresh.restore(req.snapshot, req.root); !r)
          return install_answer{false, "snapshot does not restore: " + r.error().message(), {}};
        if (fresh.applied_index() != req.index)
          return install_answer{false,
                                "snapshot is at index " + std::to_string(fresh.applied_index()) +
                                    ", not " + std::to_string(req.index),
                                {}};
        if (st.durable) {
          std::map<std::string, bytes> state;
          state[kv_snapshot_key] = req.snapshot;
          state[kv_snapshot_root_key] = bytes(req.root.begin(), req.root.end());
          if (auto r = st.durable->install(committed_point{req.index, req.root}, state); !r) {
            st.log->critical("state stops: store failed node={} error=\"{}\"", st.self.value(),
                             r.error().message());
            self->quit(caf::make_error(caf::sec::runtime_error, r.error().message()));
            return install_answer{false, r.error().message(), {}};
          }
          if (auto p = st.durable->prune_below(req.index + 1); !p)
            st.log->warn("state cannot prune after install node={} error=\"{}\"", st.self.value(),
                         p.error().message());
        }
        st.kv = std::move(fresh);
        st.keep_snapshot(req.index, req.root, std::move(req.snapshot));
        st.log->info("state installs snapshot node={} index={} keys={}", st.self.value(), req.index,
                     st.kv.size());
        return install_answer{true, {}, st.kv.client_seqs()};
      },
  };
}

} // namespace

state_machine_actor spawn_state_machine(caf::actor_system& sys, replica_id self,
                                        std::uint64_t checkpoint_interval,
                                        std::shared_ptr<rocksdb_storage> durable,
                                        bool entries_logged) {
  return sys.spawn(state_machine_fn, self, checkpoint_interval, std::move(durable), entries_logged);
}

} // namespace bft::actors
