#include "protocols/hotstuff/replica.hpp"

// The HotStuff replica's mempool: admission of client requests and the choice of a new
// block's requests (H25); the rest of the replica is in replica.cpp.
namespace bft::hotstuff {

void replica::on_requests(const ev::client_requests& e, ready& out) {
  for (const auto& q : e.requests) {
    // The driver may have checked the signatures already (e.verified); peers' copies of a
    // request (in blocks) are verified in on_proposal unless they match what was admitted here.
    if (!e.verified && !verifier_->verify(q.client,
                                          codec::signing_bytes(client_request::sign_tag,
                                                               cfg_.chain_id, cfg_.epoch, q.body()),
                                          q.sig)) {
      out.rejected.push_back({std::nullopt, "client request with a bad signature"});
      continue;
    }
    auto c = committed_seq_.find(q.client);
    if (c != committed_seq_.end() && q.client_seq <= c->second) continue; // already committed
    if (mempool_index_.count({q.client, q.client_seq}) != 0) continue;
    if (mempool_.size() >= max_mempool) {
      out.rejected.push_back({std::nullopt, "mempool full"});
      continue;
    }
    mempool_index_.emplace(std::make_pair(q.client, q.client_seq), arrivals_);
    mempool_.emplace(arrivals_++, q);
  }
}

void replica::take_requests(const digest& tip, std::vector<client_request>& into) {
  // H25: per client, the highest client_seq committed or already in the branch being extended.
  // A request at or below it is never proposed: executing it would be a no-op (P3), and a
  // voter that has committed the branch by the time it votes refuses the block. Requests are
  // taken in arrival order, then each client's are put in client_seq order.
  // Requests at or below the committed one leave the mempool here; the branch's highest is
  // collected once per proposal (the committed table is only looked up, never copied).
  std::map<public_key, std::uint64_t> in_branch;
  for (const auto& anc : tree_.path_from_root(tip))
    for (const auto& q : anc->requests) {
      auto& h = in_branch[q.client];
      h = std::max(h, q.client_seq);
    }
  for (auto it = mempool_.begin(); it != mempool_.end() && into.size() < cfg_.batch_size;) {
    const auto& q = it->second;
    auto c = committed_seq_.find(q.client);
    if (c != committed_seq_.end() && q.client_seq <= c->second) {
      mempool_index_.erase({q.client, q.client_seq});
      it = mempool_.erase(it);
      continue;
    }
    // The mempool holds each (client, seq) once (mempool_index_), so nothing is taken twice.
    auto b = in_branch.find(q.client);
    if (b == in_branch.end() || q.client_seq > b->second) into.push_back(q);
    ++it;
  }
  // Each client's requests keep the block positions they got and take them in seq order.
  std::map<public_key, std::vector<std::size_t>> slots;
  for (std::size_t i = 0; i < into.size(); ++i) slots[into[i].client].push_back(i);
  for (auto& [client, pos] : slots) {
    if (pos.size() < 2) continue;
    std::vector<client_request> mine;
    for (auto i : pos) mine.push_back(std::move(into[i]));
    std::sort(mine.begin(), mine.end(), [](const client_request& a, const client_request& b) {
      return a.client_seq < b.client_seq;
    });
    for (std::size_t k = 0; k < pos.size(); ++k) into[pos[k]] = std::move(mine[k]);
  }
}

bool replica::branch_has_requests(const digest& tip) const {
  for (const auto& b : tree_.path_from_root(tip))
    if (!b->requests.empty()) return true;
  return false;
}

} // namespace bft::hotstuff
