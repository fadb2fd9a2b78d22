#include "protocols/smr/state_tree.hpp"

#include "crypto/sha3.hpp"
#include "protocols/common/codec.hpp"

namespace bft::smr {

namespace {
constexpr std::uint8_t bucket_tag = 0x01;
constexpr std::uint8_t node_tag = 0x02;
} // namespace

state_tree::state_tree() : buckets_(bucket_count) {
  std::size_t n = bucket_count;
  for (auto& level : levels_) {
    level.assign(n, digest{});
    n /= fanout;
  }
  // Bring inner levels to the hash of an empty tree.
  for (std::uint32_t b = 0; b < bucket_count; b += fanout) dirty_.insert(b);
}

std::uint32_t state_tree::bucket_of(const std::string& key) {
  auto h = crypto::sha3_256(as_bytes(key));
  return (static_cast<std::uint32_t>(h[0]) << 4) | (h[1] >> 4);
}

void state_tree::put(const std::string& key, const digest& leaf) {
  auto b = bucket_of(key);
  auto [it, inserted] = buckets_[b].insert_or_assign(key, leaf);
  (void)it;
  if (inserted) ++size_;
  dirty_.insert(b);
}

void state_tree::erase(const std::string& key) {
  auto b = bucket_of(key);
  if (buckets_[b].erase(key) > 0) {
    --size_;
    dirty_.insert(b);
  }
}

digest state_tree::root() {
  if (dirty_.empty()) return levels_[3][0];
  std::set<std::uint32_t> parents;
  for (auto b : dirty_) {
    const auto& bucket = buckets_[b];
    if (bucket.empty()) {
      levels_[0][b] = digest{};
    } else {
      crypto::sha3_hasher h;
      const std::uint8_t tag = bucket_tag;
      h.update(byte_view{&tag, 1});
      for (const auto& [key, leaf] : bucket) h.update(leaf);
      levels_[0][b] = h.finish();
    }
    parents.insert(static_cast<std::uint32_t>(b / fanout));
  }
  dirty_.clear();
  for (std::size_t level = 1; level < levels_.size(); ++level) {
    std::set<std::uint32_t> next;
    for (auto p : parents) {
      crypto::sha3_hasher h;
      const std::uint8_t tag = node_tag;
      h.update(byte_view{&tag, 1});
      for (std::size_t c = 0; c < fanout; ++c) h.update(levels_[level - 1][p * fanout + c]);
      levels_[level][p] = h.finish();
      next.insert(static_cast<std::uint32_t>(p / fanout));
    }
    parents = std::move(next);
  }
  return levels_[3][0];
}

digest leaf_digest(const std::string& key, byte_view value) {
  codec::writer w(key.size() + value.size() + 9);
  w.u8(0x00);
  w.u32(static_cast<std::uint32_t>(key.size()));
  w.raw(as_bytes(key));
  w.u32(static_cast<std::uint32_t>(value.size()));
  w.raw(value);
  return crypto::sha3_256(w.data());
}

} // namespace bft::smr
