// Actor-system options every bft process uses.
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/spawn.hpp"

namespace bft::actors {

void register_types(caf::actor_system_config& cfg) { cfg.add_message_type<frame>(frame_type_name); }

void configure(caf::actor_system_config& cfg, std::size_t threads) {
  using namespace std::chrono_literals;
  // Frames, blocks and batches of 512-byte transactions are hundreds of KiB. glibc served
  // each such buffer with a fresh mmap (or trimmed its arenas right after freeing one), so
  // every buffer was paid for again in page faults: about a sixth of the CPU of
  // `bft bench --tx-size 512` (issue 8). Keep buffers up to 32 MiB (more than a frame's
  // limit) in the arenas and return free memory only above 256 MiB of slack.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  register_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", std::max<std::size_t>(1, threads));
  cfg.set("scheduler.max-throughput", 300);
  // An idle worker first polls its queue, then sleeps 50 us between polls 500 times (25 ms),
  // and only then waits on a condition variable that new work signals. With a 1 ms engine
  // tick the workers never got that far: they spent most of the CPU in 50 us nanosleeps
  // (perf of a `bft node` under load: ~45% of its samples). A few polls, then the wait.
  cfg.set("work-stealing.aggressive-poll-attempts", 20);
  cfg.set("work-stealing.moderate-poll-attempts", 2);
  cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{50us});
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
