/// The engine fixes of protocols/sim/FINDINGS.md F4 (liveness with one Byzantine replica after
/// a long fault period), each shown on a small cluster; the halving of the backoff on a timeout
/// certificate is in rules_test.cpp (H21).
#include <doctest/doctest.h>

#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

namespace {

sign_context ctx_of(const cluster& c) { return {c.config().chain_id, c.config().epoch}; }

/// The new-views in `r` addressed to `to`.
std::vector<new_view> new_views_to(const ready& r, replica_id to) {
  std::vector<new_view> out;
  for (const auto& m : r.messages) {
    if (!m.to || *m.to != to) continue;
    auto d = decode(m.frame);
    if (d && d->type == msg_type::new_view) out.push_back(std::get<new_view>(d->msg));
  }
  return out;
}

} // namespace

TEST_CASE("F4: a replica answers a new-view from a lagging peer with its own view, once") {
  cluster c(4);
  c.run(40); // empty blocks keep the views moving
  auto& r0 = c.at(0);
  const auto v = r0.status().view;
  REQUIRE(v > view_number{3});
  // Replica 3 asks for view 2: it is behind.
  new_view behind{view_number{2}, replica_id{3}, genesis_qc(), {}};
  const auto frame = encode_new_view(behind, c.signer(3), ctx_of(c));
  auto first = r0.step(ev::received{replica_id{3}, frame});
  auto told = new_views_to(first, replica_id{3});
  REQUIRE(told.size() == 1);
  CHECK(told[0].view == v);
  CHECK(told[0].sender == replica_id{0});
  CHECK(told[0].high_qc == r0.safety_state().high_qc);
  // The same request again, in the same view: no second answer (no storm).
  auto again = r0.step(ev::received{replica_id{3}, frame});
  CHECK(new_views_to(again, replica_id{3}).empty());
  // A peer in step (asking for the next view) gets no answer.
  new_view ahead{v.next(), replica_id{2}, r0.safety_state().high_qc, {}};
  auto r = r0.step(ev::received{replica_id{2}, encode_new_view(ahead, c.signer(2), ctx_of(c))});
  CHECK(new_views_to(r, replica_id{2}).empty());
}

TEST_CASE("F4: a copy of a verified QC with a corrupted signature is refused, not cached") {
  cluster c(4);
  c.run(40);
  auto& r0 = c.at(0);
  auto qc = r0.safety_state().high_qc;
  REQUIRE(!qc.sigs.empty()); // a real QC, verified (or formed) by replica 0
  auto bad = qc;
  bad.sigs.back().sig[7] ^= 0x5a;
  new_view m{r0.status().view.next(), replica_id{1}, bad, {}};
  c.rejected().clear();
  c.step(0, ev::received{replica_id{1}, encode_new_view(m, c.signer(1), ctx_of(c))});
  bool refused = false;
  for (const auto& x : c.rejected())
    if (x.reason.find("new-view QC") != std::string::npos) refused = true;
  CHECK(refused);
  // The genuine QC still passes.
  new_view good{r0.status().view.next(), replica_id{1}, qc, {}};
  c.rejected().clear();
  c.step(0, ev::received{replica_id{1}, encode_new_view(good, c.signer(1), ctx_of(c))});
  for (const auto& x : c.rejected()) CHECK(x.reason.find("new-view QC") == std::string::npos);
}

TEST_CASE("F4: a replica answers a new-view for its own current view, once per peer and view, "
          "so a laggard that missed the quorum's new-views catches up at once") {
  cluster c(4);
  c.set_down(3, true); // replica 3 misses everything, the new-views of the quorum included
  c.run(40);
  const auto v = c.at(0).status().view;
  REQUIRE(c.at(1).status().view == v);
  REQUIRE(c.at(2).status().view == v);
  REQUIRE(c.at(3).status().view < v);
  c.set_down(3, false);
  // Replica 3 asks for exactly the view the others are in: nobody else sends new-views for a
  // view it is already in, so only the answer to this request can bring replica 3 there.
  new_view ask{v, replica_id{3}, genesis_qc(), {}};
  const auto frame = encode_new_view(ask, c.signer(3), ctx_of(c));
  std::vector<new_view> answers;
  for (std::size_t i = 0; i < 3; ++i) {
    auto r = c.at(i).step(ev::received{replica_id{3}, frame});
    auto told = new_views_to(r, replica_id{3});
    REQUIRE(told.size() == 1);
    CHECK(told[0].view == v);
    CHECK(told[0].sender == replica_id{static_cast<std::uint32_t>(i)});
    answers.push_back(told[0]);
    // Once per peer and view: the same request again gets no second answer.
    CHECK(new_views_to(c.at(i).step(ev::received{replica_id{3}, frame}), replica_id{3}).empty());
  }
  // The three answers are a quorum for view v: replica 3 catches up at once, with no tick.
  const auto before = c.at(3).status().view;
  for (const auto& a : answers)
    c.step(3, ev::received{a.sender, encode_new_view(a, c.signer(a.sender.value()), ctx_of(c))});
  CHECK(before < v);
  CHECK(c.at(3).status().view >= v);
}
