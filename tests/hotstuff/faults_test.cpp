/// H22 and H23, the restart test, catch-up, and a regression test per HotStuff bug of
/// protocol-rules.md section 3.
#include <doctest/doctest.h>

#include <random>

#include "protocols/hotstuff/mutants.hpp"
#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

namespace {

/// An integer in [0, n) for n < 2^32 from the top 32 bits of one draw (multiply-shift; no
/// std distributions, whose output differs between standard libraries).
std::uint64_t below(std::mt19937_64& rng, std::uint64_t n) { return ((rng() >> 32) * n) >> 32; }

/// Every ready that carries a vote also persists a safety record covering that vote's view.
bool votes_are_covered(const std::vector<ready>& log) {
  for (const auto& r : log)
    for (const auto& v : votes_in(r)) {
      bool covered = false;
      for (const auto& p : r.persist) {
        auto rec = safety_record::decode(p.value);
        covered = covered || (p.key == safety_key && rec && rec->last_voted_view >= v.view);
      }
      if (!covered) return false;
    }
  return true;
}

/// Runs a random schedule; returns the number of entries replica 0..n-1 committed in total.
std::size_t random_schedule(std::uint64_t seed, cluster& c, std::mt19937_64& rng,
                            std::size_t steps) {
  (void)seed;
  std::vector<client_request> qs;
  for (std::uint64_t k = 1; k <= 12; ++k) qs.push_back(make_request(k, 1, c.config()));
  c.submit_all(qs);
  for (std::size_t s = 0; s < steps; ++s) {
    auto action = below(rng, 100);
    auto who = below(rng, c.size());
    if (action < 12) {
      c.step(who, ev::tick{});
    } else if (action < 13) {
      c.restart(who); // crash: memory lost, durable store kept (H23)
    } else if (!c.queue().empty()) {
      auto k = below(rng, c.queue().size()); // any message may overtake any other
      auto m = std::move(c.queue()[k]);
      c.queue().erase(c.queue().begin() + static_cast<std::ptrdiff_t>(k));
      auto fate = below(rng, 16);
      if (fate == 0) continue;               // lost
      if (fate == 1) c.queue().push_back(m); // duplicated
      c.step(m.to.value(), ev::received{m.from, std::move(m.frame)});
    }
  }
  std::size_t total = 0;
  for (std::size_t i = 0; i < c.size(); ++i) total += c.committed(i).size();
  return total;
}

} // namespace

TEST_CASE("H22: no schedule of leaders, deliveries, losses and crashes yields conflicting "
          "commits") {
  std::size_t live = 0;
  constexpr std::uint64_t seeds = 150;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    std::vector<replica_id> schedule;
    for (int v = 0; v < 40; ++v) schedule.push_back(replica_id{std::uint32_t(below(rng, 4))});
    cluster c(4, 0, 3 + below(rng, 8), schedule);
    auto total = random_schedule(seed, c, rng, 3000);
    REQUIRE(c.logs_agree());
    CHECK(c.evidence().empty()); // nobody here is Byzantine
    if (total > 0) ++live;
  }
  CHECK(live > seeds / 2); // the property is not vacuous
}

TEST_CASE("H23: the safety record goes out in ready.persist with every vote it covers") {
  for (bool mutant_on : {false, true}) {
    CAPTURE(mutant_on);
    cluster c(4, mutant_on ? static_cast<std::uint64_t>(mutant::vote_before_persist) : 0);
    c.record_logs = true;
    c.run(20);
    bool all = true;
    std::size_t votes = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      all = all && votes_are_covered(c.log(i));
      for (const auto& r : c.log(i)) votes += votes_in(r).size();
    }
    CHECK(votes > 10);
    CHECK(all != mutant_on);
  }
}

TEST_CASE("regression cometbft#6031: the persist that covers a vote precedes it in one ready") {
  // The driver contract applies ready.persist before ready.messages; this pins down that the
  // record with the vote's view is in that same ready, never only in a later one.
  cluster c(4, 0, 8, pinned(1));
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  auto r = feed(c, 3, ev::received{replica_id{1}, proposal_frame(c, *b1)});
  REQUIRE(votes_in(r).size() == 1);
  REQUIRE(r.persist.size() == 2); // the block, then the safety record
  CHECK(r.persist[0].key == block_key_prefix + to_hex(b1->hash));
  CHECK(r.persist[1].key == safety_key);
  CHECK(safety_record::decode(r.persist[1].value)->last_voted_view == view_number{1});
}

TEST_CASE("regression asonnino/hotstuff#15: a replica restarted from its records never votes "
          "twice in a view") {
  for (bool mutant_on : {false, true}) {
    CAPTURE(mutant_on);
    cluster c(4, mutant_on ? static_cast<std::uint64_t>(mutant::vote_before_persist) : 0, 8,
              pinned(1));
    auto b1 = make_block(c, *genesis_block(), view_number{1});
    auto b1x = make_block(c, *genesis_block(), view_number{1}, {}, 5); // same view, other block
    CHECK(votes_in(feed(c, 3, ev::received{replica_id{1}, proposal_frame(c, *b1)})).size() == 1);
    c.restart(3);
    if (!mutant_on) CHECK(c.at(3).status().view > view_number{1});
    auto again = votes_in(feed(c, 3, ev::received{replica_id{1}, proposal_frame(c, *b1x)}));
    CHECK(again.empty() != mutant_on);
    if (mutant_on) {
      // The double vote reaches the next leader (replica 1) as evidence.
      c.deliver_all();
      CHECK_FALSE(c.evidence().empty());
    }
  }
}

