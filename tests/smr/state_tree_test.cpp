#include <doctest/doctest.h>

#include "protocols/smr/state_tree.hpp"

using bft::smr::leaf_digest;
using bft::smr::state_tree;

namespace {
// Builds prefix + decimal number (avoids a GCC 12 -Wrestrict false positive on operator+).
std::string name(const char* prefix, std::uint64_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}
} // namespace

namespace {
bft::digest leaf(const std::string& k, const std::string& v) {
  return leaf_digest(k, bft::as_bytes(v));
}
} // namespace

TEST_CASE("the state root depends only on the set of pairs, not on the order of writes") {
  state_tree a, b;
  for (int i = 0; i < 200; ++i) a.put(name("k", i), leaf("k", std::to_string(i)));
  for (int i = 199; i >= 0; --i) b.put(name("k", i), leaf("k", std::to_string(i)));
  CHECK(a.root() == b.root());
  CHECK(a.size() == 200);
}

TEST_CASE("changing, adding or removing one pair changes the root and undoing restores it") {
  state_tree t;
  for (int i = 0; i < 50; ++i) t.put(name("k", i), leaf("v", std::to_string(i)));
  auto before = t.root();
  t.put("k7", leaf("v", "other"));
  auto changed = t.root();
  CHECK(changed != before);
  t.put("k7", leaf("v", "7"));
  CHECK(t.root() == before);
  t.put("new", leaf("new", "x"));
  CHECK(t.root() != before);
  t.erase("new");
  CHECK(t.root() == before);
  t.erase("absent");
  CHECK(t.root() == before);
}

TEST_CASE("an empty tree has a fixed root different from a tree with one pair") {
  state_tree a, b;
  CHECK(a.root() == b.root());
  b.put("x", leaf("x", ""));
  CHECK(a.root() != b.root());
}

TEST_CASE("two pairs in one bucket are bound to their keys") {
  // Swapping which key holds which value must change the root.
  state_tree t1, t2;
  t1.put("a", leaf("a", "1"));
  t1.put("b", leaf("b", "2"));
  t2.put("a", leaf("a", "2"));
  t2.put("b", leaf("b", "1"));
  CHECK(t1.root() != t2.root());
  CHECK(state_tree::bucket_of("a") < state_tree::bucket_count);
}
