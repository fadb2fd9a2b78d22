// The secure channel without sockets: framing limits, the handshake (who may connect, what
// is refused and why), sealed frames (tampered, replayed, reordered) and the link checks.
#include <doctest/doctest.h>

#include "crypto/ed25519.hpp"
#include "net/secure_channel.hpp"

using namespace bft;
using namespace bft::net;

namespace {

struct cluster {
  std::vector<std::shared_ptr<crypto::ed25519_signer>> signers;
  validator_set vs;
  cluster() {
    std::vector<public_key> keys;
    for (int i = 0; i < 4; ++i) {
      signers.push_back(std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair()));
      keys.push_back(signers.back()->key());
    }
    vs = validator_set::equal_weights(keys);
  }
  std::shared_ptr<local_identity> me(std::uint32_t i, std::string chain = "test-chain") const {
    auto m = std::make_shared<local_identity>();
    m->chain_id = std::move(chain);
    m->id = replica_id{i};
    m->signer = signers.at(i);
    m->verifier = std::make_shared<crypto::ed25519_verifier>();
    m->validators = vs;
    return m;
  }
};

struct pair_result {
  std::optional<reason> refused;
  std::optional<session> dialler;
  std::optional<session> accepter;
};

pair_result connect(handshake d, handshake a) {
  pair_result out;
  auto h1 = d.hello();
  auto s1 = a.on_message(h1);
  if (s1.refused) {
    out.refused = s1.refused;
    return out;
  }
  auto s2 = d.on_message(s1.send);
  if (s2.refused) {
    out.refused = s2.refused;
    return out;
  }
  auto s3 = a.on_message(s2.send);
  if (s3.refused) {
    out.refused = s3.refused;
    return out;
  }
  REQUIRE(d.done());
  REQUIRE(a.done());
  out.dialler.emplace(d.take_session());
  out.accepter.emplace(a.take_session());
  return out;
}

bytes seal_one(session& s, std::string_view text, std::uint64_t now = 1000) {
  bytes wire;
  s.seal(wire, frame_kind::call, now, as_bytes(text));
  return wire;
}

byte_view sealed_part(const bytes& wire) { return byte_view(wire).subspan(prefix_bytes); }

} // namespace

TEST_CASE("secure channel: the length prefix is checked against the limit before anything else") {
  std::uint8_t p[4];
  put_prefix(p, 512);
  CHECK(read_prefix(p, max_handshake_bytes) == 512u);
  put_prefix(p, 513);
  CHECK_FALSE(read_prefix(p, max_handshake_bytes));
  put_prefix(p, 0);
  CHECK_FALSE(read_prefix(p, max_handshake_bytes));
  put_prefix(p, 0xffffffffu); // the 4 GiB claim
  CHECK_FALSE(read_prefix(p, max_sealed_bytes));
  // A BASP header's first four bytes, read as our prefix, are refused before the handshake.
  const std::uint8_t basp[4] = {0x00, 0x00, 0x00, 0x01};
  CHECK_FALSE(read_prefix(basp, max_handshake_bytes));
}

TEST_CASE("secure channel: two validators of genesis agree on a session and exchange frames") {
  cluster c;
  auto r = connect(handshake::dial(c.me(1), replica_id{2}), handshake::accept(c.me(2)));
  REQUIRE_FALSE(r.refused);
  CHECK(r.dialler->peer().id == replica_id{2});
  CHECK(r.accepter->peer().id == replica_id{1});
  CHECK(r.accepter->peer().role == role::validator);
  for (int i = 0; i < 3; ++i) {
    auto wire = seal_one(*r.dialler, "frame " + std::to_string(i));
    CHECK(read_prefix(wire.data(), max_sealed_bytes) == wire.size() - prefix_bytes);
    auto o = r.accepter->open(sealed_part(wire), 1000, 300000);
    REQUIRE(o);
    CHECK(o->seq == static_cast<std::uint64_t>(i + 1));
    CHECK(std::string(o->body.begin(), o->body.end()) == "frame " + std::to_string(i));
    CHECK_FALSE(o->anomaly.seq_gap);
    CHECK_FALSE(o->anomaly.clock_out);
  }
  auto back = seal_one(*r.accepter, "answer");
  auto o = r.dialler->open(sealed_part(back), 1000, 300000);
  REQUIRE(o);
  CHECK(std::string(o->body.begin(), o->body.end()) == "answer");
}

