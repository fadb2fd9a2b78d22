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

TEST_CASE("Twins: 3 rounds decode the enumeration, more rounds sample partitions and leaders") {
  options o = toy_options();
  o.twins_scenario = 0;
  CHECK(twins_plan(o) == std::vector<twins_round>{{1, 0, {}}, {1, 0, {}}, {1, 0, {}}});
  o.twins_scenario = 1 + 2 * 15 + 14 * 225; // the base-15 digits of the enumeration
  CHECK(twins_plan(o) == std::vector<twins_round>{{2, 0, {}}, {3, 0, {}}, {15, 0, {}}});
  o.twins_rounds = 7;
  std::set<std::uint32_t> partitions, leaders;
  std::set<std::string> plans;
  for (std::uint32_t s = 0; s < 200; ++s) {
    o.twins_scenario = s;
    const auto plan = twins_plan(o);
    REQUIRE(plan.size() == 7);
    CHECK(plan == twins_plan(o)); // drawn from the scenario number alone
    for (const auto& r : plan) {
      CHECK(r.partition >= 1);
      CHECK(r.partition <= twins_partitions);
      CHECK(r.leader <= 3);
      partitions.insert(r.partition);
      leaders.insert(r.leader);
    }
    plans.insert(to_string(plan));
  }
  CHECK(partitions.size() == twins_partitions); // every partition is drawn
  CHECK(leaders.size() == 4);                   // the twins and each honest replica lead
  CHECK(plans.size() == 200);
  o.twins_scenario = 9;
  CHECK(replay_command(o).find("--twins --rounds 7 --scenario 9") != std::string::npos);
  o.twins_schedule = twins_plan(o);
  CHECK(twins_plan(o) == o.twins_schedule); // an explicit schedule is run as given
  CHECK(replay_command(o).find("--schedule " + to_string(o.twins_schedule)) != std::string::npos);
}

TEST_CASE("Twins: sampled rules draw partitions, leaders and delivery rules per round, and "
          "replay as the explicit schedule") {
  options o = toy_options();
  o.twins_rounds = 5;
  o.twins_scenario = 4;
  const auto without = twins_plan(o);
  o.twins_sample_rules = true;
  std::set<std::uint32_t> partitions, leaders, kinds;
  std::set<std::string> plans;
  std::size_t rules = 0;
  for (std::uint32_t s = 0; s < 200; ++s) {
    o.twins_scenario = s;
    const auto plan = twins_plan(o);
    REQUIRE(plan.size() == 5);
    CHECK(plan == twins_plan(o)); // drawn from the scenario number alone
    for (const auto& r : plan) {
      CHECK(r.partition <= twins_partitions);
      CHECK(r.leader <= 3);
      CHECK(r.drops.size() <= twins_max_sampled_rules);
      partitions.insert(r.partition);
      leaders.insert(r.leader);
      for (const auto& d : r.drops) {
        CHECK(d.kinds != 0);
        CHECK((d.kinds & 0xf0) == 0); // proposals, votes, view changes and fetches only
        CHECK(d.from != 0);
        CHECK(d.from < 32);
        CHECK(d.to != 0);
        CHECK(d.to < 32);
        kinds.insert(d.kinds);
        ++rules;
      }
    }
    plans.insert(to_string(plan));
  }
  CHECK(partitions.size() == twins_partitions + 1); // no partition, and each of the 15
  CHECK(leaders.size() == 4);
  CHECK(kinds.size() == 15); // every non-empty set of the four kinds
  CHECK(rules > 200);        // about 1.5 per round
  CHECK(plans.size() == 200);
  // The replay command names the drawn rounds as an explicit schedule, and running that
  // schedule is the same run (the scenario number still seeds clients and delays).
  o.twins_scenario = 9;
  const auto sampled = run_seed(o);
  const auto plan = twins_plan(o);
  CHECK(replay_command(o).find("--schedule") != std::string::npos);
  CHECK(replay_command(o).find(to_string(plan)) != std::string::npos);
  options x = o;
  x.twins_sample_rules = false;
  auto parsed = parse_twins_schedule(to_string(plan));
  REQUIRE(parsed.has_value());
  x.twins_schedule = *parsed;
  CHECK(run_seed(x).trace_hash == sampled.trace_hash);
  // Without the option the sampled deep Twins plan is the one it always was.
  o.twins_sample_rules = false;
  o.twins_scenario = 4;
  CHECK(twins_plan(o) == without);
  for (const auto& r : without) CHECK(r.drops.empty());
}

