// libFuzzer target: the key file parser (crypto/key_file.hpp, parse_key_file: the text that
// load_key_file reads). Invariants: a key pair that parses is consistent (its public key is
// the one its seed derives, and it signs what its public key verifies), and its canonical text
// parses to the same pair.
#include <algorithm>
#include <string>

#include "crypto/ed25519.hpp"
#include "crypto/key_file.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft;
  if (size > crypto::max_key_file_bytes) return 0;
  auto kp = crypto::parse_key_file(fuzz::input_text(data, size), "node.key");
  if (!kp) return 0;
  std::array<std::uint8_t, 32> seed{};
  std::copy_n(kp->sec.bytes().begin(), seed.size(), seed.begin());
  FUZZ_CHECK(crypto::key_pair_from_seed(seed).pub == kp->pub);
  const crypto::ed25519_signer signer(*kp);
  FUZZ_CHECK(crypto::ed25519_verifier{}.verify(kp->pub, as_bytes("m"), signer.sign(as_bytes("m"))));
  std::string text = "format = \"bft-ed25519-v1\"\npublic_key = \"";
  text += to_hex(kp->pub);
  text += "\"\nsecret_key = \"";
  text += to_hex(kp->sec.bytes());
  text += "\"\n";
  auto again = crypto::parse_key_file(text, "node.key");
  FUZZ_CHECK(again && again->pub == kp->pub && again->sec.bytes() == kp->sec.bytes());
  return 0;
}
