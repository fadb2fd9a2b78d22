// Rule P31 (protocols/pbft/README.md, "Where are the others"): before starting or escalating a
// view change on its timer a replica learns where its peers are, and catches up instead of
// moving on alone when they are in its view and ahead, or in the view it is changing to.
#include <doctest/doctest.h>

#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

TEST_CASE("P31: a replica behind in its view whose timer expires catches up from its peers' "
          "answers instead of starting a view change alone") {
  for_each_size({4, 7}, 10, [&](std::size_t n, cluster& c, client& cl) {
    const std::size_t lag = n - 1;
    auto r = cl.request();
    c.filter = [&](const envelope_msg& m) { return m.to.value() != lag; };
    c.submit(0, {r});
    c.deliver_all();
    REQUIRE(c.committed[0].size() == 1);
    REQUIRE(c.committed[lag].empty());
    c.filter = nullptr;
    c.pool.clear();
    c.submit(lag, {r}); // its client's copy: it waits for an entry it missed
    c.pool.clear();
    for (int i = 0; i < 20; ++i) c.step(lag, ev::tick{});
    CHECK(c.r(lag).probing());
    CHECK(sent_of(c, lag, msg_type::view_change).empty());
    c.deliver_all(); // probes answered: the others are in view 0 and executed more
    CHECK_FALSE(c.r(lag).view_changing());
    CHECK(c.r(lag).view() == view_number{0});
    CHECK(sent_of(c, lag, msg_type::view_change).empty());
    REQUIRE(c.committed[lag].size() == 1); // from the re-sent pre-prepare, prepares, commits
    CHECK(c.committed[lag][0].id == c.committed[0][0].id);
  });
}

TEST_CASE("P31: a replica changing to view w that missed its new-view gets it from the peers in "
          "w when its timer expires, instead of escalating to w+1") {
  for_each_size({4, 7}, 10, [&](std::size_t n, cluster& c, client& cl) {
    const std::size_t lag = n - 1;
    c.up[0] = false;
    c.submit(1, {cl.request()});
    c.deliver_all();
    c.filter = [&](const envelope_msg& m) {
      return !(m.to.value() == lag && frame_type(m.frame) == msg_type::new_view);
    };
    time_out(c);
    c.deliver_all();
    for (std::size_t i = 1; i < lag; ++i) REQUIRE_FALSE(c.r(i).view_changing());
    REQUIRE(c.r(lag).view_changing());
    REQUIRE(c.r(lag).view() == view_number{1});
    REQUIRE(c.r(lag).view_timer_running());
    c.filter = nullptr;
    c.pool.clear();
    for (int i = 0; i < 200 && !c.r(lag).probing(); ++i) c.step(lag, ev::tick{});
    REQUIRE(c.r(lag).probing());
    c.deliver_all();
    CHECK_FALSE(c.r(lag).view_changing());
    CHECK(c.r(lag).view() == view_number{1});
    for (const auto& f : sent_of(c, lag, msg_type::view_change))
      CHECK(decode_view_change(f)->new_view == view_number{1});
  });
}

TEST_CASE("P31: without answers from a quorum a replica keeps probing and stays in its view") {
  cluster c(4);
  client cl(7);
  c.submit(1, {cl.request()});
  c.pool.clear();
  for (int i = 0; i < 200; ++i) {
    c.step(1, ev::tick{});
    c.pool.clear(); // cut off: nothing reaches anyone
  }
  CHECK(c.r(1).probing());
  CHECK_FALSE(c.r(1).view_changing());
  CHECK(c.r(1).view() == view_number{0});
  CHECK(sent_of(c, 1, msg_type::view_change).empty());
  // The network heals: the others are in view 0 and not ahead, so it acts (P20).
  c.tick_all(10);
  exchange_probes(c);
  CHECK(c.r(1).view_changing());
  CHECK(c.r(1).view() == view_number{1});
}

TEST_CASE("P31: probes are unsigned positions of their sender only; a probe claiming another "
          "sender is rejected") {
  cluster c(4);
  probe_position p;
  p.from = replica_id{2};
  p.round = 1;
  auto frame = encode_probe(probe_type, p);
  auto back = decode_probe(probe_type, frame);
  REQUIRE(back.has_value());
  CHECK(*back == p);
  CHECK_FALSE(decode_probe(probe_answer_type, frame).has_value());
  c.step(1, ev::received{replica_id{3}, frame});
  CHECK(c.rejected[1].size() == 1);
  c.step(1, ev::received{replica_id{2}, frame});
  CHECK(c.rejected[1].size() == 1);
  REQUIRE_FALSE(c.sent[1].empty());
  CHECK(decode_probe(probe_answer_type, c.sent[1].back().frame).has_value());
}
