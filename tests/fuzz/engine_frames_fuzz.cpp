// libFuzzer target: frames from peers fed to a whole engine (either one, through
// protocols/registry.hpp), as the replica actor feeds what its links receive: every decoder
// the engine dispatches to (its messages, status and probe frames, batches, QCs and
// certificates inside them) and what it does with a frame that decodes. The input is a script
// of frames and ticks (tests/fuzz/engine_frames.hpp) for replica 0 of a four-replica cluster.
// Invariants: no crash, sanitizer report or engine assertion (BFT_ASSERT aborts), and every
// frame the engine sends goes to a validator other than itself. (Safety alarms are allowed:
// the fuzzer signs for three of four replicas, more than f.)
#include "tests/fuzz/engine_frames.hpp"
#include "tests/fuzz/fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bft;
  namespace ef = bft::fuzz::engine_frames;
  if (size == 0) return 0;
  const auto& entry = ef::engine_of(data[0]);
  const auto cfg = ef::config(replica_id{0});
  const crypto::fake_signer signer(1);
  const crypto::fake_verifier verifier;
  auto engine = entry.make_engine(cfg, signer, verifier, {});
  std::size_t at = 1;
  while (at < size) {
    const std::uint8_t from = data[at++] % 5;
    ready out;
    if (from == 0) {
      out = engine->step(ev::tick{});
    } else {
      if (size - at < 2) break;
      const std::size_t len = data[at] | std::size_t{data[at + 1]} << 8;
      at += 2;
      if (size - at < len) break;
      out = engine->step(ev::received{replica_id{from}, bytes(data + at, data + at + len)});
      at += len;
    }
    for (const auto& m : out.messages)
      FUZZ_CHECK(!m.to || (*m.to != cfg.self && cfg.validators.contains(*m.to)));
  }
  (void)engine->status();
  return 0;
}
