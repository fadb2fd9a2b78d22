#pragma once
/// The blocks a replica holds: every delivered block whose branch reaches the executed root
/// b_exec (H5: a block is stored only after its parent), plus a short window of executed
/// blocks kept to answer peers' block requests. Ordered containers only (deterministic).
/// Owned by one replica; not thread-safe.
///
/// Pruning is incremental: the tree indexes each block's children and keeps the executed
/// window (the chain from the root down) as a deque, so a commit that moves the root up its
/// own branch touches only the blocks it drops. Anything else (a state transfer, a restart
/// that reloaded blocks below the root) takes the full rebuild, which gives the same result.
#include <cstddef>
#include <deque>
#include <map>
#include <vector>

#include "protocols/hotstuff/block.hpp"

namespace bft::hotstuff {

/// Where the stored chain starts: the last executed block b_exec (its body may be absent,
/// e.g. after a restart or a state transfer).
struct chain_root {
  digest hash{};
  bft::height height{0};
  view_number view{0};
  friend bool operator==(const chain_root&, const chain_root&) = default;
};

class block_tree {
public:
  explicit block_tree(chain_root root);

  [[nodiscard]] const chain_root& root() const { return root_; }
  [[nodiscard]] block_ptr find(const digest& h) const;
  [[nodiscard]] bool contains(const digest& h) const { return blocks_.count(h) != 0; }
  /// True if `b`'s parent is the root or a stored block above it.
  [[nodiscard]] bool connects(const block& b) const;
  /// Stores a block whose parent is held (precondition: connects(b)).
  void insert(block_ptr b);
  /// True if the block `from` (stored, or the root) is `anc` or descends from it. An ancestor
  /// below the root counts as extended: everything stored extends the executed root.
  [[nodiscard]] bool extends(const digest& from, const digest& anc, bft::height anc_height) const;
  /// The stored blocks from just above the root up to `to`, oldest first; empty if `to` does
  /// not reach the root through stored parents.
  [[nodiscard]] std::vector<block_ptr> path_from_root(const digest& to) const;
  /// Moves the root to `r` (a commit or a state transfer) and prunes: blocks not descending
  /// from the new root leave memory, and executed blocks more than `keep_executed` below it.
  /// Returns the hashes that left memory.
  std::vector<digest> set_root(chain_root r, std::size_t keep_executed);
  /// Up to `max` blocks from `h` down through its parents (newest first), genesis excluded.
  [[nodiscard]] std::vector<block_ptr> chain_down(const digest& h, std::size_t max) const;
  [[nodiscard]] std::size_t size() const { return blocks_.size(); }

private:
  /// The incremental path of set_root; false (and nothing changed) when it does not apply.
  bool advance_root(const chain_root& r, std::size_t keep_executed, std::vector<digest>& gone);
  /// The full rebuild: the definition of what set_root keeps.
  void rebuild_root(const chain_root& r, std::size_t keep_executed, std::vector<digest>& gone);
  /// Drops `h` and every stored descendant of it (above the root) into `gone`.
  void drop_subtree(const digest& h, std::vector<digest>& gone);
  void forget(const digest& h, std::vector<digest>& gone);

  chain_root root_;
  std::map<digest, block_ptr> blocks_;
  /// parent hash -> stored children (the root's and the stored blocks above it).
  std::map<digest, std::vector<digest>> children_;
  /// The executed chain held at or below the root, oldest first, ending at the root when its
  /// body is held. Valid while `regular_`.
  std::deque<digest> window_;
  /// True while the tree is exactly window_ plus the descendants of the root (every insert
  /// connected); a restart's reload of executed blocks clears it until the next set_root.
  bool regular_ = true;
};

} // namespace bft::hotstuff
