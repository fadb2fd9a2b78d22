// The validator monitor actor: per-validator liveness, message counts, signature failures,
// evidence; the health report.
#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto active_window = std::chrono::seconds(5);

struct validator_record {
  clock_type::time_point last_seen{};
  bool seen = false;
  std::uint64_t messages = 0;
  std::uint64_t signature_failures = 0;
  std::uint64_t evidence = 0;
  std::uint64_t link_anomalies = 0; ///< suspicion from the link checks (secure transport)
};

/// State of the monitor: one record per validator of the set. Owned by the actor.
struct monitor_state {
  static inline const char* name = "bft.monitor";
  identity id;
  std::map<replica_id, validator_record> records;
  std::unique_ptr<monitor_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("monitor");
  rate_limiter limiter{std::chrono::seconds(10)};

  health_report report() {
    health_report h;
    auto now = clock_type::now();
    for (const auto& v : id.validators.members()) {
      auto& r = records[v.id];
      validator_health line;
      line.id = v.id;
      line.active = v.id == id.self || (r.seen && now - r.last_seen < active_window);
      line.messages = r.messages;
      line.signature_failures = r.signature_failures;
      line.evidence = r.evidence;
      if (line.active) ++h.active;
      if (r.evidence > 0) ++h.byzantine;
      h.validators.push_back(line);
    }
    h.total = static_cast<std::uint32_t>(id.validators.size());
    if (probe) probe->on_health(h.active, h.byzantine);
    return h;
  }
};

monitor_actor::behavior_type monitor_fn(monitor_actor::stateful_pointer<monitor_state> self,
                                        identity id) {
  self->state.id = std::move(id);
  if (self->state.id.probes != nullptr)
    self->state.probe =
        std::make_unique<monitor_probe>(*self->state.id.probes, self->state.id.self);
  return {
      [self](observe_atom, observations& obs) {
        auto& st = self->state;
        auto now = clock_type::now();
        for (const auto& p : obs.peers) {
          if (!st.id.validators.contains(p.peer)) continue;
          auto& r = st.records[p.peer];
          if (p.messages > 0) {
            r.seen = true;
            r.last_seen = now;
          }
          r.messages += p.messages;
          r.signature_failures += p.signature_failures;
          if (p.link_anomalies > 0) {
            r.link_anomalies += p.link_anomalies;
            std::uint64_t held = 0;
            if (st.limiter.allow("link/" + std::to_string(p.peer.value()), held))
              st.log->warn("monitor notes link anomalies node={} peer={} total={} (sequence or "
                           "clock checks: suspicion only)",
                           st.id.self.value(), p.peer.value(), r.link_anomalies);
          }
        }
        st.report();
      },
      [self](evidence_atom, evidence_report& e) {
        auto& st = self->state;
        if (!st.id.validators.contains(e.ev.culprit)) return;
        auto& r = st.records[e.ev.culprit];
        ++r.evidence;
        st.log->warn("monitor records evidence node={} culprit={} count={}", st.id.self.value(),
                     e.ev.culprit.value(), r.evidence);
        st.report();
      },
      [self](health_atom) -> health_report { return self->state.report(); },
  };
}

} // namespace

monitor_actor spawn_monitor(caf::actor_system& sys, identity id) {
  return sys.spawn(monitor_fn, std::move(id));
}

} // namespace bft::actors
