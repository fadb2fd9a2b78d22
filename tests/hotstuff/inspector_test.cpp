#include <doctest/doctest.h>

#include "protocols/hotstuff/inspector.hpp"
#include "protocols/hotstuff/mutants.hpp"
#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

TEST_CASE("the inspector states what proposals and votes commit to, and nothing else") {
  cluster c(4);
  auto insp = make_inspector();
  sign_context sc{c.config().chain_id, c.config().epoch};
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  auto p =
      insp->statement_of(proposal_frame(c, *b1), c.config().validators, c.verifier(), c.config());
  REQUIRE(p);
  CHECK(p->signer == replica_id{1});
  CHECK(p->phase == static_cast<std::uint8_t>(phase::proposal));
  CHECK(p->view == 1);
  CHECK(p->content == b1->hash);
  auto vf = encode_vote(b1->hash, b1->view, b1->height, replica_id{3}, c.signer(3), sc);
  auto v = insp->statement_of(vf, c.config().validators, c.verifier(), c.config());
  REQUIRE(v);
  CHECK(v->signer == replica_id{3});
  CHECK(v->phase == static_cast<std::uint8_t>(phase::vote));
  CHECK(v->content == b1->hash);
  auto bad = vf;
  bad.back() ^= 1;
  CHECK_FALSE(insp->statement_of(bad, c.config().validators, c.verifier(), c.config()));
  auto req = encode_block_request({replica_id{2}, b1->hash, 4}, c.signer(2), sc);
  CHECK_FALSE(insp->statement_of(req, c.config().validators, c.verifier(), c.config()));
}

TEST_CASE("a conflicting proposal variant is accepted alone but yields evidence next to the "
          "original") {
  cluster c(4, 0, 8, pinned(1, 8));
  auto insp = make_inspector();
  auto b1 = make_block(c, *genesis_block(), view_number{1}, {make_request(1, 1, c.config())});
  auto frame = proposal_frame(c, *b1);
  for (std::uint64_t salt : {1u, 2u, 7u}) {
    CAPTURE(salt);
    auto other = insp->conflicting_variant(frame, c.signer(1), c.config(), salt);
    REQUIRE(other);
    auto s1 = insp->statement_of(frame, c.config().validators, c.verifier(), c.config());
    auto s2 = insp->statement_of(*other, c.config().validators, c.verifier(), c.config());
    REQUIRE(s2);
    CHECK(s1->view == s2->view);
    CHECK(s1->content != s2->content);
  }
  auto other = *insp->conflicting_variant(frame, c.signer(1), c.config(), 3);
  // Alone, the variant is a valid proposal (replica 2 votes for it).
  c.step(2, ev::received{replica_id{1}, other});
  CHECK(c.at(2).safety_state().last_voted_view == view_number{1});
  // After the original, replica 3 reports both signed frames.
  c.step(3, ev::received{replica_id{1}, frame});
  c.step(3, ev::received{replica_id{1}, other});
  REQUIRE(c.evidence().size() == 1);
  CHECK(c.evidence()[0].culprit == replica_id{1});
  CHECK(c.evidence()[0].first == frame);
  CHECK(c.evidence()[0].second == other);
}

TEST_CASE("a double vote yields evidence at the next leader") {
  cluster c(4);
  auto insp = make_inspector();
  sign_context sc{c.config().chain_id, c.config().epoch};
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  auto vf = encode_vote(b1->hash, b1->view, b1->height, replica_id{3}, c.signer(3), sc);
  auto other = insp->conflicting_variant(vf, c.signer(3), c.config(), 9);
  REQUIRE(other);
  c.step(2, ev::received{replica_id{3}, vf});
  c.step(2, ev::received{replica_id{3}, *other});
  REQUIRE(c.evidence().size() == 1);
  CHECK(c.evidence()[0].culprit == replica_id{3});
  auto a =
      insp->statement_of(c.evidence()[0].first, c.config().validators, c.verifier(), c.config());
  auto b =
      insp->statement_of(c.evidence()[0].second, c.config().validators, c.verifier(), c.config());
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->view == b->view);
  CHECK(a->content != b->content);
}

TEST_CASE("forged-certificate variants are refused by the QC check alone") {
  for (std::uint64_t salt : {0u, 1u, 2u, 3u}) {
    CAPTURE(salt);
    cluster c(4, 0, 8, pinned(1, 8));
    auto insp = make_inspector();
    auto b1 = make_block(c, *genesis_block(), view_number{1});
    auto b2 = make_block(c, *b1, view_number{2});
    c.step(3, ev::received{replica_id{1}, proposal_frame(c, *b1)});
    auto cfg1 = c.config();
    cfg1.self = replica_id{1};
    auto forged = insp->forged_certificate_variant(proposal_frame(c, *b2), c.signer(1), cfg1, salt);
    REQUIRE(forged);
    // Signed correctly by the leader: only the certificate is wrong.
    CHECK(insp->statement_of(*forged, c.config().validators, c.verifier(), c.config()));
    c.rejected().clear();
    c.step(3, ev::received{replica_id{1}, *forged});
    REQUIRE_FALSE(c.rejected().empty());
    CHECK(c.rejected().back().reason.find("QC") != std::string::npos);
    CHECK(c.at(3).safety_state().last_voted_view == view_number{1});
    if (salt % 2 == 0) {
      // One signer's vote repeated as a quorum: refused, except by the mutant.
      cluster m(4, static_cast<std::uint64_t>(mutant::accept_qc_with_duplicate_signer), 8,
                pinned(1, 8));
      m.step(3, ev::received{replica_id{1}, proposal_frame(m, *b1)});
      m.step(3, ev::received{replica_id{1}, *forged});
      CHECK(m.at(3).safety_state().last_voted_view == view_number{2});
    }
  }
}

TEST_CASE("future-view variants are re-signed for the later view") {
  cluster c(4);
  auto insp = make_inspector();
  sign_context sc{c.config().chain_id, c.config().epoch};
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  auto vf = encode_vote(b1->hash, b1->view, b1->height, replica_id{3}, c.signer(3), sc);
  auto fut = insp->future_view_variant(vf, c.signer(3), c.config(), 2);
  REQUIRE(fut);
  auto s = insp->statement_of(*fut, c.config().validators, c.verifier(), c.config());
  REQUIRE(s);
  CHECK(s->view == 3);
  auto pf = insp->future_view_variant(proposal_frame(c, *b1), c.signer(1), c.config(), 1);
  REQUIRE(pf);
  // The proposer does not lead view 2: an honest replica refuses it.
  c.step(0, ev::received{replica_id{1}, *pf});
  REQUIRE_FALSE(c.rejected().empty());
  CHECK(c.at(0).safety_state().last_voted_view == view_number{0});
}
