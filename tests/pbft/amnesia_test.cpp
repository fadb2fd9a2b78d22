// The amnesia guard of PBFT (protocols/pbft/README.md "Amnesia guard"): a replica restarted
// with its record deleted signs nothing that can contradict what it signed before.
#include <doctest/doctest.h>

#include <set>
#include <tuple>

#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

namespace {

/// (phase, view, seq) of every prepare and commit replica i sent.
std::set<std::tuple<int, std::uint64_t, std::uint64_t>> votes_of(cluster& c, std::size_t i) {
  std::set<std::tuple<int, std::uint64_t, std::uint64_t>> out;
  for (const auto& m : c.sent[i]) {
    auto t = frame_type(m.frame);
    if (t != msg_type::prepare && t != msg_type::commit) continue;
    auto v = decode_vote(m.frame);
    REQUIRE(v.has_value());
    out.emplace(static_cast<int>(*t), v->view.value(), v->seq.value());
  }
  return out;
}

std::size_t count_sent(cluster& c, std::size_t i, msg_type t) { return sent_of(c, i, t).size(); }

/// Installs the snapshots replica i asked for (the harness only records the requests).
void install_transfers(cluster& c, std::size_t i) {
  auto asked = std::move(c.transfers[i]);
  c.transfers[i].clear();
  for (const auto& t : asked)
    for (auto src : t.sources) {
      auto it = c.root_at[src.value()].find(t.index);
      if (it == c.root_at[src.value()].end() || it->second != t.state_root) continue;
      c.roots[i] = it->second;
      c.root_at[i][t.index] = it->second;
      c.step(i, ev::state_installed{t.index, t.state_root, {}});
      break;
    }
}

/// Commits `count` requests one by one through the primary of the current view.
void commit_requests(cluster& c, client& cl, std::size_t count, std::size_t watch) {
  for (std::size_t k = 0; k < count; ++k) {
    auto before = c.r(watch).last_executed();
    auto p = c.r(watch).primary().value();
    INFO("request " << k << " watch " << watch << " view " << c.r(watch).view().value()
                    << " executed " << c.r(watch).last_executed() << " h "
                    << c.r(watch).low_watermark());
    c.submit(p, {cl.request()});
    REQUIRE(c.run_until(
        [&] {
          install_transfers(c, watch);
          return c.r(watch).last_executed() > before;
        },
        400));
  }
}

/// Wipes replica i's store and restarts it with engine_config::recovering (nonce `nonce`).
void wipe(cluster& c, std::size_t i, std::uint64_t nonce) {
  c.stores[i].clear();
  c.configure = [i, nonce](engine_config& cfg) {
    if (cfg.self.value() == i) {
      cfg.recovering = true;
      cfg.recovery_nonce = nonce;
    }
  };
  c.sent[i].clear();
  c.restart(i);
}

bool accused(cluster& c, std::size_t culprit) {
  for (const auto& [who, evs] : c.evidence)
    for (const auto& e : evs)
      if (e.culprit.value() == culprit) return true;
  return false;
}

} // namespace

TEST_CASE("amnesia guard (PBFT): a wiped replica signs no prepare or commit for a slot it may "
          "have signed, and resumes after the bound") {
  cluster c(4, 4); // K = 4, window 8
  client cl(7);
  commit_requests(c, cl, 6, 0);
  REQUIRE(c.run_until([&] { return c.committed[3].size() >= 6; }));
  const auto before = votes_of(c, 3);
  REQUIRE_FALSE(before.empty());
  std::uint64_t max_seq = 0, max_view = 0;
  for (const auto& [ph, v, n] : before) {
    max_seq = std::max(max_seq, n);
    max_view = std::max(max_view, v);
  }

  wipe(c, 3, 0x5eed);
  c.deliver_all();
  // The bound is learned from the other three (2f+1 peers) and covers what it signed.
  REQUIRE(c.run_until([&] { return c.r(3).guard() && c.r(3).guard()->learned; }, 50));
  const auto g = *c.r(3).guard();
  CHECK(max_view <= g.view_bound);
  CHECK(max_seq <= g.index_bound + 2 * 4);
  CHECK(c.r(3).guarded());

  // The cluster goes on without it; it follows.
  commit_requests(c, cl, 16, 0);
  for (const auto& [ph, v, n] : votes_of(c, 3)) {
    CAPTURE(v);
    CAPTURE(n);
    CHECK((v > g.view_bound || n > g.index_bound + 2 * 4));
    CHECK(before.count({ph, v, n}) == 0);
  }
  CHECK(count_sent(c, 3, msg_type::view_change) == 0);
  CHECK(count_sent(c, 3, msg_type::new_view) == 0);
  CHECK_FALSE(accused(c, 3));
  // Past the bound (its stable checkpoint beyond every slot it could have prepared) it votes
  // again in this very view, for new sequence numbers.
  for (int k = 0; k < 40 && c.r(3).low_watermark() < g.index_bound + 8; ++k)
    commit_requests(c, cl, 1, 0);
  REQUIRE(c.r(3).low_watermark() >= g.index_bound + 8);
  commit_requests(c, cl, 2, 3);
  CHECK_FALSE(votes_of(c, 3).empty());

  // View changes (pre-prepares are lost): it joins those for views above V+1 only.
  c.filter = [](const envelope_msg& m) { return frame_type(m.frame) != msg_type::pre_prepare; };
  for (std::size_t i = 0; i < 4; ++i) c.submit(i, {cl.request()});
  REQUIRE(c.run_until([&] { return c.r(3).view().value() > g.view_bound + 2; }, 4000));
  c.filter = nullptr;
  CHECK(count_sent(c, 3, msg_type::view_change) > 0);
  for (const auto& f : sent_of(c, 3, msg_type::view_change)) {
    auto vc = decode_view_change(f);
    REQUIRE(vc.has_value());
    CHECK(vc->new_view.value() > g.view_bound + 1);
  }
  CHECK_FALSE(c.r(3).guarded());
  commit_requests(c, cl, 2, 3);
  CHECK_FALSE(accused(c, 3));
}

