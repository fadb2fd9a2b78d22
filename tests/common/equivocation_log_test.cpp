#include <doctest/doctest.h>

#include "protocols/common/equivocation_log.hpp"

using namespace bft;

namespace {
digest dg(std::uint8_t b) {
  digest d{};
  d.fill(b);
  return d;
}
} // namespace

TEST_CASE("equivocation log: the first statement per slot is kept, a repeat is not a conflict") {
  equivocation_log log;
  const signed_slot s{2, 1, 5, 7};
  const bytes a{1, 2, 3};
  auto first = log.observe(s, dg(1), a);
  CHECK(first.first);
  CHECK_FALSE(first.conflict);
  auto again = log.observe(s, dg(1), a);
  CHECK_FALSE(again.first);
  CHECK_FALSE(again.conflict);
  CHECK_FALSE(again.evidence);
  CHECK(*again.first_content == dg(1));
}

TEST_CASE("equivocation log: a conflicting second statement is evidence once, naming the signer") {
  equivocation_log log;
  const signed_slot s{3, 2, 9, 0};
  const bytes a{1}, b{2}, c{3};
  (void)log.observe(s, dg(1), a);
  auto second = log.observe(s, dg(2), b);
  CHECK(second.conflict);
  REQUIRE(second.evidence);
  CHECK(second.evidence->culprit == replica_id{3});
  CHECK(second.evidence->first == a);
  CHECK(second.evidence->second == b);
  auto third = log.observe(s, dg(3), c);
  CHECK(third.conflict);
  CHECK_FALSE(third.evidence); // reported once per slot
}

TEST_CASE("equivocation log: slots differ by signer, phase, view and sequence") {
  equivocation_log log;
  (void)log.observe({1, 1, 1, 1}, dg(1), {});
  CHECK(log.observe({2, 1, 1, 1}, dg(2), {}).first);
  CHECK(log.observe({1, 2, 1, 1}, dg(2), {}).first);
  CHECK(log.observe({1, 1, 2, 1}, dg(2), {}).first);
  CHECK(log.observe({1, 1, 1, 2}, dg(2), {}).first);
  CHECK(log.size() == 5);
  CHECK(log.forget_if([](const signed_slot& s) { return s.view < 2 && s.seq < 2; }) == 3);
  CHECK(log.size() == 2);
  CHECK_FALSE(log.contains({1, 1, 1, 1}));
  CHECK(log.observe({1, 1, 1, 1}, dg(9), {}).first); // forgotten: a fresh first statement
}
