// libFuzzer target: a KV snapshot (protocols/smr/kv_state_machine.hpp, restore), as a replica
// that catches up receives it from a peer. (Apart from the kv target: building a state machine
// costs a millisecond, which would starve the transaction decoders.)
// Invariant: a snapshot that restores, against the root it carries, is taken again byte for
// byte and yields that root.
#include <algorithm>

#include "protocols/smr/kv_state_machine.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft;
  if (size < 32) return 0;
  const auto in = fuzz::input(data, size);
  digest carried{};
  std::copy(in.end() - 32, in.end(), carried.begin());
  smr::kv_state_machine sm;
  if (!sm.restore(in, carried)) return 0;
  FUZZ_CHECK(sm.state_root() == carried);
  const auto again = sm.snapshot();
  FUZZ_CHECK(std::equal(again.begin(), again.end(), in.begin(), in.end()));
  return 0;
}
