#pragma once
/// The simulator's only source of randomness: a seeded xoshiro256** generator.
///
/// reliability.md names std::mt19937_64. Both generators are fully specified, so either gives
/// the same numbers for a seed on every platform; the difference is the bounded integers,
/// which are derived here by hand with rejection sampling (no modulo bias, no standard
/// distribution, whose output differs between library versions). xoshiro256** was chosen in
/// the first session for its 32-byte state (the simulator forks generators per concern: the
/// roles' own streams in roles.hpp, amnesia, pauses) and is kept because every recorded seed
/// depends on it: the regression list (tests/sim/regression_seeds.txt), the replay commands in
/// FINDINGS.md and the campaign figures. Changing the generator renumbers all of them.
///
/// Owned by one simulation run; not thread-safe.
#include <cstdint>

namespace bft::sim {

/// splitmix64 step: used to expand a 64-bit seed into the xoshiro state and to derive
/// independent sub-seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// xoshiro256** with hand-derived bounded integers.
class rng {
public:
  explicit rng(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& w : s_) w = splitmix64(sm);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, bound) for bound > 0 (0 for bound == 0). Rejection sampling: draws that
  /// fall in the incomplete last block of size (2^64 mod bound) are thrown away.
  std::uint64_t below(std::uint64_t bound) {
    if (bound <= 1) return 0;
    const std::uint64_t threshold = (0 - bound) % bound; // == 2^64 mod bound
    for (;;) {
      const std::uint64_t x = next();
      if (x >= threshold) return x % bound;
    }
  }

  /// Uniform in [lo, hi] (inclusive); lo when hi < lo.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    if (hi <= lo) return lo;
    return lo + below(hi - lo + 1);
  }

  /// True with probability permille / 1000.
  bool chance(std::uint64_t permille) { return below(1000) < permille; }

private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

namespace detail {

/// 64-bit mixing hash: derives each random stream's seed from the run seed and a salt, and
/// folds the trace (not cryptographic; cheap and platform independent).
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

} // namespace detail

} // namespace bft::sim