TEST_CASE(
    "secure channel: a client proves its own key, and a node that serves no clients refuses") {
  cluster c;
  auto client = std::make_shared<local_identity>(*c.me(0));
  client->role = role::client;
  client->signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
  auto r = connect(handshake::dial(client, replica_id{3}), handshake::accept(c.me(3)));
  REQUIRE_FALSE(r.refused);
  CHECK(r.accepter->peer().role == role::client);
  CHECK(r.accepter->peer().key == client->signer->key());
  auto closed = c.me(3);
  closed->accept_clients = false;
  auto r2 = connect(handshake::dial(client, replica_id{3}), handshake::accept(closed));
  CHECK(r2.refused == reason::unknown_key);
}

TEST_CASE("secure channel: refusals name their reason") {
  cluster c;
  SUBCASE("wrong chain id") {
    auto r = connect(handshake::dial(c.me(1, "other"), replica_id{2}), handshake::accept(c.me(2)));
    CHECK(r.refused == reason::wrong_chain);
  }
  SUBCASE("an unknown key claiming a validator id") {
    auto liar = c.me(1);
    liar->signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
    auto r = connect(handshake::dial(liar, replica_id{2}), handshake::accept(c.me(2)));
    CHECK(r.refused == reason::unknown_key);
  }
  SUBCASE("dialled the wrong validator") {
    auto r = connect(handshake::dial(c.me(1), replica_id{3}), handshake::accept(c.me(2)));
    CHECK(r.refused == reason::wrong_peer);
  }
  SUBCASE("an accepter that is not the validator it claims (its key signs nothing of genesis)") {
    auto impostor = c.me(2);
    impostor->signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
    auto r = connect(handshake::dial(c.me(1), replica_id{2}), handshake::accept(impostor));
    CHECK(r.refused == reason::unknown_key);
  }
  SUBCASE("not our protocol: a BASP-like header") {
    auto a = handshake::accept(c.me(2));
    bytes junk(32, 0);
    junk[3] = 1;
    CHECK(a.on_message(junk).refused == reason::version);
  }
  SUBCASE("truncated and padded hellos") {
    auto d = handshake::dial(c.me(1), replica_id{2});
    auto h = d.hello();
    auto short_h = h;
    short_h.pop_back();
    CHECK(handshake::accept(c.me(2)).on_message(short_h).refused == reason::malformed);
    auto long_h = h;
    long_h.push_back(0);
    CHECK(handshake::accept(c.me(2)).on_message(long_h).refused == reason::malformed);
    bytes huge(max_handshake_bytes + 1, 0);
    CHECK(handshake::accept(c.me(2)).on_message(huge).refused == reason::oversized);
  }
}

TEST_CASE("secure channel: a replayed hello cannot complete: its proof is for another session") {
  cluster c;
  auto d = handshake::dial(c.me(1), replica_id{2});
  auto a = handshake::accept(c.me(2));
  auto h1 = d.hello();
  auto s1 = a.on_message(h1);
  auto s2 = d.on_message(s1.send);
  REQUIRE(a.on_message(s2.send).refused == std::nullopt);
  // An eavesdropper replays the hello and the proof to a fresh accepting side.
  auto a2 = handshake::accept(c.me(2));
  auto replay1 = a2.on_message(h1);
  REQUIRE_FALSE(replay1.refused);
  CHECK(a2.dialler_nonce() == a.dialler_nonce()); // what the accepter's replay cache keys on
  CHECK(a2.on_message(s2.send).refused == reason::bad_signature);
  CHECK_FALSE(a2.done());
}

