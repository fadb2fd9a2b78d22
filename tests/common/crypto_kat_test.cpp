#include <doctest/doctest.h>

#include "crypto/ed25519.hpp"
#include "crypto/fake_signer.hpp"
#include "crypto/sha3.hpp"

using namespace bft;

namespace {
bytes hex(std::string_view s) {
  bytes b;
  REQUIRE(from_hex(s, b));
  return b;
}
} // namespace

TEST_CASE("SHA3-256 known answers (FIPS 202)") {
  CHECK(to_hex(crypto::sha3_256(bytes{})) ==
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
  CHECK(to_hex(crypto::sha3_256(as_bytes("abc"))) ==
        "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
  crypto::sha3_hasher h;
  h.update(as_bytes("a"));
  h.update(as_bytes("bc"));
  CHECK(to_hex(h.finish()) == to_hex(crypto::sha3_256({as_bytes("ab"), as_bytes("c")})));
}

TEST_CASE("ed25519 test vector 1 of RFC 8032") {
  auto seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  std::array<std::uint8_t, 32> s{};
  std::copy(seed.begin(), seed.end(), s.begin());
  auto kp = crypto::key_pair_from_seed(s);
  CHECK(to_hex(kp.pub) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  crypto::ed25519_signer signer(kp);
  auto sig = signer.sign(bytes{});
  CHECK(to_hex(sig) == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  crypto::ed25519_verifier v;
  CHECK(v.verify(kp.pub, bytes{}, sig));
  sig[0] ^= 1;
  CHECK_FALSE(v.verify(kp.pub, bytes{}, sig));
}

TEST_CASE("the fake signer verifies its own signatures and nobody else's") {
  crypto::fake_signer a(1), b(2);
  crypto::fake_verifier v;
  auto m = as_bytes("message");
  CHECK(v.verify(a.key(), m, a.sign(m)));
  CHECK_FALSE(v.verify(b.key(), m, a.sign(m)));
  CHECK_FALSE(v.verify(a.key(), as_bytes("messagf"), a.sign(m)));
}