TEST_CASE("Twins: a schedule parses from mask:leader items and bad text is refused") {
  auto p = parse_twins_schedule("7:0,3:2,15:1");
  REQUIRE(p.has_value());
  CHECK(*p == std::vector<twins_round>{{7, 0, {}}, {3, 2, {}}, {15, 1, {}}});
  CHECK(to_string(*p) == "7:0,3:2,15:1");
  for (const char* bad : {"",
                          "7",
                          "7:",
                          ":1",
                          "16:0",
                          "7:4",
                          "7:0,",
                          "7:0,,3:0",
                          "a:0",
                          "7:0;3:0",
                          "7:0/",
                          "7:0/p",
                          "7:0/p0",
                          "7:0/p0>",
                          "7:0/0>1",
                          "7:0/x0>1",
                          "7:0/p5>1",
                          "7:0/p0>1>2",
                          "7:0/p0>1/",
                          "7:0/p0>1,",
                          "/p0>1",
                          "1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,1:0,"
                          "1:0,1:0,1:0"})
    CHECK_MESSAGE(!parse_twins_schedule(bad).has_value(), "accepted '" << bad << "'");
}

TEST_CASE("Twins: delivery rules parse per round and print back the same") {
  auto p = parse_twins_schedule("0:0/p0>3/v123>4,5:1,0:2/*4>123/fo1>0");
  REQUIRE(p.has_value());
  REQUIRE(p->size() == 3);
  const auto& r0 = (*p)[0];
  CHECK(r0.partition == 0); // mask 0: no partition
  REQUIRE(r0.drops.size() == 2);
  CHECK(r0.drops[0] == twins_drop{0x01, 0x01, 0x08}); // proposals of twin A to replica 3
  CHECK(r0.drops[1] == twins_drop{0x02, 0x0e, 0x10}); // votes of replicas 1-3 to twin B
  CHECK((*p)[1].drops.empty());
  REQUIRE((*p)[2].drops.size() == 2);
  CHECK((*p)[2].drops[0] == twins_drop{0xff, 0x10, 0x0e});
  CHECK((*p)[2].drops[1] == twins_drop{0x88, 0x02, 0x01}); // fetches and other frames
  CHECK(to_string(*p) == "0:0/p0>3/v123>4,5:1,0:2/*4>123/fo1>0");
}

TEST_CASE("Twins: a delivery rule withholds what it names and nothing else") {
  // The toy's twins both lead and sign different batches (clients 0 and 1 reach one twin
  // each): with both heard the honest replicas disagree; a rule that withholds every frame of
  // twin B from them (before stabilisation, when B is silenced anyway) keeps them agreed,
  // and a rule on another sender or kind changes nothing.
  options o = toy_options();
  o.twins_scenario = 5;
  o.ticks = 0;
  auto run = [&](const char* schedule) {
    auto plan = parse_twins_schedule(schedule);
    REQUIRE(plan.has_value());
    o.twins_schedule = *plan;
    return run_seed(o);
  };
  const auto both = run("0:0,0:0,0:0");
  CHECK_FALSE(both.passed());
  const auto withheld = run("0:0/*4>123,0:0/*4>123,0:0/*4>123");
  CHECK(withheld.passed());
  const auto other_kind =
      run("0:0/pvnf4>123,0:0/pvnf4>123,0:0/pvnf4>123"); // toy frames are "other"
  CHECK_FALSE(other_kind.passed());
  CHECK(other_kind.trace_hash == both.trace_hash);
}
