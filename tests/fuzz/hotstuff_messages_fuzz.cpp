// libFuzzer target: every HotStuff wire frame (protocols/hotstuff/messages.hpp) and the amnesia
// guard's status frames as HotStuff sends them (their proof is a QC).
// Invariants: a frame that decodes encodes back to exactly its bytes (re-signed with the
// signature it carried); a block's hash is SHA3-256 of its bytes; the signer is the sender.
#include <algorithm>
#include <variant>

#include "crypto/sha3.hpp"
#include "protocols/common/recovery.hpp"
#include "protocols/hotstuff/messages.hpp"
#include "protocols/hotstuff/replica.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;
using namespace bft::hotstuff;

bool same(const bytes& a, byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

digest hash_of(const block& b) {
  codec::writer w;
  b.encode(w);
  return crypto::sha3_256(w.data());
}

bytes encode_again(const decoded& d) {
  const fuzz::replay_signer s(d.sig);
  const sign_context c{"fuzz", epoch{0}};
  return std::visit(
      [&](const auto& m) -> bytes {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, proposal>) {
          FUZZ_CHECK(m.blk->hash == hash_of(*m.blk));
          FUZZ_CHECK(d.signer == m.blk->proposer);
          return encode_proposal(*m.blk, s, c);
        } else if constexpr (std::is_same_v<T, vote>) {
          FUZZ_CHECK(d.signer == m.signer && m.sig == d.sig);
          return encode_vote(m.block, m.view, m.height, m.signer, s, c);
        } else if constexpr (std::is_same_v<T, new_view>) {
          FUZZ_CHECK(d.signer == m.sender);
          return encode_new_view(m, s, c);
        } else if constexpr (std::is_same_v<T, block_request>) {
          FUZZ_CHECK(d.signer == m.sender);
          return encode_block_request(m, s, c);
        } else {
          FUZZ_CHECK(d.signer == m.sender);
          for (const auto& b : m.blocks) FUZZ_CHECK(b->hash == hash_of(*b));
          return encode_block_response(m, s, c);
        }
      },
      d.msg);
}

void status_frame(std::uint16_t type, byte_view in) {
  if (in.size() < 4 + 64) return;
  auto body = in.first(in.size() - 64);
  if (type == replica::status_request_type) {
    if (auto m = recovery::decode_request(type, body))
      FUZZ_CHECK(same(recovery::encode_body(type, *m), body));
    return;
  }
  auto m = recovery::decode_report(type, body);
  if (!m) return;
  FUZZ_CHECK(same(recovery::encode_body(type, *m), body));
  codec::reader r(m->proof);
  auto qc = quorum_cert::decode(r);
  if (!r.finish()) return;
  codec::writer w;
  qc.encode(w);
  FUZZ_CHECK(w.data() == m->proof);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::input(data, size);
  if (auto d = decode(in)) {
    FUZZ_CHECK(same(encode_again(*d), in));
    FUZZ_CHECK(same(bytes(d->signed_part.begin(), d->signed_part.end()), in.first(in.size() - 64)));
  }
  if (auto env = codec::peek_envelope(in); env && (env->type == replica::status_request_type ||
                                                   env->type == replica::status_report_type))
    status_frame(env->type, in);
  return 0;
}
