// libFuzzer target: every PBFT wire frame (protocols/pbft/messages.hpp, probe.hpp) and the
// amnesia guard's status frames (protocols/common/recovery.hpp) as PBFT sends them.
// Invariant: the codec is canonical (one encoding per value, no trailing bytes), so a frame
// that decodes encodes back to exactly its bytes; a pre-prepare's batch region is its batch.
#include <algorithm>

#include "protocols/common/codec.hpp"
#include "protocols/common/recovery.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/probe.hpp"
#include "protocols/pbft/replica.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;
using namespace bft::pbft;

bool same(const bytes& a, byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void pre_prepare_frame(byte_view in) {
  auto m = decode_pre_prepare(in);
  if (!m) return;
  FUZZ_CHECK(m->requests != nullptr);
  FUZZ_CHECK(same(encode(*m), in));
  FUZZ_CHECK(same(encode_batch(*m->requests), batch_region(in)));
  // What certificates keep: the same header and signature, an empty batch.
  auto stripped = decode_pre_prepare(strip_batch(in));
  FUZZ_CHECK(stripped && stripped->requests->empty());
  FUZZ_CHECK(stripped->view == m->view && stripped->seq == m->seq && stripped->d == m->d &&
             stripped->from == m->from && stripped->sig == m->sig);
}

template <class Decode>
void canonical(byte_view in, Decode decode) {
  auto m = decode(in);
  if (m) FUZZ_CHECK(same(encode(*m), in));
}

void status_frame(std::uint16_t type, byte_view in) {
  if (in.size() < 4 + 64) return;
  auto body = in.first(in.size() - 64);
  if (type == replica::status_request_type) {
    if (auto m = recovery::decode_request(type, body))
      FUZZ_CHECK(same(recovery::encode_body(type, *m), body));
  } else if (auto m = recovery::decode_report(type, body)) {
    FUZZ_CHECK(same(recovery::encode_body(type, *m), body));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::input(data, size);
  auto env = codec::peek_envelope(in);
  if (!env) return 0;
  if (auto t = frame_type(in)) {
    switch (*t) {
    case msg_type::pre_prepare: pre_prepare_frame(in); break;
    case msg_type::prepare:
    case msg_type::commit: canonical(in, decode_vote); break;
    case msg_type::checkpoint: canonical(in, decode_checkpoint); break;
    case msg_type::view_change: canonical(in, decode_view_change); break;
    case msg_type::new_view: canonical(in, decode_new_view); break;
    case msg_type::request_relay: canonical(in, decode_request_relay); break;
    case msg_type::fetch_batch: canonical(in, decode_fetch_batch); break;
    case msg_type::batch_reply: canonical(in, decode_batch_reply); break;
    }
  }
  switch (env->type) {
  case replica::status_request_type:
  case replica::status_report_type: status_frame(env->type, in); break;
  case probe_type:
  case probe_answer_type:
    if (auto p = decode_probe(env->type, in)) FUZZ_CHECK(same(encode_probe(env->type, *p), in));
    break;
  default: break;
  }
  return 0;
}
