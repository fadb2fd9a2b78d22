#include <doctest/doctest.h>

#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

TEST_CASE("four replicas commit client requests in order, and empty blocks keep commits going") {
  for (std::size_t n : {4u, 7u}) {
    CAPTURE(n);
    cluster c(n);
    std::vector<client_request> qs;
    for (std::uint64_t k = 1; k <= 10; ++k) qs.push_back(make_request(k, 1, c.config()));
    c.submit_all(qs);
    c.run(30);
    for (std::size_t i = 0; i < n; ++i) {
      CAPTURE(i);
      REQUIRE(c.committed(i).size() >= 10);
      for (std::size_t k = 0; k < c.committed(i).size(); ++k)
        CHECK(c.committed(i)[k].index == k + 1);
    }
    CHECK(c.logs_agree());
    std::size_t reqs = 0;
    for (const auto& e : c.committed(0)) reqs += e.requests.size();
    CHECK(reqs == 10);
    CHECK(c.rejected().empty());
  }
}

TEST_CASE("no load: a request commits in message delays, not batch delays, then the chain idles") {
  cluster c(4);
  c.reconfigure([](engine_config& cfg) { cfg.batch_delay_ticks = 1000; });
  // Nothing to order: no block before the batch delay.
  c.deliver_all();
  CHECK(c.queue().empty());
  c.submit_all({make_request(1, 1, c.config())});
  c.deliver_all(); // no tick at all
  for (std::size_t i = 0; i < c.size(); ++i) {
    std::size_t txs = 0;
    for (const auto& e : c.committed(i)) txs += e.requests.size();
    CHECK(txs == 1);
  }
  // Everything committed: the leader waits for the batch delay again (the queue drained).
  CHECK(c.queue().empty());
}
