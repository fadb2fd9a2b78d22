#pragma once
/// An authenticated set of (key, leaf digest) pairs with a SHA3-256 root that is updated
/// incrementally: a fixed-shape Merkle tree of fanout 16 over 4096 buckets.
///
/// - A key lives in bucket `first 12 bits of SHA3-256(key)`; a bucket's hash is
///   SHA3-256(0x01 | its leaf digests in key order) (all zeros when empty). Each leaf digest
///   binds its own key, so the bucket hash commits to the bucket's exact contents.
/// - An inner node's hash is SHA3-256(0x02 | its 16 children's hashes); three inner levels
///   (256, 16, 1 nodes) lead to the root.
/// - Writes only mark their bucket dirty; `root()` rehashes dirty buckets and the inner nodes
///   above them: O(bucket size + 3 × 16 digests) per dirty bucket, independent of the total.
/// Collision resistance reduces to SHA3-256's (domain-separated leaf, bucket and node hashes),
/// unlike an XOR or sum of leaf hashes, for which colliding sets are easy to build.
///
/// Not thread-safe; one owner. Deterministic: the root depends only on the set of pairs.
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "protocols/common/bytes.hpp"

namespace bft::smr {

class state_tree {
public:
  static constexpr std::size_t fanout = 16;
  static constexpr std::size_t bucket_count = 4096; // fanout^3

  state_tree();
  /// Inserts or replaces the leaf of `key`.
  void put(const std::string& key, const digest& leaf);
  void erase(const std::string& key);
  /// The root over every pair; recomputes only what changed since the last call.
  [[nodiscard]] digest root();
  [[nodiscard]] std::size_t size() const { return size_; }

  /// Bucket of a key (exposed for tests).
  static std::uint32_t bucket_of(const std::string& key);

private:
  std::vector<std::map<std::string, digest>> buckets_;
  std::array<std::vector<digest>, 4> levels_; // 4096 bucket hashes, 256, 16, 1
  std::set<std::uint32_t> dirty_;
  std::size_t size_ = 0;
};

/// The leaf digest of a (key, value) pair: SHA3-256(0x00 | u32 len | key | u32 len | value).
digest leaf_digest(const std::string& key, byte_view value);

} // namespace bft::smr
