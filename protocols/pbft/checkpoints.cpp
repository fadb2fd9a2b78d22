#include "protocols/pbft/checkpoints.hpp"

#include <utility>
#include <vector>

#include "protocols/common/assert.hpp"

namespace bft::pbft {

checkpoints::checkpoints(validator_set vs, std::size_t per_sender)
    : vs_(std::move(vs)), per_sender_(per_sender) {
  BFT_ASSERT(per_sender_ > 0, "a sender may hold at least one checkpoint");
}

std::optional<checkpoint_proof> checkpoints::add(const checkpoint& c) {
  const auto n = c.seq.value();
  if (auto at = votes_.find(n); at != votes_.end())
    for (const auto& [state, signers] : at->second)
      if (signers.contains(c.from)) return std::nullopt; // one checkpoint per signer and seq
  auto& mine = by_sender_[c.from];
  mine.insert(n);
  while (mine.size() > per_sender_) { // bounded memory per sender
    auto low = *mine.begin();
    mine.erase(mine.begin());
    if (auto it = votes_.find(low); it != votes_.end())
      for (auto& [state, signers] : it->second) signers.erase(c.from);
  }
  if (!mine.contains(n)) return std::nullopt; // below all the sender's others: not kept
  auto& signers = votes_[n][c.state];
  signers.emplace(c.from, c.sig);
  std::vector<replica_id> ids;
  for (const auto& [who, sig] : signers) ids.push_back(who);
  if (!vs_.is_quorum(vs_.weight_of(ids))) return std::nullopt;
  checkpoint_proof proof;
  proof.seq = c.seq;
  proof.state = c.state;
  for (const auto& [who, sig] : signers) proof.sigs.push_back(signed_by{who, sig});
  return proof;
}

void checkpoints::drop_to(std::uint64_t h) {
  votes_.erase(votes_.begin(), votes_.upper_bound(h));
  for (auto& [who, seqs] : by_sender_) seqs.erase(seqs.begin(), seqs.upper_bound(h));
}

std::size_t checkpoints::votes(std::uint64_t n, const digest& state) const {
  auto at = votes_.find(n);
  if (at == votes_.end()) return 0;
  auto it = at->second.find(state);
  return it == at->second.end() ? 0 : it->second.size();
}

std::size_t checkpoints::held_from(replica_id who) const {
  auto it = by_sender_.find(who);
  return it == by_sender_.end() ? 0 : it->second.size();
}

} // namespace bft::pbft
