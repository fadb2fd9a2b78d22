#include "protocols/common/validator_set.hpp"

#include <algorithm>
#include <set>

namespace bft {

result<validator_set> validator_set::make(std::vector<validator> vs) {
  if (vs.empty()) return error{errc::invalid_config, "validator set is empty"};
  std::sort(vs.begin(), vs.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::set<public_key> keys;
  validator_set out;
  for (std::size_t i = 0; i < vs.size(); ++i) {
    if (i > 0 && vs[i].id == vs[i - 1].id)
      return error{errc::invalid_config,
                   "duplicate validator id " + std::to_string(vs[i].id.value())};
    if (!keys.insert(vs[i].key).second)
      return error{errc::invalid_config,
                   "duplicate validator key for id " + std::to_string(vs[i].id.value())};
    if (vs[i].weight == 0)
      return error{errc::invalid_config,
                   "zero weight for validator " + std::to_string(vs[i].id.value())};
    if (out.total_ > UINT64_MAX / 4 - vs[i].weight)
      return error{errc::invalid_config, "total voting weight overflows"};
    out.total_ += vs[i].weight;
  }
  out.members_ = std::move(vs);
  return out;
}

validator_set validator_set::equal_weights(const std::vector<public_key>& keys) {
  std::vector<validator> vs;
  for (std::size_t i = 0; i < keys.size(); ++i)
    vs.push_back({replica_id{static_cast<std::uint32_t>(i)}, keys[i],
                  "127.0.0.1:" + std::to_string(26000 + i), 1});
  auto r = make(std::move(vs));
  BFT_ASSERT(r.has_value(), "equal_weights needs distinct keys");
  return std::move(r).value();
}

const validator* validator_set::find(replica_id id) const {
  auto it = std::lower_bound(members_.begin(), members_.end(), id,
                             [](const validator& v, replica_id x) { return v.id < x; });
  return it != members_.end() && it->id == id ? &*it : nullptr;
}

const validator* validator_set::find(const public_key& key) const {
  for (const auto& v : members_)
    if (v.key == key) return &v;
  return nullptr;
}

std::uint64_t validator_set::weight_of(replica_id id) const {
  const auto* v = find(id);
  return v ? v->weight : 0;
}

std::uint64_t validator_set::weight_of(const std::vector<replica_id>& ids) const {
  std::set<replica_id> seen(ids.begin(), ids.end());
  std::uint64_t w = 0;
  for (auto id : seen) w += weight_of(id);
  return w;
}

} // namespace bft
