#pragma once
// CAF's test DSL (test coordinator, expect/allow) under doctest: CAF's check macros are
// redefined to doctest's before the DSL is included. Include this header only from test files
// and only after <doctest/doctest.h>.
#include <sstream>

#include <doctest/doctest.h>

#include <caf/test/unit_test.hpp>

#undef CAF_CHECK
#undef CAF_CHECK_EQUAL
#undef CAF_REQUIRE
#undef CAF_REQUIRE_EQUAL
#undef CAF_FAIL
#undef CAF_MESSAGE
#define CAF_CHECK(...) CHECK(__VA_ARGS__)
#define CAF_CHECK_EQUAL(x, y) CHECK((x) == (y))
#define CAF_REQUIRE(...) REQUIRE(__VA_ARGS__)
#define CAF_REQUIRE_EQUAL(x, y) REQUIRE((x) == (y))
#define CAF_FAIL(msg)                                                                              \
  do {                                                                                             \
    std::ostringstream caf_os_;                                                                    \
    caf_os_ << msg;                                                                                \
    FAIL(caf_os_.str());                                                                           \
  } while (false)
#define CAF_MESSAGE(msg)                                                                           \
  do {                                                                                             \
    std::ostringstream caf_os_;                                                                    \
    caf_os_ << msg;                                                                                \
    MESSAGE(caf_os_.str());                                                                        \
  } while (false)

#include <caf/test/dsl.hpp>

// The DSL's lowercase macros clash with ordinary names (codec::reader::expect); these tests
// drive the coordinator directly instead.
#undef expect
#undef allow
#undef disallow
#undef inject
