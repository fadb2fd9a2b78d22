#include <doctest/doctest.h>

#include <type_traits>

#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"

using namespace bft;

TEST_CASE("strong ids of different kinds cannot be mixed up") {
  static_assert(!std::is_convertible_v<view_number, seq_number>);
  static_assert(!std::is_convertible_v<std::uint64_t, view_number>);
  static_assert(!std::is_assignable_v<height&, view_number>);
  view_number v{3};
  CHECK(v.next() == view_number{4});
  CHECK(view_number{2} < v);
}

TEST_CASE("errc maps into the bft error category with readable messages") {
  std::error_code ec = errc::truncated;
  CHECK(ec.category().name() == std::string("bft"));
  CHECK(ec.message() == "input is truncated");
  result<int> r = error{errc::oversized, "frame"};
  REQUIRE_FALSE(r);
  CHECK(r.error() == errc::oversized);
  CHECK(r.error().message() == "input exceeds its maximum size: frame");
  result<int> ok = 7;
  CHECK(*ok == 7);
}
