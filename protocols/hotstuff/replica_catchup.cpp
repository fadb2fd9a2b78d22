#include "protocols/hotstuff/replica.hpp"

// Catch-up of the HotStuff replica: fetching missing blocks and state transfer (README
// "Restart, pruning, catch-up"); the rest of the replica is in replica.cpp.
namespace bft::hotstuff {

bool replica::waited_for(const digest& h) const {
  for (const auto& [hash, p] : pending_)
    if (p.blk->parent == h) return true;
  return false;
}

void replica::fetch(const digest& h, replica_id peer, ready& out) {
  if (fetches_.count(h) != 0 || fetches_.size() >= 64) return;
  if (peer == cfg_.self) peer = next_peer(peer);
  if (cfg_.fetch_delay_ticks > 0) { // the block may be on its way: ask on a later tick
    fetches_.emplace(h, fetch_state{peer, 0, 0, false});
    return;
  }
  fetches_.emplace(h, fetch_state{peer, 0, 0});
  send(peer, encode_block_request({cfg_.self, h, fetch_batch}, *signer_, sctx()), out);
}

void replica::maybe_state_transfer(replica_id from, ready& out) {
  if (transfer_) return;
  // Pending blocks are hash-linked and QC-verified. A block c with a child c1 and grandchild
  // c2 of consecutive views, c2 itself certified, is committed (H14); its carried
  // (exec_index, state_root) is then certified by a quorum, and we can anchor there if we
  // know the hash of the block at exec_index.
  std::map<digest, block_ptr> by_hash;
  std::map<digest, digest> child_of; // parent -> a child (hash-linked chain)
  std::set<digest> certified;
  for (const auto& [h, p] : pending_) {
    by_hash[h] = p.blk;
    child_of[p.blk->parent] = h;
    certified.insert(p.blk->justify.block);
  }
  certified.insert(safety_.record().high_qc.block);
  std::optional<transfer_target> best;
  for (const auto& [h, c] : by_hash) {
    auto c1 = child_of.find(h);
    if (c1 == child_of.end()) continue;
    auto c2 = child_of.find(c1->second);
    if (c2 == child_of.end() || certified.count(c2->second) == 0) continue;
    const auto& b1 = by_hash[c1->second];
    const auto& b2 = by_hash[c2->second];
    if (b1->view != c->view.next() || b2->view != b1->view.next()) continue;
    if (c->exec_index <= tree_.root().height.value()) continue;
    // The block at exec_index: a pending block, or the parent of one.
    std::optional<chain_root> at;
    for (const auto& [h2, p] : by_hash) {
      if (p->height.value() == c->exec_index && tree_.extends(h, h2, p->height))
        at = chain_root{h2, p->height, p->view};
      if (p->height.value() == c->exec_index + 1)
        at = chain_root{p->parent, p->justify.height, p->justify.view};
    }
    if (!at) continue;
    if (!best || c->exec_index > best->index)
      best = transfer_target{c->exec_index, c->state_root, *at, 0};
  }
  if (!best) return;
  transfer_ = best;
  state_transfer_request req{best->index, best->root, {}};
  req.sources.push_back(from);
  for (const auto& m : cfg_.validators.members())
    if (m.id != cfg_.self && m.id != from) req.sources.push_back(m.id);
  out.state_transfer = req;
}

void replica::on_state_installed(const ev::state_installed& e, ready& out) {
  if (!transfer_ || transfer_->index != e.index || transfer_->root != e.state_root) {
    out.rejected.push_back({std::nullopt, "state installed that was not asked for"});
    return;
  }
  auto at = transfer_->at;
  transfer_.reset();
  safety_.set_exec(at);
  dirty_ = true;
  committed_index_ = at.height.value();
  roots_[e.index] = e.state_root;
  // H25: what the skipped blocks committed, from the installed application's table.
  std::set<public_key> changed;
  for (const auto& [client, seq] : e.client_seqs) {
    auto& s = committed_seq_[client];
    if (seq > s) {
      s = seq;
      changed.insert(client);
    }
  }
  persist_clients(changed, out);
  for (const auto& h : tree_.set_root(at, keep_executed()))
    out.persist.push_back(persist_op{block_key_prefix + to_hex(h), {}, true});
  fetches_.clear();
  prune();
  deliver_pending(out);
  refetch_missing(out);
}

void replica::refetch_missing(ready& out) {
  // A buffered block whose parent is neither held nor buffered waits for a fetch. Later
  // proposals extend the buffered chain and start no fetch of their own (F7), so without one
  // in flight the replica would follow views and never commit again (F12: the fetches were
  // dropped with a state transfer while blocks above its root still waited).
  for (const auto& [h, p] : pending_) {
    const auto& parent = p.blk->parent;
    if (parent == tree_.root().hash || tree_.contains(parent) || pending_.count(parent) != 0 ||
        fetches_.count(parent) != 0 || p.blk->height.value() <= tree_.root().height.value() + 1)
      continue;
    fetch(parent, p.from, out);
  }
}

} // namespace bft::hotstuff
