// libFuzzer target: the secure transport's decoders (net/secure_channel.hpp) and the signed
// address records of discovery (net/address_book.hpp): everything an unauthenticated party,
// or an authenticated Byzantine one, can put in front of a node's secure port. The first byte
// picks what the rest is fed to:
//   0  an accepting handshake's first message (the hello), and the length prefix;
//   1  a dialling handshake's second message (the answer to a real hello);
//   2  a sealed frame on an established session (it must not open: only the peer's key can
//      seal), then, sealed properly, the same bytes as a frame body;
//   3  a call, a reply and a records list: what decodes must encode back to its bytes;
//   4  an address record: what decodes must encode back to its bytes.
#include <algorithm>
#include <memory>

#include "crypto/ed25519.hpp"
#include "net/address_book.hpp"
#include "net/secure_channel.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;

struct world {
  std::vector<std::shared_ptr<crypto::ed25519_signer>> signers;
  validator_set vs;
  world() {
    std::vector<public_key> keys;
    for (std::uint8_t i = 0; i < 4; ++i) {
      std::array<std::uint8_t, 32> seed{};
      seed[0] = i + 1;
      signers.push_back(std::make_shared<crypto::ed25519_signer>(crypto::key_pair_from_seed(seed)));
      keys.push_back(signers.back()->key());
    }
    vs = validator_set::equal_weights(keys);
  }
  std::shared_ptr<const net::local_identity> me(std::uint32_t i) const {
    auto m = std::make_shared<net::local_identity>();
    m->chain_id = "fuzz-chain";
    m->id = replica_id{i};
    m->signer = signers[i];
    m->verifier = std::make_shared<crypto::ed25519_verifier>();
    m->validators = vs;
    return m;
  }
};

const world& the_world() {
  static const world w;
  return w;
}

template <class T>
void check_round_trip(byte_view in) {
  auto d = T::decode(in);
  if (!d) return;
  auto again = d->head();
  again.insert(again.end(), d->data.begin(), d->data.end());
  FUZZ_CHECK(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto mode = data[0] % 5;
  const byte_view in(data + 1, size - 1);
  const auto& w = the_world();
  switch (mode) {
  case 0: {
    if (in.size() >= 4) (void)net::read_prefix(in.data(), net::max_handshake_bytes);
    auto a = net::handshake::accept(w.me(0));
    auto step = a.on_message(in);
    FUZZ_CHECK(step.refused || !step.send.empty()); // an answer, or a reason
    FUZZ_CHECK(!a.done());                          // never done on one message
    break;
  }
  case 1: {
    auto d = net::handshake::dial(w.me(1), replica_id{0});
    (void)d.hello();
    auto step = d.on_message(in);
    // Completing takes a signature of validator 0 over a transcript with our fresh nonce.
    FUZZ_CHECK(step.refused.has_value() && !d.done());
    break;
  }
  case 2: {
    auto d = net::handshake::dial(w.me(1), replica_id{0});
    auto a = net::handshake::accept(w.me(0));
    auto s1 = a.on_message(d.hello());
    auto s2 = d.on_message(s1.send);
    auto s3 = a.on_message(s2.send);
    FUZZ_CHECK(!s1.refused && !s2.refused && !s3.refused && d.done() && a.done());
    auto tx = d.take_session();
    auto rx = a.take_session();
    FUZZ_CHECK(!rx.open(in, 0, 300000)); // forged: does not open
    bytes wire;
    tx.seal(wire, net::frame_kind::call, 1, in);
    auto o = rx.open(byte_view(wire).subspan(net::prefix_bytes), 1, 300000);
    FUZZ_CHECK(o && o->kind == net::frame_kind::call && o->body.size() == in.size() &&
               std::equal(o->body.begin(), o->body.end(), in.begin()));
    break;
  }
  case 3: {
    check_round_trip<net::call>(in);
    check_round_trip<net::reply>(in);
    if (auto r = net::decode_records(in)) {
      auto again = net::encode_records(*r);
      FUZZ_CHECK(again.size() == in.size() && std::equal(again.begin(), again.end(), in.begin()));
    }
    break;
  }
  case 4: {
    const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
    if (auto r = net::address_record::decode(text)) FUZZ_CHECK(r->encode() == text);
    break;
  }
  }
  return 0;
}
