// The rows of protocols/pbft/README.md "What a replica signs" that the restart tests of
// known_bugs_test.cpp do not cover: a new primary that crashes right after sending its
// new-view, and a replica that crashes right after signing a checkpoint. Each restarts from
// its records and must not sign a conflicting statement for the same slot.
#include <doctest/doctest.h>

#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

TEST_CASE("new-view row: a new primary restarted right after its new-view sends the same one "
          "again, never another for that view") {
  cluster c(4);
  client cl(7);
  // Every backup times out on a request the primary (0) never orders: view 1, primary 1.
  c.up[0] = false;
  for (std::size_t i = 1; i < 4; ++i) c.submit(i, {cl.request()});
  REQUIRE(c.run_until([&] { return !sent_of(c, 1, msg_type::new_view).empty(); }, 200));
  auto first = sent_of(c, 1, msg_type::new_view);
  REQUIRE(first.size() == 1);
  REQUIRE(c.stores[1].count("pbft/nv") == 1); // persisted in the ready that sent it
  c.pool.clear();                             // lost with the crash
  c.restart(1);
  CHECK(c.r(1).view() == view_number{1});
  CHECK_FALSE(c.r(1).view_changing());
  // Late view-changes for view 1 arrive again; the primary may answer, only with the same frame.
  c.tick_all(40);
  c.deliver_all();
  for (const auto& f : sent_of(c, 1, msg_type::new_view)) {
    auto nv = decode_new_view(f);
    REQUIRE(nv);
    if (nv->view == view_number{1}) CHECK(f == first[0]);
  }
  for (std::size_t i = 1; i < 4; ++i) CHECK(c.evidence[i].empty());
}

TEST_CASE("checkpoint row: a replica restarted right after signing a checkpoint signs the same "
          "state digest for that sequence number again") {
  cluster c(4, 2);
  client cl(7);
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.submit(0, {cl.request()});
  c.deliver_all();
  auto before = sent_of(c, 2, msg_type::checkpoint);
  REQUIRE_FALSE(before.empty());
  const auto first = decode_checkpoint(before.front());
  REQUIRE(first);
  c.restart(2);
  c.tick_all(60);
  c.deliver_all();
  for (const auto& f : sent_of(c, 2, msg_type::checkpoint)) {
    auto cp = decode_checkpoint(f);
    REQUIRE(cp);
    if (cp->seq == first->seq) CHECK(cp->state == first->state);
  }
  for (std::size_t i = 0; i < 4; ++i) CHECK(c.evidence[i].empty());
}

TEST_CASE("a corrupt stored record stops the engine with an error naming it (both engines "
          "follow one policy, engine.hpp)") {
  cluster c(4);
  client cl(7);
  c.submit(0, {cl.request()});
  c.deliver_all();
  for (const char* key : {"pbft/view", "pbft/stable"}) {
    CAPTURE(key);
    auto damaged = c.stores[1];
    damaged[key] = bytes{0x01}; // truncated
    try {
      replica r(make_config(4, 1), *c.signers[1], c.verifier, damaged);
      FAIL("a corrupt record was accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find(key) != std::string::npos);
    }
  }
}
