#pragma once
/// What the catch-up fuzz target and its seeds share: the session the fuzzed fetcher runs,
/// and the layout of an input as a script of frames.
#include <array>
#include <cstdint>

#include "protocols/common/bytes.hpp"

namespace bft::fuzz::catchup {

/// The snapshot the fetcher is after: index 5, state root 0x5a...5a, sources 1, 2, 3.
inline constexpr std::uint64_t index = 5;
inline digest root() {
  digest d{};
  d.fill(0x5a);
  return d;
}

/// A script is a sequence of steps `u8 from | u16 length (LE) | frame`; a step whose `from`
/// is 0 is a tick (no length, no frame). Peers are 1, 2, 3 (from % 4).
inline void append_step(bytes& script, std::uint8_t from, byte_view frame) {
  script.push_back(from);
  if (from % 4 == 0) return;
  script.push_back(static_cast<std::uint8_t>(frame.size()));
  script.push_back(static_cast<std::uint8_t>(frame.size() >> 8));
  script.insert(script.end(), frame.begin(), frame.end());
}

} // namespace bft::fuzz::catchup
