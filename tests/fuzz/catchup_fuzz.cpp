// libFuzzer target: the catch-up frames (actors/catchup.hpp) and the snapshot fetcher that
// consumes them. The whole input is decoded as one frame; it is also read as a script of
// frames from peers 1-3 and ticks (tests/fuzz/catchup.hpp) that drives one fetcher session.
// Invariants: a frame that decodes encodes back to exactly its bytes; a fetcher that accepts a
// manifest (reports no fault) asks for a chunk at once; a completed snapshot has the size and
// the chunk digests of the accepted manifest.
#include <algorithm>
#include <optional>

#include "actors/catchup.hpp"
#include "crypto/sha3.hpp"
#include "tests/fuzz/catchup.hpp"
#include "tests/fuzz/fuzz.hpp"

namespace {

using namespace bft;
using namespace bft::actors;

bool same(const bytes& a, byte_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

void check_complete(const fetch_output& out, const std::optional<sync_manifest>& accepted) {
  if (!out.complete) return;
  FUZZ_CHECK(accepted.has_value());
  FUZZ_CHECK(out.complete->size() == accepted->total_bytes);
  for (std::size_t k = 0; k < accepted->chunks.size(); ++k) {
    const auto off = k * accepted->chunk_bytes;
    const auto len = std::min<std::size_t>(accepted->chunk_bytes, out.complete->size() - off);
    FUZZ_CHECK(crypto::sha3_256(byte_view(*out.complete).subspan(off, len)) == accepted->chunks[k]);
  }
}

/// The peer the fetcher last asked for the manifest, from what it sent.
void note_asked(const fetch_output& out, std::optional<replica_id>& asked) {
  for (const auto& [peer, frame] : out.send) {
    auto m = decode_sync(frame);
    FUZZ_CHECK(m.has_value()); // the fetcher sends only well-formed frames
    const auto* r = std::get_if<sync_request>(&*m);
    FUZZ_CHECK(r != nullptr && r->index == fuzz::catchup::index);
    if (r->chunk == manifest_chunk) asked = peer;
  }
}

void run_fetcher(byte_view script) {
  snapshot_fetcher f(2, 3);
  state_transfer_request req{fuzz::catchup::index, fuzz::catchup::root(), {replica_id{1}}};
  std::optional<replica_id> asked;
  note_asked(f.start(req, {replica_id{1}, replica_id{2}, replica_id{3}}), asked);
  std::optional<sync_manifest> accepted;
  std::size_t at = 0;
  while (at < script.size() && f.active()) {
    const std::uint8_t from = script[at++] % 4;
    if (from == 0) {
      auto out = f.on_tick();
      note_asked(out, asked);
      check_complete(out, accepted);
      continue;
    }
    if (script.size() - at < 2) return;
    const std::size_t len = script[at] | std::size_t{script[at + 1]} << 8;
    at += 2;
    if (script.size() - at < len) return;
    auto m = decode_sync(script.subspan(at, len));
    at += len;
    if (!m) continue;
    const bool trusted = f.faulty().count(replica_id{from}) == 0;
    auto out = f.on_message(replica_id{from}, *m);
    const auto* man = std::get_if<sync_manifest>(&*m);
    if (man && !accepted && trusted && asked == replica_id{from} &&
        man->index == fuzz::catchup::index && out.faults.empty()) {
      // The manifest asked for, from the peer asked (not caught lying before), taken without a
      // fault: the fetcher must ask for chunks at once, or the session stalls with nothing in
      // flight. (When every source lied, the cursor stays on a liar and nothing is asked.)
      FUZZ_CHECK(!out.send.empty());
      accepted = *man;
    }
    note_asked(out, asked);
    check_complete(out, accepted);
    if (out.complete) return;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = fuzz::input(data, size);
  if (auto m = decode_sync(in)) {
    FUZZ_CHECK(is_sync_frame(in));
    FUZZ_CHECK(same(encode_sync(*m), in));
  }
  run_fetcher(in);
  return 0;
}
