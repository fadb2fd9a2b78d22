/// HotStuff with a fetch delay (engine_config::fetch_delay_ticks): a replica that learns of a
/// block it lacks (here: a proposal whose parent it has not seen) asks a peer for it only if
/// the block has not come after the delay. Under load in one process the parent's proposal is
/// usually still on its way; asking at once had every such block sent and decoded twice.
/// Without a delay (the default, the simulator's) it asks at once.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "crypto/fake_signer.hpp"
#include "protocols/hotstuff/block.hpp"
#include "protocols/hotstuff/messages.hpp"
#include "protocols/hotstuff/pacemaker.hpp"
#include "protocols/hotstuff/replica.hpp"

using namespace bft;

namespace {

/// Four fake-signing replicas; blocks of views 1 and 2 on genesis, the second certifying the
/// first, proposed by their views' leaders; `self` leads neither view.
struct chain_setup {
  std::vector<std::unique_ptr<crypto::fake_signer>> signers;
  crypto::fake_verifier verifier;
  engine_config cfg;
  bytes first;  ///< proposal of view 1 (height 1)
  bytes second; ///< proposal of view 2 (height 2), justified by a QC on the first

  explicit chain_setup(std::uint64_t delay) {
    std::vector<public_key> keys;
    for (std::uint64_t i = 0; i < 4; ++i) {
      signers.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      keys.push_back(signers.back()->key());
    }
    cfg.chain_id = "fetch-test";
    cfg.validators = validator_set::equal_weights(keys);
    cfg.batch_size = 100;
    cfg.batch_delay_ticks = 1000;
    cfg.base_timeout_ticks = 1000; // no view change during the test
    cfg.fetch_delay_ticks = delay;
    hotstuff::round_robin_election election(cfg.validators, {});
    const auto l1 = election.leader(view_number{1});
    const auto l2 = election.leader(view_number{2});
    for (std::uint32_t i = 0; i < 4; ++i)
      if (replica_id{i} != l1 && replica_id{i} != l2) cfg.self = replica_id{i};
    const hotstuff::sign_context ctx{cfg.chain_id, cfg.epoch};

    hotstuff::block b1;
    b1.parent = hotstuff::genesis_block()->hash;
    b1.height = bft::height{1};
    b1.view = view_number{1};
    b1.proposer = l1;
    b1.justify = hotstuff::genesis_qc();
    b1.finalize();
    first = hotstuff::encode_proposal(b1, *signers[l1.value()], ctx);

    hotstuff::block b2;
    b2.parent = b1.hash;
    b2.height = bft::height{2};
    b2.view = view_number{2};
    b2.proposer = l2;
    b2.justify.block = b1.hash;
    b2.justify.view = b1.view;
    b2.justify.height = b1.height;
    for (std::uint32_t i = 0; i < 3; ++i) {
      auto body = hotstuff::vote_body(b1.hash, b1.view, b1.height, replica_id{i});
      b2.justify.sigs.push_back(
          {replica_id{i}, signers[i]->sign(codec::signing_bytes(hotstuff::vote_tag, cfg.chain_id,
                                                                cfg.epoch, body))});
    }
    b2.finalize();
    second = hotstuff::encode_proposal(b2, *signers[l2.value()], ctx);
  }

  replica_id leader_of(std::uint64_t v) const {
    return hotstuff::round_robin_election(cfg.validators, {}).leader(view_number{v});
  }
};

/// Block requests among the messages of `r`.
std::size_t block_requests(const ready& r) {
  std::size_t n = 0;
  for (const auto& m : r.messages) {
    auto d = hotstuff::decode(m.frame);
    if (d && d->type == hotstuff::msg_type::block_request) ++n;
  }
  return n;
}

} // namespace

TEST_CASE("HotStuff with a fetch delay: a missing parent is asked for only after the delay") {
  chain_setup s(3);
  hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], s.verifier, {});
  auto out = r.step(ev::received{s.leader_of(2), s.second});
  CHECK(out.rejected.empty());
  CHECK(block_requests(out) == 0);
  CHECK(block_requests(r.step(ev::tick{})) == 0);
  CHECK(block_requests(r.step(ev::tick{})) == 0);
  auto asked = r.step(ev::tick{});
  REQUIRE(block_requests(asked) == 1);
  for (const auto& m : asked.messages)
    if (auto d = hotstuff::decode(m.frame); d && d->type == hotstuff::msg_type::block_request)
      CHECK(m.to == s.leader_of(2)); // whoever sent the child
  for (int t = 0; t < 10; ++t) CHECK(block_requests(r.step(ev::tick{})) == 0); // once, for now
}

TEST_CASE(
    "HotStuff with a fetch delay: a parent that arrives within the delay is never asked for") {
  chain_setup s(3);
  hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], s.verifier, {});
  CHECK(block_requests(r.step(ev::received{s.leader_of(2), s.second})) == 0);
  CHECK(block_requests(r.step(ev::tick{})) == 0);
  auto late = r.step(ev::received{s.leader_of(1), s.first});
  CHECK(late.rejected.empty());
  CHECK(block_requests(late) == 0);
  for (int t = 0; t < 50; ++t) CHECK(block_requests(r.step(ev::tick{})) == 0);
  CHECK(r.status().view.value() >= 2); // both blocks delivered: it followed the QC's view
}

TEST_CASE("HotStuff without a fetch delay: a missing parent is asked for at once") {
  chain_setup s(0);
  hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], s.verifier, {});
  CHECK(block_requests(r.step(ev::received{s.leader_of(2), s.second})) == 1);
}
