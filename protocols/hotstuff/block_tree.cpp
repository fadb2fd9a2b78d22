#include "protocols/hotstuff/block_tree.hpp"

#include <algorithm>
#include <set>

namespace bft::hotstuff {

block_tree::block_tree(chain_root root) : root_(root) {
  if (root_.hash == genesis_block()->hash) {
    blocks_.emplace(root_.hash, genesis_block());
    window_.push_back(root_.hash);
  }
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
  const bool linked = connects(*b);
  const auto parent = b->parent;
  if (!blocks_.emplace(h, std::move(b)).second) return;
  if (linked)
    children_[parent].push_back(h);
  else
    regular_ = false; // e.g. an executed block reloaded at restart: rebuild at the next root
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
  std::vector<digest> gone;
  if (!regular_ || !advance_root(r, keep_executed, gone)) rebuild_root(r, keep_executed, gone);
  std::sort(gone.begin(), gone.end());
  return gone;
}

void block_tree::forget(const digest& h, std::vector<digest>& gone) {
  auto it = blocks_.find(h);
  if (it == blocks_.end()) return;
  if (it->second->height > bft::height{0}) gone.push_back(h);
  blocks_.erase(it);
}

void block_tree::drop_subtree(const digest& h, std::vector<digest>& gone) {
  std::vector<digest> todo{h};
  while (!todo.empty()) {
    auto x = todo.back();
    todo.pop_back();
    if (auto c = children_.find(x); c != children_.end()) {
      todo.insert(todo.end(), c->second.begin(), c->second.end());
      children_.erase(c);
    }
    forget(x, gone);
  }
}

bool block_tree::advance_root(const chain_root& r, std::size_t keep_executed,
                              std::vector<digest>& gone) {
  // Applies when the new root is a stored descendant of the current one: then the blocks kept
  // are the window extended by the path up to r, and r's descendants; what goes is the
  // branches off that path and the bottom of the window.
  auto rb = find(r.hash);
  if (!rb || rb->height != r.height || r.height <= root_.height) return false;
  std::vector<digest> path; // r down to the child of the old root
  for (digest cur = r.hash; cur != root_.hash;) {
    auto b = find(cur);
    if (!b || b->height <= root_.height) return false;
    path.push_back(cur);
    cur = b->parent;
  }
  // Every block on the path below r, and the old root, keeps only its child on the path.
  for (std::size_t i = 0; i < path.size(); ++i) {
    const digest& x = i + 1 < path.size() ? path[i + 1] : root_.hash;
    auto c = children_.find(x);
    if (c == children_.end()) continue;
    auto kids = std::move(c->second);
    children_.erase(c);
    for (const auto& k : kids)
      if (k != path[i]) drop_subtree(k, gone);
  }
  window_.insert(window_.end(), path.rbegin(), path.rend());
  while (window_.size() > keep_executed + 1) {
    forget(window_.front(), gone);
    window_.pop_front();
  }
  root_ = r;
  return true;
}

void block_tree::rebuild_root(const chain_root& r, std::size_t keep_executed,
                              std::vector<digest>& gone) {
  // Executed blocks on the path to the new root stay (a window of them); every other block
  // at or below the new root's height, and every block not descending from it, goes.
  std::set<digest> keep_below;
  std::deque<digest> window;
  digest cur = r.hash;
  for (std::size_t i = 0; i <= keep_executed; ++i) {
    auto b = find(cur);
    if (!b) break;
    keep_below.insert(cur);
    window.push_front(cur);
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
  std::map<digest, std::vector<digest>> children;
  for (const auto& b : all) {
    bool keep = false;
    if (b->height <= r.height)
      keep = keep_below.count(b->hash) != 0;
    else
      keep = b->parent == r.hash || (next.count(b->parent) != 0 && b->height > r.height.next());
    if (!keep) continue;
    next.emplace(b->hash, b);
    if (b->height > r.height) children[b->parent].push_back(b->hash);
  }
  for (const auto& [h, b] : blocks_)
    if (next.count(h) == 0 && b->height > bft::height{0}) gone.push_back(h);
  blocks_ = std::move(next);
  children_ = std::move(children);
  window_ = std::move(window);
  regular_ = true;
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
