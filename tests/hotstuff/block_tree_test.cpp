/// block_tree pruning: the incremental set_root keeps exactly the blocks the full definition
/// keeps (the window of executed blocks down from the new root, and the root's descendants),
/// over random trees, random commits, state transfers and restarts that reload executed blocks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "protocols/hotstuff/block_tree.hpp"

using namespace bft;
using namespace bft::hotstuff;

namespace {

/// The definition of set_root, kept here as the reference: what stays is the chain from the
/// new root down (keep + 1 blocks at most) and every block descending from the new root.
struct reference_tree {
  chain_root root;
  std::map<digest, block_ptr> blocks;

  std::vector<digest> set_root(chain_root r, std::size_t keep) {
    std::set<digest> below;
    digest cur = r.hash;
    for (std::size_t i = 0; i <= keep; ++i) {
      auto it = blocks.find(cur);
      if (it == blocks.end()) break;
      below.insert(cur);
      if (it->second->height == bft::height{0}) break;
      cur = it->second->parent;
    }
    root = r;
    std::vector<block_ptr> all;
    for (const auto& [h, b] : blocks) all.push_back(b);
    std::sort(all.begin(), all.end(), [](const block_ptr& a, const block_ptr& b) {
      return a->height != b->height ? a->height < b->height : a->hash < b->hash;
    });
    std::map<digest, block_ptr> next;
    for (const auto& b : all) {
      bool keep_it = b->height <= r.height ? below.count(b->hash) != 0
                                           : b->parent == r.hash || (next.count(b->parent) != 0 &&
                                                                     b->height > r.height.next());
      if (keep_it) next.emplace(b->hash, b);
    }
    std::vector<digest> gone;
    for (const auto& [h, b] : blocks)
      if (next.count(h) == 0 && b->height > bft::height{0}) gone.push_back(h);
    blocks = std::move(next);
    return gone;
  }
};

/// A deterministic generator (no <random> needed for a reproducible test).
struct lcg {
  std::uint64_t s;
  std::uint64_t next(std::uint64_t n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (s >> 33) % n;
  }
};

block_ptr child_of(const block& parent, std::uint64_t serial) {
  auto b = std::make_shared<block>();
  b->parent = parent.hash;
  b->height = parent.height.next();
  b->view = view_number{serial};
  for (std::size_t i = 0; i < 8; ++i) b->hash[i] = static_cast<std::uint8_t>(serial >> (8 * i));
  b->hash[31] = 0xee; // never the genesis hash
  return b;
}

void same(const block_tree& t, const reference_tree& ref) {
  REQUIRE(t.size() == ref.blocks.size());
  for (const auto& [h, b] : ref.blocks) REQUIRE(t.contains(h));
  CHECK(t.root() == ref.root);
}

/// Stored blocks above the root (candidates for new blocks' parents and for commits).
std::vector<block_ptr> above_root(const reference_tree& ref) {
  std::vector<block_ptr> out;
  for (const auto& [h, b] : ref.blocks)
    if (b->height > ref.root.height) out.push_back(b);
  return out;
}

void run_random(std::uint64_t seed, std::size_t keep, bool with_restart) {
  lcg g{seed};
  auto genesis = genesis_block();
  chain_root r0{genesis->hash, bft::height{0}, view_number{0}};
  block_tree t(r0);
  reference_tree ref{r0, {{genesis->hash, genesis}}};
  std::uint64_t serial = 1;
  std::map<digest, block_ptr> every; // every block ever made, for restarts
  every.emplace(genesis->hash, genesis);
  for (int step = 0; step < 600; ++step) {
    auto op = g.next(10);
    auto live = above_root(ref);
    if (op < 6 || live.empty()) {
      // A child of the root (when its body is known) or of a stored block above it.
      const block* parent = nullptr;
      if (live.empty() || g.next(4) == 0) {
        auto it = ref.blocks.find(ref.root.hash);
        if (it == ref.blocks.end()) continue;
        parent = it->second.get();
      } else {
        parent = live[g.next(live.size())].get();
      }
      auto b = child_of(*parent, serial++);
      REQUIRE(t.connects(*b));
      t.insert(b);
      ref.blocks.emplace(b->hash, b);
      every.emplace(b->hash, b);
    } else if (op < 9) {
      // A commit: the root moves up to a stored descendant.
      auto b = live[g.next(live.size())];
      chain_root r{b->hash, b->height, b->view};
      auto got = t.set_root(r, keep);
      auto want = ref.set_root(r, keep);
      CHECK(got == want);
      same(t, ref);
    } else if (with_restart && g.next(2) == 0) {
      // A restart: a fresh tree at the root, every known block reloaded in height order,
      // executed ones unconditionally (as replica's constructor does), the others if they
      // connect; then a commit on top.
      block_tree fresh(ref.root);
      std::vector<block_ptr> stored;
      for (const auto& [h, b] : ref.blocks)
        if (b->height > bft::height{0}) stored.push_back(b);
      std::sort(stored.begin(), stored.end(), [](const block_ptr& a, const block_ptr& b) {
        return a->height != b->height ? a->height < b->height : a->hash < b->hash;
      });
      reference_tree fref{ref.root, {}};
      if (ref.root.hash == genesis->hash) fref.blocks.emplace(genesis->hash, genesis);
      for (const auto& b : stored)
        if (b->height <= ref.root.height || fresh.connects(*b)) {
          fresh.insert(b);
          fref.blocks.emplace(b->hash, b);
        }
      same(fresh, fref);
      t = std::move(fresh);
      ref = std::move(fref);
    } else {
      // A state transfer: the root jumps to a block the tree may not hold (its body absent).
      // Either a stored block (held) or a new child of one (not held).
      auto held = live[g.next(live.size())];
      auto b = g.next(2) == 0 ? held : child_of(*held, serial++);
      chain_root r{b->hash, b->height, b->view};
      auto got = t.set_root(r, keep);
      auto want = ref.set_root(r, keep);
      CHECK(got == want);
      same(t, ref);
    }
  }
}

} // namespace

TEST_CASE("block tree: incremental pruning keeps exactly what the full definition keeps") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    run_random(seed, 1 + seed % 5, false);
  }
}

TEST_CASE("block tree: pruning after restarts and state transfers matches the definition") {
  for (std::uint64_t seed = 100; seed <= 140; ++seed) {
    CAPTURE(seed);
    run_random(seed, 2 + seed % 4, true);
  }
}

TEST_CASE("block tree: a commit drops the forks off the committed path and the old window") {
  auto genesis = genesis_block();
  block_tree t(chain_root{genesis->hash, bft::height{0}, view_number{0}});
  auto a1 = child_of(*genesis, 1), a2 = child_of(*a1, 2), a3 = child_of(*a2, 3);
  auto f2 = child_of(*a1, 4), f3 = child_of(*f2, 5), g1 = child_of(*genesis, 6);
  for (const auto& b : {a1, a2, a3, f2, f3, g1}) t.insert(b);
  auto gone = t.set_root(chain_root{a2->hash, a2->height, a2->view}, 1);
  std::vector<digest> want{f2->hash, f3->hash, g1->hash};
  std::sort(want.begin(), want.end());
  CHECK(gone == want);
  CHECK(t.contains(a1->hash)); // the window: a2 and one block below it
  CHECK_FALSE(t.contains(genesis->hash));
  CHECK(t.contains(a3->hash));
  CHECK(t.size() == 3);
}
