#pragma once
/// The blocks a replica holds: every delivered block whose branch reaches the executed root
/// b_exec (H5: a block is stored only after its parent), plus a short window of executed
/// blocks kept to answer peers' block requests. Ordered containers only (deterministic).
/// Owned by one replica; not thread-safe.
#include <cstddef>
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
  chain_root root_;
  std::map<digest, block_ptr> blocks_;
};

} // namespace bft::hotstuff