TEST_CASE("amnesia guard (PBFT): without 2f+1 peers' reports a recovering replica stays an "
          "observer") {
  cluster c(4, 4);
  client cl(7);
  commit_requests(c, cl, 3, 0);
  wipe(c, 3, 77);
  // Replica 2's reports never arrive: only two peers answer, fewer than 2f+1.
  c.filter = [](const envelope_msg& m) {
    return !(m.from.value() == 2 && m.to.value() == 3 && frame_type(m.frame) == std::nullopt);
  };
  commit_requests(c, cl, 6, 0);
  c.tick_all(60);
  c.deliver_all();
  REQUIRE(c.r(3).guard().has_value());
  CHECK_FALSE(c.r(3).guard()->learned);
  CHECK(votes_of(c, 3).empty());
  CHECK(count_sent(c, 3, msg_type::pre_prepare) == 0);
  CHECK(count_sent(c, 3, msg_type::view_change) == 0);
  // Replica 2 answers again: the bound is learned.
  c.filter = nullptr;
  REQUIRE(c.run_until([&] { return c.r(3).guard()->learned; }, 100));
}

TEST_CASE("amnesia guard (PBFT): a report for another nonce, or badly signed, does not count") {
  cluster c(4, 4);
  client cl(7);
  commit_requests(c, cl, 2, 0);
  wipe(c, 3, 1234);
  c.step(3, ev::tick{});
  c.pool.clear(); // the status requests are lost
  for (std::size_t peer = 0; peer < 3; ++peer) {
    // Each peer answers a request with another nonce.
    recovery::status_request q{replica_id{3}, 999};
    auto body = recovery::encode_body(replica::status_request_type, q);
    auto sig = c.signers[3]->sign(
        codec::signing_bytes("bft/pbft/status-request/v1", "test-chain", bft::epoch{0}, body));
    body.insert(body.end(), sig.begin(), sig.end());
    deliver_to(c, peer, 3, body);
  }
  c.deliver_all();
  CHECK_FALSE(c.r(3).guard()->learned);
  // A forged report (signed by the wrong key) is rejected.
  recovery::status_report rep{replica_id{1}, 1234, 0, 0, {}};
  auto body = recovery::encode_body(replica::status_report_type, rep);
  auto sig = c.signers[2]->sign(
      codec::signing_bytes("bft/pbft/status-report/v1", "test-chain", bft::epoch{0}, body));
  body.insert(body.end(), sig.begin(), sig.end());
  deliver_to(c, 3, 1, body);
  CHECK(rejected_with(c, 3, "status report"));
  CHECK_FALSE(c.r(3).guard()->learned);
}

TEST_CASE("amnesia guard (PBFT): the guard is persisted first and survives a crash during "
          "recovery") {
  cluster c(4, 4);
  client cl(7);
  commit_requests(c, cl, 2, 0);
  wipe(c, 3, 5);
  c.step(3, ev::tick{});
  REQUIRE(c.stores[3].count("pbft/guard") == 1);
  // It crashes again before learning anything; the driver no longer says "recovering" (the
  // store is not empty), but the persisted guard holds.
  c.configure = nullptr;
  c.restart(3);
  CHECK(c.r(3).guarded());
  c.pool.clear();
  commit_requests(c, cl, 2, 0);
  CHECK(c.r(3).guarded());
}

TEST_CASE("amnesia guard (PBFT): a brand-new cluster starts because its first start is not "
          "marked recovering") {
  cluster c(4, 4);
  client cl(7);
  commit_requests(c, cl, 2, 3);
  for (std::size_t i = 0; i < 4; ++i) CHECK_FALSE(c.r(i).guarded());
  // Were every empty replica marked recovering, nobody could answer: no replica holds a
  // record, so nothing would ever commit. That is why `bft init` marks a first start.
  cluster all(4, 4);
  all.configure = [](engine_config& cfg) {
    cfg.recovering = true;
    cfg.recovery_nonce = 1 + cfg.self.value();
  };
  for (std::size_t i = 0; i < 4; ++i) all.restart(i);
  all.submit(0, {cl.request()});
  all.run_until([&] { return !all.committed[0].empty(); }, 200);
  CHECK(all.committed[0].empty());
  for (std::size_t i = 0; i < 4; ++i) CHECK(all.r(i).guarded());
}
