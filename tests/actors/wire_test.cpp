#include <doctest/doctest.h>

#include "actors/wire.hpp"
#include "crypto/fake_signer.hpp"

using namespace bft;
using namespace bft::actors;

TEST_CASE("a hello round-trips and its signature binds chain, id and the other side's nonce") {
  crypto::fake_signer s(7);
  crypto::fake_verifier v;
  hello h;
  h.step = 3;
  h.chain_id = "chain";
  h.id = replica_id{2};
  h.echo = make_nonce();
  h.sign(s, epoch{0});
  auto back = hello::decode(h.encode());
  REQUIRE(back);
  CHECK(back->verify(v, s.key(), epoch{0}));
  CHECK(back->id == h.id);
  CHECK(back->echo == h.echo);

  auto other_nonce = *back;
  other_nonce.echo[0] ^= 1;
  CHECK_FALSE(other_nonce.verify(v, s.key(), epoch{0}));
  auto other_chain = *back;
  other_chain.chain_id = "other";
  CHECK_FALSE(other_chain.verify(v, s.key(), epoch{0}));
  auto other_id = *back;
  other_id.id = replica_id{3};
  CHECK_FALSE(other_id.verify(v, s.key(), epoch{0}));
  CHECK_FALSE(back->verify(v, crypto::fake_signer(8).key(), epoch{0}));
}

TEST_CASE("two nonces differ") { CHECK(make_nonce() != make_nonce()); }

TEST_CASE("truncated or padded hellos are rejected") {
  hello h;
  h.chain_id = "c";
  auto b = h.encode();
  for (std::size_t n = 0; n < b.size(); ++n) CHECK_FALSE(hello::decode(b.substr(0, n)));
  CHECK_FALSE(hello::decode(b + "x"));
  auto bad_step = b;
  bad_step[4] = 9;
  CHECK_FALSE(hello::decode(bad_step));
}

TEST_CASE("client calls and replies round-trip") {
  crypto::fake_signer s(1);
  client_call c;
  c.what = client_call::kind::submit;
  c.request.client_seq = 5;
  c.request.txs.push_back(smr::kv_tx::put("k", "v").encode());
  sign_request(c.request, s, "chain", epoch{0});
  auto back = client_call::decode(c.encode());
  REQUIRE(back);
  CHECK(back->what == client_call::kind::submit);
  CHECK(back->request == c.request);
  crypto::fake_verifier v;
  CHECK(verify_request(back->request, v, "chain", epoch{0}));
  CHECK_FALSE(verify_request(back->request, v, "other-chain", epoch{0}));

  client_reply r;
  r.what = client_reply::kind::status;
  r.replica = replica_id{3};
  r.view = 4;
  r.height = 9;
  r.state_root[0] = 1;
  r.active = 3;
  r.total = 4;
  r.validators.push_back(validator_health{replica_id{1}, true, 10, 1, 0});
  auto rb = client_reply::decode(r.encode());
  REQUIRE(rb);
  CHECK(rb->view == 4);
  CHECK(rb->height == 9);
  CHECK(rb->state_root == r.state_root);
  REQUIRE(rb->validators.size() == 1);
  CHECK(rb->validators[0].signature_failures == 1);

  client_reply receipt;
  receipt.what = client_reply::kind::receipt;
  receipt.client_seq = 5;
  receipt.results.push_back(smr::kv_result{smr::kv_status::ok, "v"});
  auto eb = receipt.encode();
  auto back_receipt = client_reply::decode(eb);
  REQUIRE(back_receipt);
  CHECK(back_receipt->results == receipt.results);
  for (std::size_t n = 0; n < eb.size(); ++n) CHECK_FALSE(client_reply::decode(eb.substr(0, n)));
}

TEST_CASE("a client call with an unknown kind or trailing bytes is rejected") {
  client_call c;
  auto b = c.encode();
  auto bad = b;
  bad[4] = 7;
  CHECK_FALSE(client_call::decode(bad));
  CHECK_FALSE(client_call::decode(b + "z"));
}

namespace {
std::vector<std::string> frames_of(const std::string& batch) {
  std::vector<std::string> out;
  auto n = for_each_in_batch(batch, [&](byte_view b) { out.emplace_back(b.begin(), b.end()); });
  if (!n) out.push_back("<malformed: " + n.error().message() + ">");
  return out;
}
} // namespace

TEST_CASE("a frame batch carries its frames in order, empty frames included") {
  std::string b;
  const std::vector<std::string> frames{"one", "", std::string(1000, 'x'), "last"};
  for (const auto& f : frames) append_to_batch(b, as_bytes(f));
  CHECK(batch_count(b) == 4);
  CHECK(check_batch(b).value() == 4);
  CHECK(frames_of(b) == std::vector<std::string>{"one", "", std::string(1000, 'x'), "last"});
}

TEST_CASE("malformed frame batches are rejected without reading past the input") {
  std::string good;
  append_to_batch(good, as_bytes(std::string("abc")));
  append_to_batch(good, as_bytes(std::string("defg")));
  // Every proper prefix is truncated; one more byte is trailing garbage.
  for (std::size_t cut = 0; cut < good.size(); ++cut)
    CHECK_FALSE(check_batch(std::string_view(good).substr(0, cut)));
  CHECK_FALSE(check_batch(good + "z"));
  // No frame at all.
  CHECK_FALSE(check_batch(std::string(4, '\0')));
  // A count far above what follows (and above the frame limit).
  std::string many = good;
  many[3] = '\x7f';
  CHECK_FALSE(check_batch(many));
  // A frame length claiming 4 GiB with 3 bytes behind it: refused before anything is read.
  std::string huge = good;
  for (int k = 4; k < 8; ++k) huge[static_cast<std::size_t>(k)] = '\xff';
  auto r = check_batch(huge);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("too large") != std::string::npos);
  // The callback never runs for a malformed batch, not even for its good first frame.
  std::size_t calls = 0;
  CHECK_FALSE(for_each_in_batch(good + "z", [&](byte_view) { ++calls; }));
  CHECK(calls == 0);
}

TEST_CASE("a frame batch over the size limit is rejected") {
  std::string big;
  append_to_batch(big, as_bytes(std::string(max_batch_bytes, 'x')));
  auto r = check_batch(big);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("larger than the limit") != std::string::npos);
}
