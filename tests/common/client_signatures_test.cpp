/// ev::client_requests::verified: a driver that already checked the client signatures (the
/// actor gateway) spares the engines a second check, while requests that reach an engine any
/// other way (unverified events, peers' relays, proposals and pre-prepares) are still
/// verified, each once. Both engines, counted with a verifier that tallies client keys.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <vector>

#include "crypto/fake_signer.hpp"
#include "protocols/hotstuff/block.hpp"
#include "protocols/hotstuff/messages.hpp"
#include "protocols/hotstuff/pacemaker.hpp"
#include "protocols/hotstuff/replica.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/replica.hpp"

using namespace bft;

namespace {

/// The fake verifier, counting the checks of client signatures (keys outside the replicas').
class counting_verifier final : public crypto::verifier {
public:
  explicit counting_verifier(std::set<public_key> replicas) : replicas_(std::move(replicas)) {}
  bool verify(const public_key& key, byte_view message, const signature& sig) const override {
    if (replicas_.count(key) == 0) ++client_checks;
    return inner_.verify(key, message, sig);
  }
  mutable std::size_t client_checks = 0;

private:
  std::set<public_key> replicas_;
  crypto::fake_verifier inner_;
};

struct setup {
  std::vector<std::unique_ptr<crypto::fake_signer>> signers;
  engine_config cfg;
  std::unique_ptr<counting_verifier> verifier;
  crypto::fake_signer client{4242};
  std::uint64_t seq = 0;

  explicit setup(std::uint32_t self) {
    std::vector<public_key> keys;
    for (std::uint64_t i = 0; i < 4; ++i) {
      signers.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      keys.push_back(signers.back()->key());
    }
    cfg.chain_id = "sig-test";
    cfg.self = replica_id{self};
    cfg.validators = validator_set::equal_weights(keys);
    cfg.batch_size = 1000; // nothing is proposed before the tests say so
    cfg.batch_delay_ticks = 1000;
    cfg.base_timeout_ticks = 1000;
    cfg.checkpoint_interval = 10;
    verifier = std::make_unique<counting_verifier>(std::set<public_key>(keys.begin(), keys.end()));
  }

  client_request request(bool good = true) {
    client_request r;
    r.client = client.key();
    r.client_seq = ++seq;
    r.txs.push_back(bytes{1, 2, 3, static_cast<std::uint8_t>(seq)});
    r.sig = client.sign(
        codec::signing_bytes(client_request::sign_tag, cfg.chain_id, cfg.epoch, r.body()));
    if (!good) r.sig[0] ^= 0x01;
    return r;
  }
};

bool rejected_with(const ready& r, const std::string& needle) {
  for (const auto& x : r.rejected)
    if (x.reason.find(needle) != std::string::npos) return true;
  return false;
}

/// A HotStuff proposal of view 1 on genesis, by that view's leader, carrying `reqs`.
bytes hotstuff_proposal(const setup& s, std::vector<client_request> reqs) {
  hotstuff::block b;
  b.parent = hotstuff::genesis_block()->hash;
  b.height = bft::height{1};
  b.view = view_number{1};
  b.proposer = hotstuff::round_robin_election(s.cfg.validators, {}).leader(b.view);
  b.justify = hotstuff::genesis_qc();
  b.requests = std::move(reqs);
  b.finalize();
  return hotstuff::encode_proposal(b, *s.signers[b.proposer.value()],
                                   {s.cfg.chain_id, s.cfg.epoch});
}

std::uint32_t hotstuff_non_leader() {
  setup s(0);
  auto leader = hotstuff::round_robin_election(s.cfg.validators, {}).leader(view_number{1});
  return (leader.value() + 1) % 4;
}

} // namespace

TEST_CASE("HotStuff: an unverified request with a bad client signature is rejected") {
  setup s(hotstuff_non_leader());
  hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], *s.verifier, {});
  auto out = r.step(ev::client_requests{{s.request(false)}, false});
  CHECK(s.verifier->client_checks == 1);
  CHECK(rejected_with(out, "bad signature"));
  CHECK(r.mempool_size() == 0);
}

