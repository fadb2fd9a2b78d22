#include "protocols/hotstuff/block_tree.hpp"

#include <algorithm>
#include <set>

namespace bft::hotstuff {

block_tree::block_tree(chain_root root) : root_(root) {
  if (root_.hash == genesis_block()->hash) blocks_.emplace(root_.hash, genesis_block());
}

block_ptr block_tree::find(const digest& h) const {
  auto it = blocks_.find(h);
  return it == blocks_.end() ? nullptr : it->second;
}

bool block_tree::connects(const block& b) const {
  if (b.parent == root_.hash) return b.height == root_.height.next();
  auto p = find(b.parent);
  return p && p->height > root_.height && b.height == p->height.next();
}

void block_tree::insert(block_ptr b) {
  BFT_ASSERT(b != nullptr, "inserting a null block");
  auto h = b->hash;
  blocks_.emplace(h, std::move(b));
}

bool block_tree::extends(const digest& from, const digest& anc, bft::height anc_height) const {
  if (anc_height < root_.height) return true;
  digest cur = from;
  while (true) {
    if (cur == anc) return true;
    if (cur == root_.hash) return false;
    auto b = find(cur);
    if (!b || b->height <= anc_height) return false;
    cur = b->parent;
  }
}

std::vector<block_ptr> block_tree::path_from_root(const digest& to) const {
  std::vector<block_ptr> out;
  digest cur = to;
  while (cur != root_.hash) {
    auto b = find(cur);
    if (!b || b->height <= root_.height) return {};
    out.push_back(b);
    cur = b->parent;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<digest> block_tree::set_root(chain_root r, std::size_t keep_executed) {
  // Executed blocks on the path to the new root stay (a window of them); every other block
  // at or below the new root's height, and every block not descending from it, goes.
  std::set<digest> keep_below;
  digest cur = r.hash;
  for (std::size_t i = 0; i <= keep_executed; ++i) {
    auto b = find(cur);
    if (!b) break;
    keep_below.insert(cur);
    if (b->height == bft::height{0}) break;
    cur = b->parent;
  }
  root_ = r;
  // Order by height so a block's parent is decided before the block.
  std::vector<block_ptr> all;
  all.reserve(blocks_.size());
  for (const auto& [h, b] : blocks_) all.push_back(b);
  std::sort(all.begin(), all.end(), [](const block_ptr& a, const block_ptr& b) {
    return a->height != b->height ? a->height < b->height : a->hash < b->hash;
  });
  std::map<digest, block_ptr> next;
  for (const auto& b : all) {
    bool keep = false;
    if (b->height <= r.height)
      keep = keep_below.count(b->hash) != 0;
    else
      keep = b->parent == r.hash || (next.count(b->parent) != 0 && b->height > r.height.next());
    if (keep) next.emplace(b->hash, b);
  }
  std::vector<digest> gone;
  for (const auto& [h, b] : blocks_)
    if (next.count(h) == 0 && b->height > bft::height{0}) gone.push_back(h);
  blocks_ = std::move(next);
  return gone;
}

std::vector<block_ptr> block_tree::chain_down(const digest& h, std::size_t max) const {
  std::vector<block_ptr> out;
  digest cur = h;
  while (out.size() < max) {
    auto b = find(cur);
    if (!b || b->height == bft::height{0}) break; // everyone holds genesis
    out.push_back(b);
    cur = b->parent;
  }
  return out;
}

} // namespace bft::hotstuff
