// The checkpoint votes alone (protocols/pbft/checkpoints.hpp): when a stable-checkpoint proof
// forms, what is counted apart, what is dropped, and the bound per sender.
#include <doctest/doctest.h>

#include "protocols/pbft/checkpoints.hpp"
#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

namespace {

const digest state_a{0xa};
const digest state_b{0xb};

checkpoint ckpt(std::uint32_t from, std::uint64_t n, const digest& state) {
  checkpoint c;
  c.seq = seq_number{n};
  c.state = state;
  c.from = replica_id{from};
  c.sig = signature{static_cast<std::uint8_t>(from + 1), static_cast<std::uint8_t>(n)};
  return c;
}

} // namespace

TEST_CASE("a proof forms at a quorum of matching digests and not before") {
  checkpoints cp(make_validators(4)); // quorum 3
  CHECK_FALSE(cp.add(ckpt(0, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(1, 10, state_a)));
  CHECK(cp.votes(10, state_a) == 2);
  auto proof = cp.add(ckpt(2, 10, state_a));
  REQUIRE(proof);
  CHECK(proof->seq == seq_number{10});
  CHECK(proof->state == state_a);
  REQUIRE(proof->sigs.size() == 3);
  for (std::uint32_t i = 0; i < 3; ++i) {
    CHECK(proof->sigs[i].from == replica_id{i});
    CHECK(proof->sigs[i].sig == ckpt(i, 10, state_a).sig);
  }
}

TEST_CASE("conflicting digests are counted apart, and one checkpoint per signer and seq counts") {
  checkpoints cp(make_validators(4));
  CHECK_FALSE(cp.add(ckpt(0, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(1, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(2, 10, state_b))); // 3 votes at 10, but no 3 for one digest
  CHECK_FALSE(cp.add(ckpt(3, 10, state_b)));
  CHECK(cp.votes(10, state_a) == 2);
  CHECK(cp.votes(10, state_b) == 2);
  // Replica 2 changing its mind, or a copy of a vote, adds nothing.
  CHECK_FALSE(cp.add(ckpt(2, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(0, 10, state_a)));
  CHECK(cp.votes(10, state_a) == 2);
  // Other sequence numbers are counted apart too.
  CHECK_FALSE(cp.add(ckpt(2, 20, state_a)));
  CHECK(cp.votes(20, state_a) == 1);
}

TEST_CASE("votes at or below the stable point are dropped, those above it stay") {
  checkpoints cp(make_validators(4));
  CHECK_FALSE(cp.add(ckpt(0, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(1, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(0, 20, state_b)));
  CHECK_FALSE(cp.add(ckpt(1, 20, state_b)));
  cp.drop_to(10);
  CHECK(cp.votes(10, state_a) == 0);
  CHECK(cp.votes(20, state_b) == 2);
  CHECK(cp.held_from(replica_id{0}) == 1);
  // The dropped votes no longer count toward a proof at 10 ...
  CHECK_FALSE(cp.add(ckpt(2, 10, state_a)));
  CHECK(cp.votes(10, state_a) == 1);
  // ... and those kept still do at 20.
  auto proof = cp.add(ckpt(2, 20, state_b));
  REQUIRE(proof);
  CHECK(proof->seq == seq_number{20});
}

TEST_CASE("a sender's checkpoints are bounded: its lowest go first") {
  checkpoints cp(make_validators(4), 4);
  for (std::uint64_t n = 10; n <= 50; n += 10) CHECK_FALSE(cp.add(ckpt(0, n, state_a)));
  CHECK(cp.held_from(replica_id{0}) == 4);
  CHECK(cp.votes(10, state_a) == 0); // evicted by the fifth
  CHECK(cp.votes(50, state_a) == 1);
  CHECK_FALSE(cp.add(ckpt(0, 5, state_a))); // below all four held: not kept
  CHECK(cp.votes(5, state_a) == 0);
  CHECK(cp.held_from(replica_id{0}) == 4);
  // Its evicted vote no longer helps a quorum at 10; the other senders are not bounded by it.
  CHECK_FALSE(cp.add(ckpt(1, 10, state_a)));
  CHECK_FALSE(cp.add(ckpt(2, 10, state_a)));
  CHECK(cp.add(ckpt(3, 10, state_a)));
}