TEST_CASE("secure channel: a tampered, replayed or reordered frame does not open") {
  cluster c;
  auto r = connect(handshake::dial(c.me(0), replica_id{1}), handshake::accept(c.me(1)));
  REQUIRE_FALSE(r.refused);
  SUBCASE("tampered") {
    auto w = seal_one(*r.dialler, "hello");
    w[prefix_bytes + 3] ^= 1;
    CHECK_FALSE(r.accepter->open(sealed_part(w), 1000, 300000));
  }
  SUBCASE("replayed") {
    auto w = seal_one(*r.dialler, "hello");
    REQUIRE(r.accepter->open(sealed_part(w), 1000, 300000));
    CHECK_FALSE(r.accepter->open(sealed_part(w), 1000, 300000));
  }
  SUBCASE("reordered") {
    auto w1 = seal_one(*r.dialler, "one");
    auto w2 = seal_one(*r.dialler, "two");
    CHECK_FALSE(r.accepter->open(sealed_part(w2), 1000, 300000));
    (void)w1;
  }
  SUBCASE("from another session") {
    auto r2 = connect(handshake::dial(c.me(0), replica_id{1}), handshake::accept(c.me(1)));
    auto w = seal_one(*r2.dialler, "hello");
    CHECK_FALSE(r.accepter->open(sealed_part(w), 1000, 300000));
  }
}

TEST_CASE("secure channel: the link checks count a clock outside the window, never refuse it") {
  cluster c;
  auto r = connect(handshake::dial(c.me(0), replica_id{1}), handshake::accept(c.me(1)));
  REQUIRE_FALSE(r.refused);
  const std::uint64_t now = 10'000'000;
  auto w = seal_one(*r.dialler, "late", now - 300'001);
  auto o = r.accepter->open(sealed_part(w), now, 300'000);
  REQUIRE(o);
  CHECK(o->anomaly.clock_out);
  auto w2 = seal_one(*r.dialler, "in time", now + 299'000);
  auto o2 = r.accepter->open(sealed_part(w2), now, 300'000);
  REQUIRE(o2);
  CHECK_FALSE(o2->anomaly.clock_out);
}

TEST_CASE("secure channel: calls and replies round-trip, and malformed ones are refused") {
  call c;
  c.id = 7;
  c.what = call::op::batch;
  c.from = 3;
  const std::string data = "some frames";
  c.data = data;
  auto head = c.head();
  bytes body = head;
  body.insert(body.end(), data.begin(), data.end());
  auto d = call::decode(body);
  REQUIRE(d);
  CHECK(d->id == 7);
  CHECK(d->what == call::op::batch);
  CHECK(d->from == 3);
  CHECK(d->data == data);
  auto shortb = body;
  shortb.pop_back();
  CHECK_FALSE(call::decode(shortb));
  auto bad_op = body;
  bad_op[4] = 9;
  CHECK_FALSE(call::decode(bad_op));
  reply rp;
  rp.id = 7;
  rp.what = reply::status::ack;
  auto rb = rp.head();
  auto rd = reply::decode(rb);
  REQUIRE(rd);
  CHECK(rd->what == reply::status::ack);
  CHECK(rd->data.empty());
}

TEST_CASE("secure channel: a bootstrap dial takes whichever validator answers, if it proves it") {
  cluster c;
  auto r = connect(handshake::dial(c.me(1), any_validator), handshake::accept(c.me(3)));
  REQUIRE_FALSE(r.refused);
  CHECK(r.dialler->peer().id == replica_id{3});
  auto impostor = c.me(3);
  impostor->signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
  auto r2 = connect(handshake::dial(c.me(1), any_validator), handshake::accept(impostor));
  CHECK(r2.refused == reason::unknown_key);
}

TEST_CASE("secure channel: gossiped address records round-trip within their bounds") {
  std::vector<std::string> recs{"one", std::string(max_gossip_record_bytes, 'r'), ""};
  auto b = encode_records(recs);
  auto d = decode_records(b);
  REQUIRE(d);
  CHECK(*d == recs);
  auto cut = b;
  cut.pop_back();
  CHECK_FALSE(decode_records(cut));
  auto padded = b;
  padded.push_back(0);
  CHECK_FALSE(decode_records(padded));
  // A count that the input could not hold is refused before anything is reserved for it.
  bytes lying{0xff, 0xff, 0x00, 0x00};
  CHECK_FALSE(decode_records(lying));
}
