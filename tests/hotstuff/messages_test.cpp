#include <doctest/doctest.h>

#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

namespace {

/// Every strict prefix of a frame, and the frame with one byte appended, fails to decode
/// (and never crashes); the frame itself decodes.
void check_truncations(const bytes& frame) {
  REQUIRE(decode(frame).has_value());
  for (std::size_t k = 0; k < frame.size(); ++k) {
    bytes cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(k));
    CHECK_FALSE(decode(cut).has_value());
  }
  // An extra byte before the signature is trailing input: rejected.
  bytes longer(frame.begin(), frame.end() - 64);
  longer.push_back(0);
  longer.insert(longer.end(), frame.end() - 64, frame.end());
  CHECK_FALSE(decode(longer).has_value());
}

struct fixture {
  cluster c{4};
  sign_context ctx{c.config().chain_id, c.config().epoch};
  block_ptr b1 = make_block(c, *genesis_block(), view_number{1},
                            {make_request(1, 1, c.config(), 3), make_request(2, 7, c.config())});
  block_ptr b2 = make_block(c, *b1, view_number{2});
};

} // namespace

TEST_CASE("a proposal round-trips, hashes once from its bytes, and every truncation fails") {
  fixture f;
  auto frame = proposal_frame(f.c, *f.b2);
  auto d = decode(frame);
  REQUIRE(d.has_value());
  CHECK(d->type == msg_type::proposal);
  CHECK(d->signer == f.b2->proposer);
  const auto& got = *std::get<proposal>(d->msg).blk;
  CHECK(got.hash == f.b2->hash);
  CHECK(got.parent == f.b1->hash);
  CHECK(got.justify == f.b2->justify);
  CHECK(verify_signature(*d, f.c.config().validators, f.c.verifier(), f.ctx).has_value());
  check_truncations(frame);
  auto f1 = proposal_frame(f.c, *f.b1);
  auto d1 = decode(f1);
  REQUIRE(d1.has_value());
  CHECK(std::get<proposal>(d1->msg).blk->requests == f.b1->requests);
  check_truncations(f1);
  // A new proposal hashes its block from the frame's bytes: the same hash as finalize().
  block fresh = *f.b2;
  fresh.hash = digest{};
  auto nf = encode_new_proposal(fresh, f.c.signer(fresh.proposer.value()), f.ctx);
  CHECK(fresh.hash == f.b2->hash);
  CHECK(nf == frame);
}

TEST_CASE("a vote round-trips and every truncation fails") {
  fixture f;
  auto frame =
      encode_vote(f.b1->hash, f.b1->view, f.b1->height, replica_id{2}, f.c.signer(2), f.ctx);
  auto d = decode(frame);
  REQUIRE(d.has_value());
  auto v = std::get<vote>(d->msg);
  CHECK(v.block == f.b1->hash);
  CHECK(v.view == f.b1->view);
  CHECK(v.height == f.b1->height);
  CHECK(v.signer == replica_id{2});
  CHECK(verify_signature(*d, f.c.config().validators, f.c.verifier(), f.ctx).has_value());
  check_truncations(frame);
}

TEST_CASE("a new-view round-trips and every truncation fails") {
  fixture f;
  new_view m{
      view_number{9}, replica_id{1}, f.b2->justify,
      encode_vote(f.b2->hash, f.b2->view, f.b2->height, replica_id{1}, f.c.signer(1), f.ctx)};
  auto frame = encode_new_view(m, f.c.signer(1), f.ctx);
  auto d = decode(frame);
  REQUIRE(d.has_value());
  auto got = std::get<new_view>(d->msg);
  CHECK(got.view == m.view);
  CHECK(got.sender == m.sender);
  CHECK(got.high_qc == m.high_qc);
  CHECK(got.last_vote == m.last_vote);
  check_truncations(frame);
  new_view empty{view_number{9}, replica_id{1}, f.b2->justify, {}};
  check_truncations(encode_new_view(empty, f.c.signer(1), f.ctx));
}

TEST_CASE("block requests and responses round-trip and every truncation fails") {
  fixture f;
  auto req = encode_block_request({replica_id{3}, f.b2->hash, 5}, f.c.signer(3), f.ctx);
  auto d = decode(req);
  REQUIRE(d.has_value());
  CHECK(std::get<block_request>(d->msg).hash == f.b2->hash);
  CHECK(std::get<block_request>(d->msg).max_count == 5);
  check_truncations(req);
  // max_count outside 1..max_blocks is malformed.
  CHECK_FALSE(decode(encode_block_request({replica_id{3}, f.b2->hash, 0}, f.c.signer(3), f.ctx))
                  .has_value());
  CHECK_FALSE(decode(encode_block_request({replica_id{3}, f.b2->hash, 65}, f.c.signer(3), f.ctx))
                  .has_value());

  block_response resp{replica_id{0}, f.b2->hash, 7, {f.b2, f.b1}};
  auto frame = encode_block_response(resp, f.c.signer(0), f.ctx);
  auto d2 = decode(frame);
  REQUIRE(d2.has_value());
  const auto& got = std::get<block_response>(d2->msg);
  REQUIRE(got.blocks.size() == 2);
  CHECK(got.blocks[0]->hash == f.b2->hash);
  CHECK(got.blocks[1]->hash == f.b1->hash);
  CHECK(got.committed_height == 7);
  check_truncations(frame);
}

TEST_CASE("frames of another protocol, another version, or a wrong signature are refused") {
  fixture f;
  auto frame = proposal_frame(f.c, *f.b1);
  auto wrong_version = frame;
  wrong_version[2] = 2;
  CHECK_FALSE(decode(wrong_version).has_value());
  auto pbft_type = frame;
  pbft_type[1] = 0x01;
  CHECK_FALSE(decode(pbft_type).has_value());
  auto bad_sig = frame;
  bad_sig.back() ^= 1;
  auto d = decode(bad_sig);
  REQUIRE(d.has_value());
  CHECK_FALSE(verify_signature(*d, f.c.config().validators, f.c.verifier(), f.ctx).has_value());
  // A signature for another chain does not verify here.
  sign_context other{"other-chain", f.c.config().epoch};
  auto foreign = encode_proposal(*f.b1, f.c.signer(f.b1->proposer.value()), other);
  auto d2 = decode(foreign);
  REQUIRE(d2.has_value());
  CHECK_FALSE(verify_signature(*d2, f.c.config().validators, f.c.verifier(), f.ctx).has_value());
}

TEST_CASE("the safety record round-trips and every truncation fails") {
  fixture f;
  safety_record r = safety_record::genesis();
  r.last_voted_view = view_number{12};
  r.locked_qc = f.b2->justify;
  r.high_qc = f.b2->justify;
  r.exec = chain_root{f.b1->hash, f.b1->height, f.b1->view};
  auto bytes_ = r.encode();
  auto back = safety_record::decode(bytes_);
  REQUIRE(back.has_value());
  CHECK(*back == r);
  for (std::size_t k = 0; k < bytes_.size(); ++k)
    CHECK_FALSE(safety_record::decode(byte_view(bytes_).first(k)).has_value());
}
