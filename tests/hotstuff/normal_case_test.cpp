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
