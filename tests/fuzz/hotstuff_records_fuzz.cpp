// libFuzzer target: the HotStuff replica's stored records, as a restart reads them back from
// the store: the safety record (protocols/hotstuff/safety.hpp), a stored block
// ("hotstuff/block/<hash>", block.hpp) and the amnesia guard's record (recovery.hpp). The
// first input byte picks the record, the rest is the stored value.
// Invariants: a value that decodes encodes back to exactly its bytes; a block's hash is the
// SHA3-256 of those bytes.
#include <algorithm>

#include "crypto/sha3.hpp"
#include "protocols/common/recovery.hpp"
#include "protocols/hotstuff/safety.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;
using namespace bft::hotstuff;

bool same(const bytes& a, byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto in = fuzz::input(data + 1, size - 1);
  switch (data[0] % 3) {
  case 0:
    if (auto r = safety_record::decode(in)) FUZZ_CHECK(same(r->encode(), in));
    break;
  case 1: {
    codec::reader r(in);
    auto b = block::decode(r, in);
    if (!r.finish()) break;
    codec::writer w;
    b.encode(w);
    FUZZ_CHECK(same(w.data(), in));
    FUZZ_CHECK(b.hash == crypto::sha3_256(in));
    break;
  }
  default:
    if (auto g = recovery::guard_state::decode(in)) FUZZ_CHECK(same(g->encode(), in));
    break;
  }
  return 0;
}
