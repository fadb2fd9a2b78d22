#pragma once
/// Always-on assertion, kept in Release builds: an invariant of the engine that no input can
/// break. Input from the network is never asserted on; it is rejected with an error instead.
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bft::detail {
[[noreturn]] inline void assertion_failed(const char* expr, const char* file, int line,
                                          const char* msg) {
  std::fprintf(stderr, "bft: assertion failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::abort();
}

/// See BFT_INVARIANT.
template <class Alarms>
void invariant_failed(bool mutated, Alarms& alarms, const char* expr, const char* file, int line,
                      const char* msg) {
  if (!mutated) assertion_failed(expr, file, line, msg);
  alarms.push_back(std::string("invariant broken under a mutant: ") + msg);
}
} // namespace bft::detail

#define BFT_ASSERT(expr, msg)                                                                      \
  ((expr) ? static_cast<void>(0) : ::bft::detail::assertion_failed(#expr, __FILE__, __LINE__, msg))

/// An engine invariant checked on every step. It is BFT_ASSERT, except with a seeded bug switched
/// on (engine_config::mutants, tests only): a mutant may break it on purpose, and then it is a
/// safety alarm in `alarms` (ready::alarms) so that the test or checker the mutant exists for
/// still sees the bug's effect instead of an abort.
#define BFT_INVARIANT(expr, msg, mutated, alarms)                                                  \
  ((expr) ? static_cast<void>(0)                                                                   \
          : ::bft::detail::invariant_failed((mutated), (alarms), #expr, __FILE__, __LINE__, msg))
