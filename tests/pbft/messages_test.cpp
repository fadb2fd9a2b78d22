// Codec of every PBFT message: round trip, every truncation, trailing bytes, wrong envelope,
// and certificate checks signature by signature.
#include <doctest/doctest.h>

#include "protocols/pbft/inspector.hpp"
#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

namespace {

struct sample {
  const char* name;
  bytes frame;
  std::function<bool(byte_view)> decodes;
  std::function<bytes(byte_view)> reencode;
};

template <class Decode>
sample make_sample(const char* name, bytes frame, Decode dec) {
  return sample{name, std::move(frame), [dec](byte_view b) { return dec(b).has_value(); },
                [dec](byte_view b) { return encode(*dec(b)); }};
}

std::vector<sample> samples(cluster& c) {
  client cl(7);
  batch b{cl.request("test-chain", 3), cl.request()};
  auto d = batch_digest(b);
  auto cert = make_cert(c, 0, 1, d, {1, 2});
  checkpoint_proof proof;
  proof.seq = seq_number{10};
  proof.state = digest{4};
  for (std::size_t i = 0; i < 3; ++i)
    proof.sigs.push_back(signed_by{replica_id{static_cast<std::uint32_t>(i)},
                                   decode_checkpoint(make_ckpt(c, i, 10, digest{4}))->sig});
  auto vc = make_vc(c, 2, 1, {cert}, proof);
  new_view nv;
  nv.view = view_number{1};
  nv.from = replica_id{1};
  nv.view_changes = {vc, make_vc(c, 3, 1)};
  nv.entries = {new_view_entry{seq_number{11}, d, {}}};
  sign(nv.entries[0], nv.view, nv.from, test_ctx(), *c.signers[1]);
  sign(nv, test_ctx(), *c.signers[1]);
  return {
      make_sample("pre-prepare", make_pp(c, 0, 0, 1, b), decode_pre_prepare),
      make_sample("null pre-prepare", make_pp(c, 0, 0, 2, {}), decode_pre_prepare),
      make_sample("prepare", make_vote(c, 1, msg_type::prepare, 0, 1, d), decode_vote),
      make_sample("commit", make_vote(c, 1, msg_type::commit, 0, 1, d), decode_vote),
      make_sample("checkpoint", make_ckpt(c, 1, 10, digest{4}), decode_checkpoint),
      make_sample("view-change", vc, decode_view_change),
      make_sample("new-view", encode(nv), decode_new_view),
      make_sample("request relay", encode(request_relay{b}), decode_request_relay),
      make_sample("fetch batch", encode(fetch_batch{d}), decode_fetch_batch),
      make_sample("batch reply", encode(batch_reply{d, std::make_shared<batch>(b)}),
                  decode_batch_reply),
  };
}

} // namespace

TEST_CASE("every PBFT message round-trips through its canonical encoding") {
  cluster c(4);
  for (auto& s : samples(c)) {
    CAPTURE(s.name);
    REQUIRE(s.decodes(s.frame));
    CHECK(s.reencode(s.frame) == s.frame);
    CHECK(frame_type(s.frame).has_value());
  }
}

TEST_CASE("every truncation of every PBFT message is refused without a crash") {
  cluster c(4);
  for (auto& s : samples(c)) {
    CAPTURE(s.name);
    for (std::size_t len = 0; len < s.frame.size(); ++len)
      CHECK_FALSE(s.decodes(byte_view(s.frame).first(len)));
    auto longer = s.frame;
    longer.push_back(0);
    // signed frames read their signature from the end, so an extra byte shifts it: either the
    // frame is refused or (unsigned frames) the trailing byte is.
    CHECK_FALSE((s.decodes(longer) && s.reencode(longer) == longer));
  }
}

TEST_CASE("a replica rejects every truncated or corrupted frame and keeps its safety state") {
  cluster c(4);
  auto all = samples(c);
  for (auto& s : all) {
    CAPTURE(s.name);
    for (std::size_t len = 0; len < s.frame.size(); len += 1 + s.frame.size() / 64) {
      bytes cut(s.frame.begin(), s.frame.begin() + static_cast<std::ptrdiff_t>(len));
      deliver_to(c, 3, 1, cut);
    }
    auto flipped = s.frame;
    flipped[flipped.size() / 2] ^= 0x40;
    deliver_to(c, 3, 1, flipped);
  }
  CHECK(c.r(3).view() == view_number{0});
  CHECK_FALSE(c.r(3).view_changing());
  CHECK(c.r(3).status().committed_index == 0);
  CHECK_FALSE(c.rejected[3].empty());
}

TEST_CASE("a frame that is not PBFT, or of another version, is refused") {
  cluster c(4);
  deliver_to(c, 1, 0, bytes{0x01, 0x02, 0x01, 0x00});
  deliver_to(c, 1, 0, bytes{});
  auto f = make_vote(c, 2, msg_type::prepare, 0, 1, digest{});
  f[2] = 2; // version 2
  deliver_to(c, 1, 2, f);
  CHECK(c.rejected[1].size() == 3);
  CHECK(rejected_with(c, 1, "not a PBFT frame"));
}

