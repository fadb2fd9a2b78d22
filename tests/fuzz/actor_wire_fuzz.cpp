// libFuzzer target: the actor layer's own wire decoders (actors/wire.hpp): the link hello, a
// client's call, a replica's reply and the frame batch of a link. The first input byte picks
// the decoder, the rest is the message.
// Invariants: a message that decodes encodes back to exactly its bytes; a well-formed batch is
// rebuilt byte for byte by appending its frames, and holds batch_count(...) of them.
#include <string>
#include <vector>

#include "actors/wire.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;
using namespace bft::actors;

template <class T>
void canonical(std::string_view in) {
  if (auto m = T::decode(in)) FUZZ_CHECK(m->encode() == in);
}

void batch(std::string_view in) {
  std::vector<byte_view> frames;
  auto n = for_each_in_batch(in, [&](byte_view f) { frames.push_back(f); });
  if (!n) return;
  FUZZ_CHECK(*n == frames.size() && *n == batch_count(in) && *n > 0);
  std::string again;
  for (auto f : frames) append_to_batch(again, f);
  FUZZ_CHECK(again == in);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto in = fuzz::input_text(data + 1, size - 1);
  switch (data[0] % 4) {
  case 0: canonical<hello>(in); break;
  case 1: canonical<client_call>(in); break;
  case 2: canonical<client_reply>(in); break;
  default: batch(in); break;
  }
  return 0;
}
