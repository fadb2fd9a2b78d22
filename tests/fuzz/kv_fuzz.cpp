// libFuzzer target: the key/value application's transaction and result decoders
// (protocols/smr/kv_tx.hpp): a transaction is a client's bytes, executed by every replica; a
// result travels in client replies and snapshots. The first input byte picks the decoder.
// Invariant: a transaction or result that decodes encodes back to exactly its bytes.
#include <algorithm>

#include "protocols/smr/kv_tx.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

bool same(const bft::bytes& a, bft::byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft::smr;
  if (size == 0) return 0;
  const auto in = bft::fuzz::input(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    if (auto t = kv_tx::decode(in)) FUZZ_CHECK(same(t->encode(), in));
  } else if (auto r = kv_result::decode(in)) {
    FUZZ_CHECK(same(r->encode(), in));
  }
  return 0;
}
