#pragma once
/// Always-on assertion, kept in Release builds: an invariant of the engine that no input can
/// break. Input from the network is never asserted on; it is rejected with an error instead.
#include <cstdio>
#include <cstdlib>

namespace bft::detail {
[[noreturn]] inline void assertion_failed(const char* expr, const char* file, int line,
                                          const char* msg) {
  std::fprintf(stderr, "bft: assertion failed: %s (%s) at %s:%d\n", expr, msg, file, line);
  std::abort();
}
} // namespace bft::detail

#define BFT_ASSERT(expr, msg)                                                                      \
  ((expr) ? static_cast<void>(0) : ::bft::detail::assertion_failed(#expr, __FILE__, __LINE__, msg))
