// The amnesia guard of HotStuff (protocols/hotstuff/README.md "Amnesia guard"): a replica
// restarted with its record deleted never votes or proposes in a view it may have signed in.
#include <doctest/doctest.h>

#include <set>

#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

namespace {

/// Views of the votes (or proposals) replica i sent in its recorded readies.
std::vector<std::uint64_t> sent_views(cluster& c, std::size_t i, msg_type t) {
  std::vector<std::uint64_t> out;
  for (const auto& r : c.log(i))
    for (const auto& m : r.messages) {
      auto d = decode(m.frame);
      if (!d || d->type != t) continue;
      if (t == msg_type::vote) out.push_back(std::get<vote>(d->msg).view.value());
      if (t == msg_type::proposal) out.push_back(std::get<proposal>(d->msg).blk->view.value());
      if (t == msg_type::new_view) out.push_back(std::get<new_view>(d->msg).view.value());
    }
  return out;
}

/// Deletes replica i's store and restarts it; `guard` sets engine_config::recovering.
void wipe(cluster& c, std::size_t i, bool guard, std::uint64_t nonce = 0x5eed) {
  c.configure = [i, guard, nonce](engine_config& cfg) {
    if (cfg.self.value() == i) {
      cfg.recovering = guard;
      cfg.recovery_nonce = nonce;
    }
  };
  c.log(i).clear();
  c.wipe_and_restart(i);
}

bool accused(cluster& c, std::size_t culprit) {
  for (const auto& e : c.evidence())
    if (e.culprit.value() == culprit) return true;
  return false;
}

bool is_report_to(const net_msg& m, std::size_t to) {
  auto env = codec::peek_envelope(m.frame);
  return m.to.value() == to && env && env->type == replica::status_report_type;
}

} // namespace

TEST_CASE("amnesia guard (HotStuff): a wiped replica never votes again in a view it voted in; "
          "without the guard it does") {
  for (bool guard : {true, false}) {
    CAPTURE(guard);
    cluster c(4, 0, 8, pinned(1, 8));
    auto b1 = make_block(c, *genesis_block(), view_number{1});
    auto b1x = make_block(c, *genesis_block(), view_number{1}, {}, 5); // same view, other block
    c.record_logs = true;
    propose_to(c, 3, *b1);
    REQUIRE(sent_views(c, 3, msg_type::vote) == std::vector<std::uint64_t>{1});
    wipe(c, 3, guard);
    c.queue().clear(); // nobody answers yet
    propose_to(c, 3, *b1x);
    auto again = sent_views(c, 3, msg_type::vote);
    CHECK(again.empty() == guard);
    if (guard) CHECK(c.at(3).guarded());
  }
}

TEST_CASE("amnesia guard (HotStuff): the bound comes from 2f+1 peers, covers every view it "
          "voted in, and it votes again only above V+1") {
  cluster c(4);
  c.record_logs = true;
  std::vector<client_request> qs;
  for (std::uint64_t k = 1; k <= 6; ++k) qs.push_back(make_request(1, k, c.config()));
  c.submit_all(qs);
  c.run(30);
  auto before = sent_views(c, 3, msg_type::vote);
  REQUIRE_FALSE(before.empty());
  const auto max_voted = *std::max_element(before.begin(), before.end());

  wipe(c, 3, true);
  const auto committed_before = c.committed(0).size();
  c.run(3);
  REQUIRE(c.at(3).guard().has_value());
  REQUIRE(c.at(3).guard()->learned);
  const auto v_bound = c.at(3).guard()->view_bound;
  CHECK(max_voted <= v_bound + 1); // the quorum-intersection claim

  std::vector<client_request> more;
  for (std::uint64_t k = 7; k <= 12; ++k) more.push_back(make_request(1, k, c.config()));
  c.submit_all(more);
  c.run(60);
  auto after = sent_views(c, 3, msg_type::vote);
  for (auto v : after) CHECK(v > v_bound + 1);
  for (auto v : sent_views(c, 3, msg_type::proposal)) CHECK(v > v_bound + 1);
  CHECK_FALSE(after.empty()); // it resumed
  CHECK_FALSE(c.at(3).guarded());
  CHECK(c.committed(0).size() > committed_before);
  CHECK_FALSE(accused(c, 3));
  CHECK(c.logs_agree());
}

TEST_CASE("amnesia guard (HotStuff): with reports from fewer than 2f+1 peers it stays an "
          "observer: no vote, proposal or new-view") {
  cluster c(4);
  c.submit_all({make_request(1, 1, c.config())});
  c.run(20);
  wipe(c, 3, true);
  c.record_logs = true;
  c.drop = [](const net_msg& m) { return m.from.value() == 2 && is_report_to(m, 3); };
  c.submit_all({make_request(1, 2, c.config()), make_request(1, 3, c.config())});
  c.run(80);
  REQUIRE(c.at(3).guard().has_value());
  CHECK_FALSE(c.at(3).guard()->learned);
  CHECK(sent_views(c, 3, msg_type::vote).empty());
  CHECK(sent_views(c, 3, msg_type::proposal).empty());
  CHECK(sent_views(c, 3, msg_type::new_view).empty());
  // Replica 2 answers again: it learns, then votes.
  c.drop = nullptr;
  c.submit_all({make_request(1, 4, c.config())});
  c.run(60);
  CHECK(c.at(3).guard()->learned);
  CHECK_FALSE(sent_views(c, 3, msg_type::vote).empty());
}

TEST_CASE("amnesia guard (HotStuff): the guard is persisted first and survives a crash during "
          "recovery") {
  cluster c(4);
  c.run(10);
  wipe(c, 3, true);
  auto r = c.at(3).step(ev::tick{});
  REQUIRE_FALSE(r.persist.empty());
  CHECK(r.persist.front().key == "hotstuff/guard");
  c.apply(3, std::move(r));
  c.configure = nullptr; // the store is not empty any more: the driver says nothing
  c.queue().clear();
  c.restart(3);
  CHECK(c.at(3).guarded());
}

TEST_CASE("amnesia guard (HotStuff): a brand-new cluster starts because its first start is "
          "not marked recovering") {
  cluster fresh(4);
  fresh.submit_all({make_request(1, 1, fresh.config())});
  fresh.run(30);
  CHECK_FALSE(fresh.committed(0).empty());
  // Every replica marked recovering with nothing stored: nobody can answer, nothing commits.
  cluster all(4);
  all.configure = [](engine_config& cfg) {
    cfg.recovering = true;
    cfg.recovery_nonce = 1 + cfg.self.value();
  };
  for (std::size_t i = 0; i < 4; ++i) all.restart(i);
  all.submit_all({make_request(1, 1, all.config())});
  all.run(30);
  CHECK(all.committed(0).empty());
  for (std::size_t i = 0; i < 4; ++i) CHECK(all.at(i).guarded());
}
