#include <doctest/doctest.h>

#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

TEST_CASE("normal case: four replicas commit a batch in the same order") {
  for (std::size_t n : {4u, 7u, 10u}) {
    CAPTURE(n);
    cluster c(n);
    client cl(1000);
    c.submit(0, {cl.request(), cl.request()});
    c.deliver_all();
    for (std::size_t i = 0; i < n; ++i) {
      REQUIRE(c.committed[i].size() == 1);
      CHECK(c.committed[i][0].index == 1);
      CHECK(c.committed[i][0].requests.size() == 2);
    }
  }
}
