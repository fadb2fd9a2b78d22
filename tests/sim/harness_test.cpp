// Tests of the simulator itself, on a toy engine (tests/sim/toy_engine.hpp), so the harness
// is checked independently of the PBFT and HotStuff engines.
#include <doctest/doctest.h>

#include <set>

#include "crypto/fake_signer.hpp"
#include "protocols/sim/app.hpp"
#include "protocols/sim/campaign.hpp"
#include "protocols/sim/rng.hpp"
#include "tests/sim/toy_engine.hpp"

using namespace bft;
using namespace bft::sim;

namespace {
options toy_options(fault_mode f = fault_mode::none) {
  options o;
  o.protocol = toy::spec();
  o.replicas = 4;
  o.faults = f;
  o.ticks = 200;
  return o;
}

client_request request(std::uint64_t client, std::uint64_t seq) {
  client_request r;
  r.client = crypto::fake_public_key(client);
  r.client_seq = seq;
  r.txs = {bytes{1, 2, 3}};
  return r;
}
} // namespace

TEST_CASE("the generator is deterministic per seed and its bounded draws stay in range") {
  rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    CHECK(x == b.next());
    differs = differs || x != c.next();
  }
  CHECK(differs);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto v = a.below(7);
    CHECK(v < 7);
    seen.insert(v);
    const auto w = a.between(3, 5);
    CHECK(w >= 3);
    CHECK(w <= 5);
  }
  CHECK(seen.size() == 7);
  CHECK(a.below(0) == 0);
  CHECK(a.below(1) == 0);
}

TEST_CASE("the application executes each client sequence number once and snapshots verify") {
  application app(2);
  committed_entry e1{1, {}, {request(1, 1), request(2, 1)}};
  auto r1 = app.apply(e1);
  CHECK(r1.executed.size() == 2);
  committed_entry e2{2, {}, {request(1, 1), request(1, 2)}}; // (1,1) is a replay
  auto r2 = app.apply(e2);
  CHECK(r2.executed.size() == 1);
  CHECK(r2.skipped == 1);
  const auto* snap = app.snapshot_at(2);
  REQUIRE(snap != nullptr);
  CHECK(snap->root() == app.root());
  CHECK(app.snapshot_at(1) == nullptr);

  application other(2);
  other.install(*snap);
  CHECK(other.applied() == 2);
  CHECK(other.root() == app.root());
  auto tampered = *snap;
  tampered.last_seq.begin()->second += 1;
  CHECK(tampered.root() != snap->root());
}

TEST_CASE("a toy leader-broadcast engine passes the checkers without faults") {
  auto res = run_campaign(toy_options(), 1, 20);
  CHECK(res.failed == 0);
  CHECK(res.passed == 20);
  CHECK(res.cov.commits > 0);
  CHECK(res.cov.requests > 0);
}

TEST_CASE("K9: the same seed gives the same trace hash, another seed another one") {
  auto o = toy_options(fault_mode::network);
  o.seed = 7;
  const auto a = run_seed(o);
  const auto b = run_seed(o);
  CHECK(a.trace_hash == b.trace_hash);
  o.seed = 8;
  CHECK(run_seed(o).trace_hash != a.trace_hash);
}

TEST_CASE("positive control: an equivocating toy leader is caught by K4 or K1") {
  auto o = toy_options();
  o.mutant = "equivocate";
  o.mutant_bits = toy::mutant_equivocate;
  std::set<std::string> checkers;
  auto res = run_campaign(o, 1, 10, [&](const options&, const seed_result& r) {
    checkers.insert(r.violations.front().checker);
  });
  CHECK(res.failed == 10);
  CHECK(checkers.count("K4") == 1);
}

TEST_CASE("positive control: a toy without fault tolerance fails K7 under network faults") {
  auto res = run_campaign(toy_options(fault_mode::network), 1, 30);
  CHECK(res.failed > 0);
}

TEST_CASE("positive control: a Byzantine toy leader beyond f breaks agreement") {
  auto o = toy_options();
  o.byzantine = 2; // > f = 1
  std::set<std::string> checkers;
  auto res = run_campaign(o, 1, 40, [&](const options&, const seed_result& r) {
    checkers.insert(r.violations.front().checker);
  });
  CHECK(res.failed > 0);
  CHECK(checkers.count("K1") + checkers.count("K3") + checkers.count("K6") > 0);
}

TEST_CASE("a failing seed names the command that replays it") {
  auto o = toy_options(fault_mode::all);
  o.seed = 12;
  o.byzantine = 2;
  o.mutant = "equivocate";
  CHECK(replay_command(o) == "bft sim --protocol toy --replicas 4 --seed 12 --faults all "
                             "--byzantine 2 --ticks 200 --mutant equivocate");
  o.twins_scenario = 99;
  CHECK(replay_command(o) ==
        "bft sim --protocol toy --twins --scenario 99 --ticks 200 --mutant equivocate");
}