TEST_CASE("a restarted replica keeps its lock and rejoins the chain") {
  cluster c(4);
  c.run(15);
  auto before = c.at(2).safety_state();
  c.restart(2);
  CHECK(c.at(2).safety_state() == before);
  auto committed = c.committed(2).size();
  c.run(20);
  CHECK(c.committed(2).size() > committed + 5);
  CHECK(c.logs_agree());
}

TEST_CASE("all replicas crash at once and restart from their stores: the chain goes on") {
  cluster c(4, 0, 4);
  c.run(20);
  auto before = c.committed(0).size();
  REQUIRE(before > 5);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(c.store(i).size() > 1); // blocks are stored beside the safety record
    c.restart(i);
    CHECK(c.at(i).tree().contains(c.at(i).safety_state().high_qc.block));
  }
  c.queue().clear(); // messages in flight are lost too
  c.run(60);
  CHECK(c.committed(0).size() > before + 5);
  CHECK(c.logs_agree());
  // Pruned blocks leave the store as well as memory.
  for (std::size_t i = 0; i < 4; ++i) {
    std::size_t blocks = 0;
    for (const auto& [key, value] : c.store(i))
      blocks += key.rfind(block_key_prefix, 0) == 0 ? 1 : 0;
    CHECK(blocks <= c.at(i).tree().size());
  }
}

TEST_CASE("regression relab/hotstuff#24: a lagging replica stores blocks only after their "
          "parents and the cluster does not deadlock") {
  cluster c(4, 0, 3);
  c.drop = [](const net_msg& m) { return m.to == replica_id{3} || m.from == replica_id{3}; };
  c.run(40);
  CHECK(c.committed(3).empty());
  auto ahead = c.committed(0).size();
  CHECK(ahead > 3);
  c.drop = nullptr;
  c.run(60);
  CHECK(c.committed(3).size() >= ahead);
  CHECK(c.committed(0).size() > ahead + 5);
  CHECK(c.logs_agree());
  // Every stored block's parent is stored too (or is the executed root).
  const auto& t = c.at(3).tree();
  auto top = t.find(c.at(3).safety_state().high_qc.block);
  REQUIRE(top);
  CHECK(!t.path_from_root(top->hash).empty());
}

TEST_CASE("regression relab/hotstuff#244: duplicated votes neither stall QCs nor corrupt them") {
  cluster c(4);
  c.duplicate = [](const net_msg& m) {
    auto d = decode(m.frame);
    return d && d->type == msg_type::vote;
  };
  c.run(20);
  CHECK(c.committed(1).size() > 10);
  CHECK(c.logs_agree());
  qc_context ctx{c.config().chain_id, c.config().epoch, &c.config().validators, &c.verifier(),
                 false};
  CHECK(verify_qc(c.at(1).safety_state().high_qc, ctx).has_value());
  CHECK(c.evidence().empty()); // a repeated identical vote is not equivocation
}

TEST_CASE("regression relab/hotstuff#249: a Twins-style split cannot commit conflicting blocks "
          "on a gapped chain") {
  // Views 1, 2, 4, 5: the paper's rule without dummy blocks would commit b1 here.
  cluster c(4, 0, 8, pinned(1));
  std::vector<block_ptr> b{genesis_block()};
  for (std::uint64_t v : {1, 2, 4, 5}) b.push_back(make_block(c, *b.back(), view_number{v}));
  for (int k = 1; k <= 4; ++k) feed(c, 3, ev::received{replica_id{1}, proposal_frame(c, *b[k])});
  CHECK(c.committed(3).empty());
  cluster m(4, static_cast<std::uint64_t>(mutant::commit_gapped_chain), 8, pinned(1));
  for (int k = 1; k <= 4; ++k) feed(m, 3, ev::received{replica_id{1}, proposal_frame(m, *b[k])});
  CHECK_FALSE(m.committed(3).empty());
}

TEST_CASE("a crashed leader is replaced by the pacemaker and commits resume") {
  cluster c(4, 0, 4);
  c.run(6);
  auto before = c.committed(0).size();
  c.set_down(2, true);
  c.run(120);
  CHECK(c.committed(0).size() > before + 5);
  CHECK(c.logs_agree());
}

TEST_CASE("memory stays bounded by the uncommitted chain plus a window of executed blocks") {
  cluster c(4);
  c.run(100);
  REQUIRE(c.committed(0).size() > 60);
  for (std::size_t i = 0; i < 4; ++i) CHECK(c.at(i).tree().size() <= c.at(i).keep_executed() + 8);
}

TEST_CASE("a replica far behind fetches blocks, then state-transfers past pruned ones") {
  cluster c(4, 0, 2);
  c.set_down(3, true);
  c.run(150); // peers prune below their executed root minus a small window
  REQUIRE(c.committed(0).size() > 50);
  c.set_down(3, false);
  c.run(80);
  REQUIRE_FALSE(c.transfers().empty());
  CHECK(c.transfers().front().first == 3u);
  auto idx = c.transfers().front().second;
  CHECK(idx > 0);
  REQUIRE_FALSE(c.committed(3).empty());
  CHECK(c.committed(3).front().index == idx + 1); // continues right after the snapshot
  CHECK(c.committed(3).back().index + 6 >= c.committed(0).back().index);
  CHECK(c.logs_agree());
}