TEST_CASE("a certificate counts a signer listed twice once") {
  cluster c(7);
  auto vs = make_validators(7);
  verify_context ctx{vs, c.verifier, test_ctx(), {}};
  auto cert = make_cert(c, 0, 1, digest{1}, {1, 2, 3, 4});
  CHECK(verify_prepared_cert(cert, ctx).has_value());
  auto dup = cert;
  dup.prepares[3] = dup.prepares[0];
  auto r = verify_prepared_cert(dup, ctx);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::no_quorum);
  checkpoint_proof p;
  p.seq = seq_number{10};
  p.state = digest{2};
  for (std::size_t i : {0u, 1u, 2u, 3u, 3u})
    p.sigs.push_back(signed_by{replica_id{static_cast<std::uint32_t>(i)},
                               decode_checkpoint(make_ckpt(c, i, 10, digest{2}))->sig});
  CHECK_FALSE(verify_checkpoint_proof(p, ctx).has_value());
  p.sigs.push_back(
      signed_by{replica_id{4}, decode_checkpoint(make_ckpt(c, 4, 10, digest{2}))->sig});
  CHECK(verify_checkpoint_proof(p, ctx).has_value());
}

TEST_CASE("signatures are bound to the chain, the epoch and the message type") {
  cluster c(4);
  auto vs = make_validators(4);
  auto f = make_vote(c, 1, msg_type::prepare, 0, 1, digest{3});
  auto v = *decode_vote(f);
  signing_context other{"other-chain", bft::epoch{0}};
  signing_context later{"test-chain", bft::epoch{1}};
  verify_context ok{vs, c.verifier, test_ctx(), {}};
  verify_context bad_chain{vs, c.verifier, other, {}};
  verify_context bad_epoch{vs, c.verifier, later, {}};
  CHECK(verify(v, ok));
  CHECK_FALSE(verify(v, bad_chain));
  CHECK_FALSE(verify(v, bad_epoch));
  v.phase = msg_type::commit; // a prepare signature is not a commit signature
  CHECK_FALSE(verify(v, ok));
}

TEST_CASE("the inspector states what a frame commits its signer to and builds Byzantine "
          "variants") {
  cluster c(4);
  auto insp = make_inspector();
  const auto& cfg = c.r(0).config();
  client cl(7);
  batch b{cl.request(), cl.request()};
  auto pp = make_pp(c, 0, 0, 1, b);
  auto st = insp->statement_of(pp, cfg.validators, c.verifier, cfg);
  REQUIRE(st);
  CHECK(st->signer == replica_id{0});
  CHECK(st->phase == static_cast<std::uint8_t>(phase::pre_prepare));
  CHECK(st->seq == 1);
  CHECK(st->content == batch_digest(b));
  auto alt = insp->conflicting_variant(pp, *c.signers[0], cfg, 1);
  REQUIRE(alt);
  auto st2 = insp->statement_of(*alt, cfg.validators, c.verifier, cfg);
  REQUIRE(st2);
  CHECK(st2->view == st->view);
  CHECK(st2->seq == st->seq);
  CHECK(st2->content != st->content);
  CHECK(decode_pre_prepare(*alt)->d == batch_digest(*decode_pre_prepare(*alt)->requests));
  auto pr = make_vote(c, 2, msg_type::prepare, 0, 1, digest{3});
  auto pr2 = insp->conflicting_variant(pr, *c.signers[2], cfg, 5);
  REQUIRE(pr2);
  CHECK(insp->statement_of(*pr2, cfg.validators, c.verifier, cfg)->content != digest{3});
  auto fut = insp->future_view_variant(pr, *c.signers[2], cfg, 3);
  REQUIRE(fut);
  CHECK(insp->statement_of(*fut, cfg.validators, c.verifier, cfg)->view == 3);
  auto corrupted = pr;
  corrupted.back() ^= 1;
  CHECK_FALSE(insp->statement_of(corrupted, cfg.validators, c.verifier, cfg));
  // forged certificates are caught by the certificate check only
  verify_context ctx{cfg.validators, c.verifier, test_ctx(), {}};
  ctx.log_window = 20;
  auto vc = make_vc(c, 2, 1, {make_cert(c, 0, 1, digest{1}, {1, 2})});
  REQUIRE(verify_view_change(*decode_view_change(vc), ctx).has_value());
  for (std::uint64_t salt = 0; salt < 4; ++salt) {
    auto forged = insp->forged_certificate_variant(vc, *c.signers[2], cfg, salt);
    REQUIRE(forged);
    CHECK(insp->statement_of(*forged, cfg.validators, c.verifier, cfg));
    CHECK_FALSE(verify_view_change(*decode_view_change(*forged), ctx).has_value());
  }
  auto empty_vc = make_vc(c, 2, 1);
  auto forged = insp->forged_certificate_variant(empty_vc, *c.signers[2], cfg, 0);
  REQUIRE(forged);
  CHECK_FALSE(verify_view_change(*decode_view_change(*forged), ctx).has_value());
}
