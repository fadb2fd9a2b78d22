#include "protocols/hotstuff/safety.hpp"

#include "protocols/common/assert.hpp"
#include "protocols/hotstuff/mutants.hpp"

namespace bft::hotstuff {

safety_record safety_record::genesis() {
  safety_record r;
  r.locked_qc = genesis_qc();
  r.high_qc = genesis_qc();
  r.exec = chain_root{genesis_block()->hash, bft::height{0}, view_number{0}};
  return r;
}

bytes safety_record::encode() const {
  codec::writer w;
  w.header({0x02f0, 1});
  w.id(last_voted_view);
  locked_qc.encode(w);
  high_qc.encode(w);
  w.raw(exec.hash);
  w.id(exec.height);
  w.id(exec.view);
  return w.take();
}

result<safety_record> safety_record::decode(byte_view b) {
  codec::reader r(b);
  r.expect({0x02f0, 1});
  safety_record rec;
  rec.last_voted_view = r.id<view_number>();
  rec.locked_qc = quorum_cert::decode(r);
  rec.high_qc = quorum_cert::decode(r);
  rec.exec.hash = r.fixed<32>();
  rec.exec.height = r.id<bft::height>();
  rec.exec.view = r.id<view_number>();
  if (auto f = r.finish(); !f) return f.error();
  return rec;
}

safety::safety(safety_record r, std::uint64_t mutants) : rec_(std::move(r)), mutants_(mutants) {}

std::string safety::check_vote(const block& b, const block_tree& t) const {
  // H8: strictly increasing; at most one vote per view.
  if (b.view <= rec_.last_voted_view) return "already voted in this or a later view";
  if (has(mutants_, mutant::vote_without_lock_check)) return {};
  // H7 safeNode: extends b_lock (safety) or justify is newer than the lock (liveness).
  const auto& lock = rec_.locked_qc;
  if (b.justify.view > lock.view) return {};
  if (t.extends(b.parent, lock.block, lock.height)) return {};
  return "block neither extends the locked block nor carries a newer QC";
}

void safety::voted(view_number v) {
  // H8: check_vote let this vote through only for a view above the last voted one.
  BFT_ASSERT(v > rec_.last_voted_view, "a vote is recorded only for a view above the last");
  rec_.last_voted_view = v;
}

safety::marks safety::progress() const {
  return {rec_.last_voted_view, rec_.locked_qc.view, rec_.high_qc.view, rec_.exec};
}

void safety::check_progress(const marks& was) const {
  BFT_ASSERT(rec_.last_voted_view >= was.voted, "the last voted view never decreases");
  BFT_ASSERT(rec_.locked_qc.view >= was.locked, "the locked view never decreases");
  BFT_ASSERT(rec_.high_qc.view >= was.high, "the high QC's view never decreases");
  BFT_ASSERT(rec_.exec.height >= was.exec.height, "the executed height never decreases");
  BFT_ASSERT(rec_.exec.height != was.exec.height || rec_.exec.hash == was.exec.hash,
             "the executed block changes only with its height");
}

bool safety::update_high_qc(const quorum_cert& qc) {
  if (qc.view <= rec_.high_qc.view) return false;
  rec_.high_qc = qc;
  return true;
}

void safety::set_exec(chain_root r) {
  if (r.height > rec_.exec.height) rec_.exec = r;
}

safety::update_result safety::update(const block& bstar, const block_tree& t) {
  // The views and the executed height going back is check_progress's (after every step); here
  // only what a commit path must look like.
  const auto was = rec_.exec;
  auto out = advance(bstar, t);
  if (out.commit.empty()) {
    BFT_ASSERT(rec_.exec == was, "the executed block moves only with a commit");
    return out;
  }
  // H15: the path starts right above the executed block, has no gap, and ends at the new one.
  BFT_ASSERT(out.commit.front()->parent == was.hash, "a commit path starts at the executed block");
  auto h = was.height;
  for (const auto& b : out.commit) {
    BFT_ASSERT(b->height == h.next(), "a commit path climbs one height at a time");
    h = b->height;
  }
  BFT_ASSERT(out.commit.back()->hash == rec_.exec.hash,
             "a commit path ends at the new executed block");
  return out;
}

safety::update_result safety::advance(const block& bstar, const block_tree& t) {
  update_result out;
  // H11: b'' = b*.justify.node, b' = b''.justify.node, b = b'.justify.node.
  out.changed = update_high_qc(bstar.justify); // H12 (Alg. 4 form)
  auto b2 = t.find(bstar.justify.block);
  if (!b2 || b2->height <= rec_.exec.height) return out;
  auto b1 = t.find(b2->justify.block);
  if (!b1 || b2->parent != b1->hash) return out;
  // H13 two-chain: lock on b' (lockedQC <- b''.justify); the lock never moves down.
  if (b2->justify.view > rec_.locked_qc.view) {
    rec_.locked_qc = b2->justify;
    out.changed = true;
  }
  block_ptr target;
  if (has(mutants_, mutant::commit_on_two_chain)) {
    target = b1; // b' <- b'' and a QC on b'': one link short, and no view check
  } else {
    auto b0 = t.find(b1->justify.block);
    // H14 three-chain of direct parents; without dummy blocks (H6) direct means consecutive
    // views too, so a gapped chain commits nothing.
    if (b0 && b1->parent == b0->hash) {
      bool consecutive = b2->view == b1->view.next() && b1->view == b0->view.next();
      if (consecutive || has(mutants_, mutant::commit_gapped_chain)) target = b0;
    }
  }
  if (!target || target->height <= rec_.exec.height) return out;
  // H15: execute every uncommitted ancestor first, oldest first, each once.
  out.commit = t.path_from_root(target->hash);
  if (out.commit.empty()) {
    out.conflict = true;
    return out;
  }
  rec_.exec = chain_root{target->hash, target->height, target->view};
  out.changed = true;
  return out;
}

} // namespace bft::hotstuff
