// Actor-system options every bft process uses.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/spawn.hpp"

namespace bft::actors {

void register_types(caf::actor_system_config& cfg) { cfg.add_message_type<frame>(frame_type_name); }

void configure(caf::actor_system_config& cfg) {
  using namespace std::chrono_literals;
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.max-throughput", 300);
  cfg.set("middleman.heartbeat-interval", caf::timespan{200ms});
  cfg.set("middleman.connection-timeout", caf::timespan{2s});
  cfg.set("middleman.app-identifiers", std::vector<std::string>{"bft/1"});
  cfg.set("middleman.workers", 0);
}

void shutdown_deadline(int status) {
  std::thread([status] {
    std::this_thread::sleep_for(std::chrono::seconds(10));
    std::fprintf(stderr, "bft: actors did not stop within 10 s; exiting\n");
    std::fflush(stderr);
    std::_Exit(status);
  }).detach();
}

} // namespace bft::actors
