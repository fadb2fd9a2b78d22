#pragma once
/// What the engine-frames fuzz target and its seeds share: a four-replica cluster of one
/// engine with fake keys (crypto/fake_signer.hpp: secret i + 1 for replica i), and the layout
/// of an input: `u8 engine | steps`, each step `u8 from | u16 length (LE) | frame`, or a tick
/// when `from % 5 == 0` (no length, no frame). Peers are 1..4 (`from % 5`): 1-3 are
/// validators, 4 is not one.
#include <cstdint>
#include <memory>

#include "crypto/fake_signer.hpp"
#include "protocols/registry.hpp"

namespace bft::fuzz::engine_frames {

inline constexpr std::size_t replicas = 4;

/// The configuration of replica `self` of the fuzzed cluster.
inline engine_config config(replica_id self) {
  std::vector<public_key> keys;
  for (std::size_t i = 0; i < replicas; ++i) keys.push_back(crypto::fake_public_key(i + 1));
  engine_config c;
  c.chain_id = "fuzz";
  c.self = self;
  c.validators = validator_set::equal_weights(keys);
  c.batch_size = 4;
  c.base_timeout_ticks = 4;
  c.checkpoint_interval = 2;
  return c;
}

/// The engine picked by the first byte of an input (pbft, hotstuff).
inline const protocol_entry& engine_of(std::uint8_t b) {
  const auto all = protocols();
  return all[b % all.size()];
}

inline void append_step(bytes& script, std::uint8_t from, byte_view frame) {
  script.push_back(from);
  if (from % 5 == 0) return;
  script.push_back(static_cast<std::uint8_t>(frame.size()));
  script.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
  script.insert(script.end(), frame.begin(), frame.end());
}

} // namespace bft::fuzz::engine_frames
