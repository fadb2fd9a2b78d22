// The `--pause` fault (options::pause): honest replicas frozen like a process under SIGSTOP
// (no ticks, inbox held) while the others go on, then resumed with their backlog. K7 holds
// only if a paused replica gets back into the others' view and height after stabilisation
// (PBFT rule P31, protocols/pbft/README.md). Kept apart from engines_test.cpp.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "protocols/sim/campaign.hpp"

using namespace bft::sim;

namespace {

options base(const char* protocol, std::size_t byzantine) {
  auto p = find_protocol(protocol);
  REQUIRE_MESSAGE(p.has_value(), protocol << " is not linked into bft_sim");
  options o;
  o.protocol = *p;
  o.faults = fault_mode::all;
  o.byzantine = byzantine;
  o.pause = true;
  return o;
}

void pause_campaign(const char* protocol, std::size_t byzantine, std::uint64_t seeds) {
  auto o = base(protocol, byzantine);
  auto res = run_campaign(o, 1, seeds, [](const options& fo, const seed_result& r) {
    std::printf("FAIL %s: %s | replay: %s\n", r.violations.front().checker.c_str(),
                r.violations.front().detail.c_str(), replay_command(fo).c_str());
  });
  std::printf("%s pause campaign byzantine=%zu: %llu passed, %llu failed\n  coverage: %s\n",
              protocol, byzantine, static_cast<unsigned long long>(res.passed),
              static_cast<unsigned long long>(res.failed), res.cov.to_string().c_str());
  CHECK(res.failed == 0);
  CHECK(res.passed == seeds);
  CHECK(res.saw_view_changes());
}

void pause_replays(const char* protocol) {
  auto o = base(protocol, 1);
  o.seed = 7;
  auto a = run_seed(o);
  auto b = run_seed(o);
  CHECK(a.trace_hash == b.trace_hash); // K9
  CHECK(replay_command(o).find(" --pause") != std::string::npos);
  o.pause = false;
  CHECK(run_seed(o).trace_hash != a.trace_hash); // the pause changes the run
}

} // namespace

TEST_CASE("pbft: a replica paused for 3-8 timeouts (often the primary) catches up: 400 seeds "
          "with --pause and all faults keep K1-K9") {
  pause_campaign("pbft", 0, 200);
  pause_campaign("pbft", 1, 200);
}
TEST_CASE("hotstuff: a replica paused for 3-8 timeouts (often the leader) catches up: 400 "
          "seeds with --pause and all faults keep K1-K9") {
  pause_campaign("hotstuff", 0, 200);
  pause_campaign("hotstuff", 1, 200);
}
TEST_CASE("pbft: a --pause seed replays with the same trace hash and differs from the seed "
          "without it") {
  pause_replays("pbft");
}
TEST_CASE("hotstuff: a --pause seed replays with the same trace hash and differs from the seed "
          "without it") {
  pause_replays("hotstuff");
}
