/// PBFT P5 with a relay delay (engine_config::relay_delay_ticks): the actor runtime's clients
/// send every request to every replica, so a backup relays a request only when no pre-prepare
/// has carried it after the delay. Without a delay (the default, the simulator's) it relays at
/// once, as rules_test.cpp's P5 test pins down.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "crypto/fake_signer.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/replica.hpp"

using namespace bft;

namespace {

/// A backup of view 0 (replica 1 of 4, primary 0) with a relay delay, and a signing client.
struct relay_setup {
  std::vector<std::unique_ptr<crypto::fake_signer>> signers;
  crypto::fake_verifier verifier;
  crypto::fake_signer client{777};
  engine_config cfg;
  std::uint64_t seq = 0;

  explicit relay_setup(std::uint64_t delay) {
    std::vector<public_key> keys;
    for (std::uint64_t i = 0; i < 4; ++i) {
      signers.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      keys.push_back(signers.back()->key());
    }
    cfg.chain_id = "relay-test";
    cfg.self = replica_id{1};
    cfg.validators = validator_set::equal_weights(keys);
    cfg.batch_size = 1000;
    cfg.batch_delay_ticks = 1000;
    cfg.base_timeout_ticks = 1000; // no view change during the test
    cfg.checkpoint_interval = 10;
    cfg.relay_delay_ticks = delay;
  }

  client_request request() {
    client_request r;
    r.client = client.key();
    r.client_seq = ++seq;
    r.txs.push_back(bytes{9, static_cast<std::uint8_t>(seq)});
    r.sig = client.sign(
        codec::signing_bytes(client_request::sign_tag, cfg.chain_id, cfg.epoch, r.body()));
    return r;
  }

  /// The primary's signed pre-prepare of `b` at sequence number `n` in view 0.
  bytes pre_prepare(const pbft::batch& b, std::uint64_t n) const {
    auto enc = pbft::encode_batch(b);
    pbft::pre_prepare pp;
    pp.view = view_number{0};
    pp.seq = seq_number{n};
    pp.d = pbft::batch_digest(b);
    pp.from = replica_id{0};
    pbft::sign(pp, {cfg.chain_id, cfg.epoch}, *signers[0]);
    return pbft::encode_pre_prepare(pp, enc);
  }
};

/// The requests of every relay frame in `r`.
std::vector<client_request> relayed(const ready& r) {
  std::vector<client_request> out;
  for (const auto& m : r.messages) {
    if (pbft::frame_type(m.frame) != pbft::msg_type::request_relay) continue;
    auto d = pbft::decode_request_relay(m.frame);
    REQUIRE(d);
    CHECK_FALSE(m.to.has_value()); // to every other replica
    out.insert(out.end(), d->requests.begin(), d->requests.end());
  }
  return out;
}

} // namespace

TEST_CASE(
    "P5 with a relay delay: a backup relays a request no pre-prepare carries, after the delay") {
  relay_setup s(5);
  pbft::replica r(s.cfg, *s.signers[1], s.verifier, {});
  auto q = s.request();
  CHECK(relayed(r.step(ev::client_requests{{q}, true})).empty());
  for (int t = 1; t < 5; ++t) CHECK(relayed(r.step(ev::tick{})).empty());
  auto late = relayed(r.step(ev::tick{}));
  REQUIRE(late.size() == 1);
  CHECK(late[0] == q);
  for (int t = 0; t < 10; ++t) CHECK(relayed(r.step(ev::tick{})).empty()); // once only
}

TEST_CASE("P5 with a relay delay: a request a pre-prepare carries is never relayed") {
  relay_setup s(3);
  pbft::replica r(s.cfg, *s.signers[1], s.verifier, {});
  auto carried = s.request();
  auto left = s.request();
  CHECK(relayed(r.step(ev::client_requests{{carried, left}, true})).empty());
  auto out = r.step(ev::received{replica_id{0}, s.pre_prepare(pbft::batch{carried}, 1)});
  CHECK(out.rejected.empty());
  std::vector<client_request> late;
  for (int t = 0; t < 10; ++t) {
    auto more = relayed(r.step(ev::tick{}));
    late.insert(late.end(), more.begin(), more.end());
  }
  REQUIRE(late.size() == 1);
  CHECK(late[0] == left);
}

TEST_CASE("P5 without a relay delay: a backup relays at once") {
  relay_setup s(0);
  pbft::replica r(s.cfg, *s.signers[1], s.verifier, {});
  auto q = s.request();
  auto now = relayed(r.step(ev::client_requests{{q}, true}));
  REQUIRE(now.size() == 1);
  CHECK(now[0] == q);
}
