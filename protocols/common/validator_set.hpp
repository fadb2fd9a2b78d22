#pragma once
/// The validator set of one epoch: ids, keys, addresses, voting weights and the quorum rules.
/// Immutable after construction; safe to share between threads for reading.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"

namespace bft {

struct validator {
  replica_id id;
  public_key key{};
  std::string address; ///< host:port
  std::uint64_t weight = 1;
};

/// f for n equal-weight replicas: the most Byzantine replicas n can tolerate, ⌊(n−1)/3⌋.
constexpr std::size_t max_byzantine_tolerance(std::size_t n) { return n == 0 ? 0 : (n - 1) / 3; }

class validator_set {
public:
  validator_set() = default;
  /// Validates (non-empty, distinct ids and keys, non-zero weights) and sorts by id.
  static result<validator_set> make(std::vector<validator> vs);
  /// n equal-weight validators with ids 0..n−1 and the given keys.
  static validator_set equal_weights(const std::vector<public_key>& keys);

  [[nodiscard]] std::size_t size() const { return members_.size(); }
  [[nodiscard]] const std::vector<validator>& members() const { return members_; }
  [[nodiscard]] const validator* find(replica_id id) const;
  [[nodiscard]] const validator* find(const public_key& key) const;
  [[nodiscard]] bool contains(replica_id id) const { return find(id) != nullptr; }
  [[nodiscard]] std::uint64_t weight_of(replica_id id) const;
  [[nodiscard]] std::uint64_t total_weight() const { return total_; }
  /// Smallest weight that is more than two thirds of the total: ⌊2T/3⌋ + 1.
  [[nodiscard]] std::uint64_t quorum_weight() const { return total_ * 2 / 3 + 1; }
  /// Largest weight the set tolerates being Byzantine: ⌊(T−1)/3⌋.
  [[nodiscard]] std::uint64_t max_faulty_weight() const {
    return total_ == 0 ? 0 : (total_ - 1) / 3;
  }
  /// Smallest weight guaranteed to include an honest validator: f + 1 in weight.
  [[nodiscard]] std::uint64_t one_honest_weight() const { return max_faulty_weight() + 1; }
  [[nodiscard]] bool is_quorum(std::uint64_t w) const { return w >= quorum_weight(); }
  /// f as a count of replicas for equal weights.
  [[nodiscard]] std::size_t f() const { return max_byzantine_tolerance(members_.size()); }
  /// Sum of the weights of the listed ids; each id counts once, unknown ids count zero.
  [[nodiscard]] std::uint64_t weight_of(const std::vector<replica_id>& ids) const;

private:
  std::vector<validator> members_; // sorted by id
  std::uint64_t total_ = 0;
};

} // namespace bft
