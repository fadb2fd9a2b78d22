// libFuzzer target: the PBFT replica's stored records (protocols/pbft/log_record.hpp) and the
// amnesia guard's record (protocols/common/recovery.hpp), as a restart reads them back from
// the store. The first input byte picks the record, the rest is the stored value.
// Invariant: a value that decodes encodes back to exactly its bytes (one encoding per record).
#include <algorithm>

#include "protocols/common/recovery.hpp"
#include "protocols/pbft/log_record.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;
using namespace bft::pbft;

bool same(const bytes& a, byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto in = fuzz::input(data + 1, size - 1);
  switch (data[0] % 6) {
  case 0:
    if (auto r = log_record::decode(in, 7)) {
      FUZZ_CHECK(!r->cert || r->cert->seq == seq_number{7});
      FUZZ_CHECK(same(r->encode(), in));
    }
    break;
  case 1:
    if (auto r = view_record::decode(in)) FUZZ_CHECK(same(r->encode(), in));
    break;
  case 2:
    if (auto r = transfer_record::decode(in)) FUZZ_CHECK(same(r->encode(), in));
    break;
  case 3:
    if (auto r = decode_stable(in)) FUZZ_CHECK(same(encode_stable(*r), in));
    break;
  case 4:
    if (auto r = decode_stored_batch(in)) FUZZ_CHECK(same(encode_batch(*r), in));
    break;
  default:
    if (auto g = recovery::guard_state::decode(in)) FUZZ_CHECK(same(g->encode(), in));
    break;
  }
  return 0;
}
