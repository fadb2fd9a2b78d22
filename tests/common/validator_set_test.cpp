#include <doctest/doctest.h>

#include "protocols/common/validator_set.hpp"

using namespace bft;

namespace {
public_key key(std::uint8_t i) {
  public_key k{};
  k[0] = i;
  return k;
}
validator_set equal(std::size_t n) {
  std::vector<public_key> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(key(static_cast<std::uint8_t>(i + 1)));
  return validator_set::equal_weights(keys);
}
} // namespace

TEST_CASE("quorum math for equal weights: n = 4, 7, 10") {
  struct row {
    std::size_t n, f, quorum;
  };
  for (auto [n, f, q] : {row{4, 1, 3}, row{7, 2, 5}, row{10, 3, 7}}) {
    CAPTURE(n);
    auto vs = equal(n);
    CHECK(max_byzantine_tolerance(n) == f);
    CHECK(vs.f() == f);
    CHECK(vs.quorum_weight() == q);
    CHECK(vs.quorum_weight() == 2 * f + 1);
    CHECK(vs.one_honest_weight() == f + 1);
    CHECK_FALSE(vs.is_quorum(q - 1));
    CHECK(vs.is_quorum(q));
  }
  CHECK(max_byzantine_tolerance(1) == 0);
  CHECK(max_byzantine_tolerance(3) == 0);
  CHECK(max_byzantine_tolerance(5) == 1);
}

TEST_CASE("a quorum is more than two thirds of the total weight (weighted sets)") {
  auto vs = validator_set::make({{replica_id{0}, key(1), "a:1", 10},
                                 {replica_id{1}, key(2), "a:2", 20},
                                 {replica_id{2}, key(3), "a:3", 30},
                                 {replica_id{3}, key(4), "a:4", 40}});
  REQUIRE(vs);
  CHECK(vs->total_weight() == 100);
  CHECK(vs->quorum_weight() == 67);
  CHECK(vs->max_faulty_weight() == 33);
  // 30 + 40 = 70 is a quorum; 20 + 40 = 60 is not.
  CHECK(vs->is_quorum(vs->weight_of({replica_id{2}, replica_id{3}})));
  CHECK_FALSE(vs->is_quorum(vs->weight_of({replica_id{1}, replica_id{3}})));
  // duplicates and unknown ids add nothing
  CHECK(vs->weight_of({replica_id{3}, replica_id{3}, replica_id{9}}) == 40);
  // 3 x 33 = 99 is exactly 3T/3 − 1: any two quorums intersect in more than f weight
  CHECK(2 * vs->quorum_weight() > vs->total_weight() + vs->max_faulty_weight());
}

TEST_CASE("a validator set refuses duplicate ids, duplicate keys and zero weight") {
  CHECK(validator_set::make({}).error() == errc::invalid_config);
  CHECK_FALSE(
      validator_set::make({{replica_id{0}, key(1), "", 1}, {replica_id{0}, key(2), "", 1}}));
  CHECK_FALSE(
      validator_set::make({{replica_id{0}, key(1), "", 1}, {replica_id{1}, key(1), "", 1}}));
  CHECK_FALSE(validator_set::make({{replica_id{0}, key(1), "", 0}}));
}

TEST_CASE("validators are found by id and by key") {
  auto vs = equal(4);
  REQUIRE(vs.find(replica_id{2}) != nullptr);
  CHECK(vs.find(replica_id{2})->key == key(3));
  CHECK(vs.find(key(4))->id == replica_id{3});
  CHECK(vs.find(replica_id{4}) == nullptr);
}