TEST_CASE("HotStuff: requests the driver verified are admitted without a second check") {
  setup s(hotstuff_non_leader());
  hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], *s.verifier, {});
  auto q = s.request();
  auto out = r.step(ev::client_requests{{q}, true});
  CHECK(out.rejected.empty());
  CHECK(r.mempool_size() == 1);
  CHECK(s.verifier->client_checks == 0);
  // The leader's proposal carries the same request: not checked again; the replica votes.
  auto frame = hotstuff_proposal(s, {q});
  auto out2 = r.step(ev::received{replica_id{0}, frame});
  CHECK(out2.rejected.empty());
  CHECK(s.verifier->client_checks == 0);
  CHECK(r.safety_state().last_voted_view == view_number{1});
}

TEST_CASE("HotStuff: a proposal's requests not admitted here are verified once, bad ones refused") {
  setup s(hotstuff_non_leader());
  {
    hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], *s.verifier, {});
    auto out = r.step(ev::received{replica_id{0}, hotstuff_proposal(s, {s.request()})});
    CHECK(out.rejected.empty());
    CHECK(s.verifier->client_checks == 1);
    CHECK(r.safety_state().last_voted_view == view_number{1});
  }
  s.verifier->client_checks = 0;
  hotstuff::replica r(s.cfg, *s.signers[s.cfg.self.value()], *s.verifier, {});
  // Even when the driver verified a different request with the same (client, seq).
  auto good = s.request();
  r.step(ev::client_requests{{good}, true});
  auto bad = good;
  bad.txs.push_back(bytes{9});
  auto out = r.step(ev::received{replica_id{0}, hotstuff_proposal(s, {bad})});
  CHECK(s.verifier->client_checks == 1);
  CHECK(rejected_with(out, "badly signed client request"));
  CHECK(r.safety_state().last_voted_view == view_number{0});
}

TEST_CASE("PBFT: an unverified request with a bad client signature is rejected") {
  setup s(1);
  pbft::replica r(s.cfg, *s.signers[1], *s.verifier, {});
  auto out = r.step(ev::client_requests{{s.request(false)}, false});
  CHECK(s.verifier->client_checks == 1);
  CHECK(rejected_with(out, "signature does not verify"));
  CHECK(out.messages.empty()); // nothing relayed
}

TEST_CASE("PBFT: requests the driver verified are relayed and prepared without a second check") {
  setup s(1); // a backup of view 0
  pbft::replica r(s.cfg, *s.signers[1], *s.verifier, {});
  auto q = s.request();
  auto out = r.step(ev::client_requests{{q}, true});
  CHECK(out.rejected.empty());
  CHECK(out.messages.size() == 1); // the relay (P5)
  CHECK(s.verifier->client_checks == 0);
  // The primary's pre-prepare of that request: not checked again; the backup prepares.
  pbft::batch b{q};
  auto enc = pbft::encode_batch(b);
  pbft::pre_prepare pp;
  pp.view = view_number{0};
  pp.seq = seq_number{1};
  pp.d = pbft::batch_digest(b);
  pp.from = replica_id{0};
  pbft::sign(pp, {s.cfg.chain_id, s.cfg.epoch}, *s.signers[0]);
  auto out2 = r.step(ev::received{replica_id{0}, pbft::encode_pre_prepare(pp, enc)});
  CHECK(out2.rejected.empty());
  CHECK(s.verifier->client_checks == 0);
  REQUIRE(out2.messages.size() == 1);
  CHECK(pbft::frame_type(out2.messages[0].frame) == pbft::msg_type::prepare);
}

TEST_CASE("PBFT: a peer's relay is verified once, and a badly signed one refused") {
  setup s(2);
  pbft::replica r(s.cfg, *s.signers[2], *s.verifier, {});
  auto good = s.request();
  auto out = r.step(ev::received{replica_id{1}, pbft::encode(pbft::request_relay{{good}})});
  CHECK(out.rejected.empty());
  CHECK(s.verifier->client_checks == 1);
  auto out2 =
      r.step(ev::received{replica_id{1}, pbft::encode(pbft::request_relay{{s.request(false)}})});
  CHECK(s.verifier->client_checks == 2);
  CHECK(rejected_with(out2, "signature does not verify"));
}
