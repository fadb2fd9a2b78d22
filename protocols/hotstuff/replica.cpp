#include "protocols/hotstuff/replica.hpp"

#include <algorithm>
#include <stdexcept>

#include "crypto/sha3.hpp"
#include "protocols/common/assert.hpp"
#include "protocols/hotstuff/mutants.hpp"

namespace bft::hotstuff {
namespace {

constexpr std::uint64_t max_view_value = std::uint64_t{1} << 62;

safety_record restore(const persisted_state& state) {
  auto it = state.find(safety_key);
  if (it == state.end()) return safety_record::genesis();
  auto rec = safety_record::decode(it->second);
  if (!rec)
    throw std::invalid_argument("hotstuff: stored safety record is corrupt: " +
                                rec.error().message());
  return *rec;
}

std::uint64_t bit(mutant m) { return static_cast<std::uint64_t>(m); }

constexpr const char* guard_key = "hotstuff/guard";
constexpr const char* asked_key = "hotstuff/asked";
/// H24: the last view this replica proposed in, persisted in the ready whose messages carry
/// the proposal, so a restarted leader never signs a second block for that view.
constexpr const char* proposed_key = "hotstuff/proposed";
/// H25: per client, the highest committed client_seq ("hotstuff/client/<hex key>"),
/// persisted with the commit, so a restarted leader still knows what is committed.
constexpr const char* client_key_prefix = "hotstuff/client/";

view_number read_view(const persisted_state& state, const char* key) {
  auto it = state.find(key);
  if (it == state.end()) return view_number{0};
  codec::reader r(it->second);
  auto v = r.id<view_number>();
  if (!r.finish())
    throw std::invalid_argument(std::string("hotstuff: stored ") + key + " is corrupt");
  return v;
}

bytes encode_view(view_number v) {
  codec::writer w(8);
  w.id(v);
  return w.take();
}

/// The cache key of a verified QC: its statement and a digest of all of its bytes, so a copy
/// of a verified statement with other (say, corrupted) signatures is verified on its own.
std::tuple<std::uint64_t, std::uint64_t, digest, digest> qc_key(const quorum_cert& qc) {
  codec::writer w;
  qc.encode(w);
  return {qc.view.value(), qc.height.value(), qc.block, crypto::sha3_256(w.data())};
}

} // namespace

replica::replica(engine_config cfg, const crypto::signer& s, const crypto::verifier& v,
                 const persisted_state& state)
    : cfg_(std::move(cfg)), signer_(&s), verifier_(&v), safety_(restore(state), cfg_.mutants),
      pacemaker_(cfg_.validators,
                 std::make_unique<round_robin_election>(cfg_.validators, cfg_.leader_schedule),
                 cfg_.base_timeout_ticks),
      tree_(safety_.record().exec) {
  if (!cfg_.validators.contains(cfg_.self))
    throw std::invalid_argument("hotstuff: self is not in the validator set");
  const auto& rec = safety_.record();
  // Stored blocks come back in height order; those that still reach the root are kept.
  std::vector<block_ptr> stored;
  const std::string prefix = block_key_prefix;
  for (auto it = state.lower_bound(prefix);
       it != state.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    codec::reader r(it->second);
    auto b = block::decode(r, it->second);
    if (!r.finish()) throw std::invalid_argument("hotstuff: stored block is corrupt: " + it->first);
    stored.push_back(std::make_shared<const block>(std::move(b)));
  }
  std::sort(stored.begin(), stored.end(), [](const block_ptr& a, const block_ptr& b) {
    return a->height != b->height ? a->height < b->height : a->hash < b->hash;
  });
  for (const auto& b : stored)
    if (b->height <= rec.exec.height || tree_.connects(*b)) tree_.insert(b);
  persisted_vote_view_ = rec.last_voted_view;
  committed_index_ = rec.exec.height.value();
  asked_view_ = read_view(state, asked_key);
  // H24: a view it proposed in before the restart is never proposed in again.
  if (auto pv = read_view(state, proposed_key); pv > view_number{0}) pacemaker_.mark_proposed(pv);
  // H25: the committed client table (highest committed client_seq per client).
  const std::string cprefix = client_key_prefix;
  for (auto it = state.lower_bound(cprefix);
       it != state.end() && it->first.compare(0, cprefix.size(), cprefix) == 0; ++it) {
    bytes key;
    codec::reader r(it->second);
    auto seq = r.u64();
    if (!from_hex(std::string_view(it->first).substr(cprefix.size()), key) ||
        key.size() != public_key{}.size() || !r.finish())
      throw std::invalid_argument("hotstuff: stored client record is corrupt: " + it->first);
    public_key pk{};
    std::copy(key.begin(), key.end(), pk.begin());
    committed_seq_[pk] = seq;
  }
  // Amnesia guard: a guard in force was persisted; an empty record while the driver says this
  // replica may have signed before starts one.
  if (auto it = state.find(guard_key); it != state.end()) {
    auto g = recovery::guard_state::decode(it->second);
    if (!g) throw std::invalid_argument("hotstuff: stored amnesia guard is corrupt");
    guard_ = *g;
  } else if (cfg_.recovering && state.empty()) {
    guard_ = recovery::guard_state{};
    guard_dirty_ = true;
  }
  if (guard_ && !guard_->learned) {
    status_.emplace(cfg_.validators, cfg_.self, cfg_.recovery_nonce);
    status_due_ = true;
  }
  // Resume after everything voted or certified before the restart.
  auto v0 = std::max(rec.last_voted_view, rec.high_qc.view).next();
  pacemaker_.advance_to(v0, pacemaker::entry::restore);
}

std::size_t replica::keep_executed() const { return 2 * cfg_.checkpoint_interval + 8; }

ready replica::step(const event& e) {
  ready out;
  const auto was_safety = safety_.progress();
  const auto was_view = pacemaker_.view();
  const auto was_committed = committed_index_;
  if (guard_dirty_) { // before anything else of the first ready (and of every update)
    guard_dirty_ = false;
    out.persist.push_back(persist_op{guard_key, guard_->encode(), false});
  }
  if (status_due_) {
    status_due_ = false;
    send_status_request(out);
  }
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, ev::received>)
          on_frame(ev, out);
        else if constexpr (std::is_same_v<T, ev::tick>)
          on_tick(out);
        else if constexpr (std::is_same_v<T, ev::client_requests>)
          on_requests(ev, out);
        else if constexpr (std::is_same_v<T, ev::executed>)
          on_executed(ev);
        else
          on_state_installed(ev, out);
      },
      e);
  try_propose(out);
  persist_if_dirty(out);
  if (guard_dirty_) { // learned during this step: record it before this ready's messages
    guard_dirty_ = false;
    out.persist.insert(out.persist.begin(), persist_op{guard_key, guard_->encode(), false});
  }
  check_step(out, was_safety, was_view, was_committed);
  return out;
}

void replica::check_step(ready& out, const safety::marks& was_safety, view_number was_view,
                         std::uint64_t was_committed) const {
  safety_.check_progress(was_safety);
  const bool m = cfg_.mutants != 0;
  auto& alarms = out.alarms;
  BFT_INVARIANT(pacemaker_.view() >= was_view, "the current view never decreases", m, alarms);
  BFT_INVARIANT(committed_index_ >= was_committed, "the committed height never decreases", m,
                alarms);
  BFT_INVARIANT(committed_index_ == safety_.record().exec.height.value(),
                "the committed height is the executed block's", m, alarms);
  BFT_INVARIANT(tree_.root() == safety_.record().exec,
                "the block tree is rooted at the executed block", m, alarms);
  auto prev = was_committed;
  for (const auto& c : out.committed) { // handed out once each, in height order
    BFT_INVARIANT(c.index > prev, "committed entries climb", m, alarms);
    prev = c.index;
  }
  BFT_INVARIANT(out.committed.empty() || out.committed.back().index == committed_index_,
                "the last committed entry is the committed height", m, alarms);
}

engine_status replica::status() const {
  engine_status s;
  s.view = pacemaker_.view();
  s.leader = pacemaker_.leader(s.view);
  s.committed_index = committed_index_;
  s.stable_index = safety_.record().locked_qc.height.value();
  s.view_changing = pacemaker_.consecutive_timeouts() > 0;
  return s;
}

void replica::send(std::optional<replica_id> to, bytes frame, ready& out) {
  out.messages.push_back(outbound{to, std::move(frame)});
}

void replica::persist_if_dirty(ready& out) {
  if (!dirty_) return;
  dirty_ = false;
  auto rec = safety_.record();
  if (mutant(bit(mutant::vote_before_persist)))
    rec.last_voted_view = persisted_vote_view_; // the vote leaves unrecorded
  out.persist.push_back(persist_op{safety_key, rec.encode(), false});
}

replica_id replica::next_peer(replica_id after) const {
  const auto& ms = cfg_.validators.members();
  for (std::size_t i = 0; i < ms.size(); ++i)
    if (ms[i].id == after) {
      for (std::size_t k = 1; k <= ms.size(); ++k) {
        auto id = ms[(i + k) % ms.size()].id;
        if (id != cfg_.self) return id;
      }
    }
  return ms.front().id == cfg_.self && ms.size() > 1 ? ms[1].id : ms.front().id;
}

// ---------------------------------------------------------------------------------------
// Frames

void replica::on_frame(const ev::received& r, ready& out) {
  // The link layer hands over frames only from links that proved a validator id; should one
  // come from anyone else, nothing is answered or fetched from it (tests/fuzz engine_frames
  // found a block fetched from a non-validator sender of a relayed proposal).
  if (!cfg_.validators.contains(r.from) || r.from == cfg_.self) {
    out.rejected.push_back({r.from, "frame from a link that is not another validator's"});
    return;
  }
  if (on_status_frame(r, out)) return;
  auto d = decode(r.frame);
  if (!d) {
    out.rejected.push_back({r.from, "malformed frame: " + d.error().message()});
    return;
  }
  if (auto ok = verify_signature(*d, cfg_.validators, *verifier_, sctx()); !ok) {
    out.rejected.push_back({r.from, "frame: " + ok.error().message()});
    return;
  }
  if (d->signer == cfg_.self) {
    out.rejected.push_back({r.from, "frame claims to come from this replica"});
    return;
  }
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, proposal>)
          on_proposal(m.blk, r.frame, r.from, false, out);
        else if constexpr (std::is_same_v<T, vote>)
          on_vote(m, r.frame, false, out);
        else if constexpr (std::is_same_v<T, new_view>)
          on_new_view(m, out);
        else if constexpr (std::is_same_v<T, block_request>)
          on_block_request(m, out);
        else
          on_block_response(m, r.from, out);
      },
      d->msg);
}

result<void> replica::check_qc(const quorum_cert& qc) {
  auto key = qc_key(qc);
  if (verified_qcs_.count(key) != 0) return {};
  qc_context ctx{cfg_.chain_id, cfg_.epoch, &cfg_.validators, verifier_,
                 mutant(bit(mutant::accept_qc_with_duplicate_signer))};
  auto ok = verify_qc(qc, ctx);
  if (ok) verified_qcs_.insert(key);
  return ok;
}

std::string replica::check_structure(const block& b) const {
  if (b.view == view_number{0} || b.view.value() >= max_view_value) return "bad view";
  if (b.height == bft::height{0}) return "only genesis has height 0";
  if (b.justify.block != b.parent) return "justify QC does not certify the parent (H3)";
  if (b.justify.view >= b.view) return "justify QC is not older than the block";
  if (b.justify.height.next() != b.height) return "height is not the parent's plus one";
  if (b.requests.size() > block::max_requests) return "too many requests";
  return {};
}

void replica::on_proposal(const block_ptr& b, byte_view frame, replica_id from, bool own,
                          ready& out) {
  // H9: only the proposal of leader(view), at most one per view.
  if (b->proposer != pacemaker_.leader(b->view)) {
    out.rejected.push_back({from, "proposal from a replica that does not lead its view"});
    return;
  }
  const signed_slot seen{b->proposer.value(), slot_proposal, b->view.value(), 0};
  if (const auto* first = signed_.first(seen)) {
    if (*first != b->hash) {
      if (auto ev = signed_.observe(seen, b->hash, frame).evidence)
        out.evidence.push_back(std::move(*ev));
      out.rejected.push_back({from, "second proposal for one view (equivocation)"});
    }
    return; // a repeat of the proposal already handled
  }
  if (auto why = check_structure(*b); !why.empty()) {
    out.rejected.push_back({from, "proposal: " + why});
    return;
  }
  if (b->view.value() > pacemaker_.view().value() + max_future_views &&
      b->justify.view.next() != b->view) {
    out.rejected.push_back({from, "proposal too far ahead of this replica's view"});
    return;
  }
  if (auto ok = check_qc(b->justify); !ok) {
    out.rejected.push_back({from, "proposal justify QC: " + ok.error().message()});
    return;
  }
  if (!own) {
    // Client signatures are checked once, here, before the block can get our vote.
    for (const auto& q : b->requests) {
      // A request already admitted to our mempool was verified then: verify it only once.
      if (auto it = mempool_index_.find({q.client, q.client_seq}); it != mempool_index_.end()) {
        const auto& mine = mempool_.at(it->second);
        if (mine.sig == q.sig && mine.txs == q.txs) continue;
      }
      auto msg =
          codec::signing_bytes(client_request::sign_tag, cfg_.chain_id, cfg_.epoch, q.body());
      if (!verifier_->verify(q.client, msg, q.sig)) {
        out.rejected.push_back({from, "proposal holds a badly signed client request"});
        return;
      }
    }
  }
  (void)signed_.observe(seen, b->hash, frame); // the first proposal of its view
  on_qc(b->justify, out);
  if (b->height <= tree_.root().height || tree_.contains(b->hash)) return;
  pending_block p{b, true, from};
  if (tree_.connects(*b)) {
    deliver(p, out);
    deliver_pending(out);
  } else if (pending_.size() < max_pending) {
    // H5: buffer it and fetch the missing ancestors from whoever sent it.
    pending_.emplace(b->hash, p);
    if (!tree_.contains(b->parent) && pending_.count(b->parent) == 0)
      fetch(b->parent, own ? next_peer(cfg_.self) : from, out);
  } else {
    out.rejected.push_back({from, "too many blocks waiting for ancestors"});
  }
}

void replica::on_vote(const vote& v, byte_view frame, bool any_leader, ready& out) {
  const auto& hq = safety_.record().high_qc;
  if (v.view.value() >= max_view_value || v.view == view_number{0}) {
    out.rejected.push_back({v.signer, "vote for an impossible view"});
    return;
  }
  // Evidence: two votes of one key in one view for different blocks.
  const signed_slot seen{v.signer.value(), slot_vote, v.view.value(), 0};
  if (const auto* first = signed_.first(seen)) {
    if (*first != v.block) {
      if (auto ev = signed_.observe(seen, v.block, frame).evidence)
        out.evidence.push_back(std::move(*ev));
      out.rejected.push_back({v.signer, "second vote in one view (equivocation)"});
      return;
    }
    if (!mutant(bit(mutant::count_duplicate_votes))) return; // H16: ignore the second vote
  } else {
    if (v.view <= hq.view) return; // a QC for this view or later exists already
    if (v.view.value() > pacemaker_.view().value() + max_future_views) {
      out.rejected.push_back({v.signer, "vote too far ahead of this replica's view"});
      return;
    }
    (void)signed_.observe(seen, v.block, frame); // the first vote of its view
  }
  // H9: votes go to the next leader; votes carried in new-views count anywhere.
  if (!any_leader && pacemaker_.leader(v.view.next()) != cfg_.self) return;
  auto& set = votes_[{v.view, v.block}];
  if (set.formed) return;
  if (set.sigs.empty()) set.height = v.height;
  if (set.height != v.height) {
    out.rejected.push_back({v.signer, "vote names another height for the block"});
    return;
  }
  set.sigs.push_back({v.signer, v.sig});
  set.weight += cfg_.validators.weight_of(v.signer);
  if (!cfg_.validators.is_quorum(set.weight)) return;
  set.formed = true;
  quorum_cert qc{v.block, v.view, v.height, set.sigs};
  std::sort(qc.sigs.begin(), qc.sigs.end(),
            [](const qc_signature& a, const qc_signature& b) { return a.signer < b.signer; });
  verified_qcs_.insert(qc_key(qc));
  on_qc(qc, out);
}

void replica::on_new_view(const new_view& m, ready& out) {
  if (m.view.value() >= max_view_value) {
    out.rejected.push_back({m.sender, "new-view for an impossible view"});
    return;
  }
  if (auto ok = check_qc(m.high_qc); !ok) {
    out.rejected.push_back({m.sender, "new-view QC: " + ok.error().message()});
    return;
  }
  if (m.high_qc.view >= m.view) {
    out.rejected.push_back({m.sender, "new-view carries a QC of its own view or later"});
    return;
  }
  on_qc(m.high_qc, out); // H19: the receiver calls updateQCHigh
  if (!m.last_vote.empty()) {
    auto d = decode(m.last_vote);
    if (!d || d->type != msg_type::vote || d->signer != m.sender) {
      out.rejected.push_back({m.sender, "new-view carries something other than its vote"});
      return;
    }
    if (auto ok = verify_signature(*d, cfg_.validators, *verifier_, sctx()); !ok) {
      out.rejected.push_back({m.sender, "new-view vote: " + ok.error().message()});
      return;
    }
    on_vote(std::get<vote>(d->msg), m.last_vote, true, out);
  }
  pacemaker_.record_new_view(m.sender, m.view);
  sync_views(out);
  // F4: the sender lags behind (it asks for a view at or below ours: a replica asks for a
  // view it has not entered): tell it, once per view, that we are in ours, so it catches up
  // at once rather than at our next timeout (which can be up to 2^max_backoff base timeouts
  // away after a long fault period). Asking for our very view counts too: we entered it on a
  // quorum, whose new-views the sender may have missed, and nobody sends new-views for a view
  // it is already in, so without the answer the sender waits for its own next timeout.
  const auto v = pacemaker_.view();
  if (m.view <= v && m.sender != cfg_.self && !(guard_ && !guard_->learned)) {
    auto& told = told_view_[m.sender];
    if (told < v) {
      told = v;
      new_view mine{v, cfg_.self, safety_.record().high_qc, last_vote_};
      send(m.sender, encode_new_view(mine, *signer_, sctx()), out);
    }
  }
}

void replica::sync_views(ready& out) {
  // More than f weight asks for a higher view: at least one honest replica timed out, so
  // ask for it too (this amplification lets a quorum form).
  auto sv = pacemaker_.sync_view();
  if (sv > pacemaker_.view() && sv > pacemaker_.own_new_view(cfg_.self)) send_new_view(sv, out);
  // A quorum asks for a higher view (a timeout certificate): enter it (nextView).
  auto qv = pacemaker_.quorum_view();
  if (qv > pacemaker_.view()) enter_view(qv, pacemaker::entry::quorum, out);
}

void replica::on_block_request(const block_request& m, ready& out) {
  block_response resp;
  resp.sender = cfg_.self;
  resp.requested = m.hash;
  resp.committed_height = tree_.root().height.value();
  resp.blocks = tree_.chain_down(m.hash, std::min(m.max_count, block_request::max_blocks));
  send(m.sender, encode_block_response(resp, *signer_, sctx()), out);
}

void replica::on_block_response(const block_response& m, replica_id from, ready& out) {
  auto f = fetches_.find(m.requested);
  if (f == fetches_.end()) return; // unsolicited or already answered
  if (m.blocks.empty()) {
    if (m.committed_height > tree_.root().height.value()) maybe_state_transfer(m.sender, out);
    return; // the tick retries with another peer
  }
  // The blocks must be the requested one and its ancestors, each with a valid QC.
  digest want = m.requested;
  for (const auto& b : m.blocks) {
    if (b->hash != want) {
      out.rejected.push_back({from, "block response: blocks do not chain to the request"});
      return;
    }
    if (auto why = check_structure(*b); !why.empty()) {
      out.rejected.push_back({from, "block response: " + why});
      return;
    }
    if (auto ok = check_qc(b->justify); !ok) {
      out.rejected.push_back({from, "block response QC: " + ok.error().message()});
      return;
    }
    want = b->parent;
  }
  fetches_.erase(f);
  for (const auto& b : m.blocks) {
    if (b->height <= tree_.root().height || tree_.contains(b->hash)) continue;
    if (pending_.size() >= max_pending) break;
    pending_.emplace(b->hash, pending_block{b, false, m.sender});
  }
  const auto& low = m.blocks.back();
  if (!tree_.contains(low->parent) && low->parent != tree_.root().hash &&
      pending_.count(low->parent) == 0 && low->height.value() > tree_.root().height.value() + 1)
    fetch(low->parent, m.sender, out);
  deliver_pending(out);
}

// ---------------------------------------------------------------------------------------
// Blocks, votes, QCs

void replica::deliver(const pending_block& p, ready& out) {
  const auto& b = p.blk;
  tree_.insert(b);
  codec::writer w(512 + b->requests.size() * 128);
  b->encode(w);
  out.persist.push_back(persist_op{block_key_prefix + to_hex(b->hash), w.take(), false});
  auto res = safety_.update(*b, tree_); // H10: on every delivered block, voted for or not
  dirty_ = dirty_ || res.changed;
  if (res.conflict) // only more than f faulty replicas can certify this (H14)
    out.alarms.push_back("hotstuff: a three-chain ending at height " +
                         std::to_string(b->height.value()) +
                         " conflicts with the executed chain at height " +
                         std::to_string(safety_.record().exec.height.value()));
  if (!res.commit.empty()) commit(res.commit, out);
  on_qc(b->justify, out);
  if (p.proposal) try_vote(b, out);
}

void replica::deliver_pending(ready& out) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto p = it->second;
      if (p.blk->height <= tree_.root().height || tree_.contains(p.blk->hash)) {
        it = pending_.erase(it);
        continue;
      }
      if (tree_.connects(*p.blk)) {
        it = pending_.erase(it);
        deliver(p, out);
        progress = true;
        break; // deliver may have changed pending_ and the tree
      }
      ++it;
    }
  }
}

std::string replica::check_validity(const block& b) const {
  // Per-client dedupe: nothing committed, nothing twice in the uncommitted branch.
  std::set<std::pair<public_key, std::uint64_t>> seen;
  for (const auto& anc : tree_.path_from_root(b.parent))
    for (const auto& q : anc->requests) seen.emplace(q.client, q.client_seq);
  for (const auto& q : b.requests) {
    auto c = committed_seq_.find(q.client);
    if (c != committed_seq_.end() && q.client_seq <= c->second)
      return "block repeats a committed request";
    if (!seen.emplace(q.client, q.client_seq).second)
      return "block repeats a request of its branch";
  }
  // The carried state root must match ours where we know it.
  if (b.exec_index > b.justify.height.value()) return "state root of an unexecuted height";
  if (auto r = roots_.find(b.exec_index); r != roots_.end() && r->second != b.state_root)
    return "state root differs from this replica's";
  return {};
}

void replica::try_vote(const block_ptr& b, ready& out) {
  if (b->view > pacemaker_.view()) {
    future_proposals_[b->view] = b; // vote when (if) we get there
    return;
  }
  if (b->view < pacemaker_.view()) return;
  if (guard_forbids(b->view)) return; // amnesia guard: it may have voted here before
  if (!safety_.check_vote(*b, tree_).empty()) return;
  if (!check_validity(*b).empty()) {
    out.rejected.push_back({b->proposer, "proposal is invalid: " + check_validity(*b)});
    return;
  }
  safety_.voted(b->view); // H8: vheight <- view before the vote leaves
  dirty_ = true;
  if (!mutant(bit(mutant::vote_before_persist))) persisted_vote_view_ = b->view;
  auto frame = encode_vote(b->hash, b->view, b->height, cfg_.self, *signer_, sctx());
  last_vote_ = frame;
  auto next = pacemaker_.leader(b->view.next()); // H9: to the next view's leader
  if (next == cfg_.self) {
    vote v{b->hash, b->view, b->height, cfg_.self, {}};
    std::copy_n(frame.end() - 64, 64, v.sig.begin());
    on_vote(v, frame, false, out);
  } else {
    send(next, std::move(frame), out);
  }
}

void replica::on_qc(const quorum_cert& qc, ready& out) {
  if (safety_.update_high_qc(qc)) dirty_ = true; // H12 updateQCHigh
  if (qc.view.next() > pacemaker_.view())
    enter_view(qc.view.next(), pacemaker::entry::qc, out);
  else if (qc.view.next() == pacemaker_.view())
    pacemaker_.advance_to(pacemaker_.view(), pacemaker::entry::qc); // progress resets the backoff
}

void replica::enter_view(view_number v, pacemaker::entry how, ready& out) {
  if (!pacemaker_.advance_to(v, how)) return;
  future_proposals_.erase(future_proposals_.begin(), future_proposals_.lower_bound(v));
  auto it = future_proposals_.find(v);
  if (it != future_proposals_.end()) {
    auto b = it->second;
    future_proposals_.erase(it);
    if (tree_.contains(b->hash)) try_vote(b, out);
  }
}

void replica::send_new_view(view_number v, ready& out) {
  // Amnesia guard: no new-view before the bound is learned. After it, new-views go out again
  // although votes wait for views above V+1: a new-view states no vote or proposal that can
  // conflict (the inspector records none; safety never depends on the pacemaker, H22), and it
  // carries only votes signed since the restart, so this replica helps the views move on.
  if (guard_ && !guard_->learned) return;
  if (v > asked_view_) { // recorded before the new-view leaves (status reports bound it)
    asked_view_ = v;
    out.persist.push_back(persist_op{asked_key, encode_view(v), false});
  }
  new_view m{v, cfg_.self, safety_.record().high_qc, last_vote_};
  pacemaker_.record_new_view(cfg_.self, m.view);
  send(std::nullopt, encode_new_view(m, *signer_, sctx()), out);
  if (!last_vote_.empty()) {
    // Count our own carried vote too, as every receiver of this new-view will.
    auto d = decode(last_vote_);
    if (d && d->type == msg_type::vote) on_vote(std::get<vote>(d->msg), last_vote_, true, out);
  }
}

void replica::try_propose(ready& out) {
  auto v = pacemaker_.view();
  if (pacemaker_.leader(v) != cfg_.self || pacemaker_.proposed(v)) return;
  if (guard_forbids(v)) return; // amnesia guard: it may have proposed in v before
  const auto& qc = safety_.record().high_qc;
  // H17/H19: a QC of the previous view, or the new-views of a quorum for this view.
  if (qc.view.next() != v && !pacemaker_.new_view_quorum(v)) return;
  if (qc.height < tree_.root().height) return; // cannot extend below the executed root
  if (qc.block != tree_.root().hash && !tree_.contains(qc.block)) {
    if (fetches_.count(qc.block) == 0 && pending_.count(qc.block) == 0)
      fetch(qc.block, next_peer(cfg_.self), out);
    return;
  }
  // Propose at once when there is something to order or to commit: requests waiting, or a
  // non-empty block in the branch that needs three more blocks to commit (the next views'
  // blocks may be empty). Otherwise (nothing to do) wait batch_delay_ticks, then propose an
  // empty block, so the chain keeps moving and commits never wait for load.
  const bool work = !mempool_.empty() || branch_has_requests(qc.block);
  if (!work && pacemaker_.ticks_in_view() < cfg_.batch_delay_ticks) return;
  auto b = std::make_shared<block>();
  b->parent = qc.block;
  b->height = qc.height.next();
  b->view = v;
  b->proposer = cfg_.self;
  b->justify = qc;
  // The newest snapshot root we executed (state transfer anchors to it).
  for (auto it = roots_.rbegin(); it != roots_.rend(); ++it)
    if (it->first <= qc.height.value() &&
        (cfg_.checkpoint_interval == 0 || it->first % cfg_.checkpoint_interval == 0)) {
      b->exec_index = it->first;
      b->state_root = it->second;
      break;
    }
  take_requests(qc.block, b->requests);
  // H24: the view is recorded as proposed in before the proposal leaves (the record goes
  // first in this ready), so a leader that crashes now never signs another block for v.
  pacemaker_.mark_proposed(v);
  out.persist.push_back(persist_op{proposed_key, encode_view(v), false});
  auto frame = encode_new_proposal(*b, *signer_, sctx()); // hashes the block once

  block_ptr bp = std::move(b);
  send(std::nullopt, frame, out);
  on_proposal(bp, frame, cfg_.self, true, out); // H18: broadcast, self included
}

void replica::commit(const std::vector<block_ptr>& blocks, ready& out) {
  std::set<public_key> changed;
  for (const auto& b : blocks) {
    committed_entry e;
    e.index = b->height.value();
    e.id = b->hash;
    e.requests = b->requests;
    for (const auto& q : b->requests) {
      auto& s = committed_seq_[q.client];
      if (q.client_seq > s) {
        s = q.client_seq;
        changed.insert(q.client);
      }
      if (auto it = mempool_index_.find({q.client, q.client_seq}); it != mempool_index_.end()) {
        mempool_.erase(it->second);
        mempool_index_.erase(it);
      }
    }
    committed_index_ = e.index;
    out.committed.push_back(std::move(e));
  }
  persist_clients(changed, out);
  for (const auto& h : tree_.set_root(safety_.record().exec, keep_executed()))
    out.persist.push_back(persist_op{block_key_prefix + to_hex(h), {}, true});
  prune();
}

void replica::persist_clients(const std::set<public_key>& changed, ready& out) {
  for (const auto& c : changed) { // H25: the committed client table survives a restart
    codec::writer w(8);
    w.u64(committed_seq_.at(c));
    out.persist.push_back(persist_op{client_key_prefix + to_hex(c), w.take(), false});
  }
}

void replica::prune() {
  auto exec_view = tree_.root().view;
  auto cut = [&](auto& m) {
    for (auto it = m.begin(); it != m.end();)
      it = it->first.first < exec_view ? m.erase(it) : std::next(it);
  };
  cut(votes_);
  signed_.forget_if([&](const signed_slot& s) { return s.view < exec_view.value(); });
  for (auto it = verified_qcs_.begin(); it != verified_qcs_.end();)
    it = std::get<0>(*it) < exec_view.value() ? verified_qcs_.erase(it) : std::next(it);
  for (auto it = pending_.begin(); it != pending_.end();)
    it = it->second.blk->height <= tree_.root().height ? pending_.erase(it) : std::next(it);
  while (roots_.size() > 16) roots_.erase(roots_.begin());
}

// ---------------------------------------------------------------------------------------
// Timer, clients, execution, catch-up

void replica::on_tick(ready& out) {
  // Delayed first requests (fetch_delay_ticks): dropped if the block came meanwhile, sent to
  // the chosen peer once the delay is over.
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    auto& [h, f] = *it;
    if (f.asked) {
      ++it;
    } else if (h == tree_.root().hash || tree_.contains(h) || pending_.count(h) != 0) {
      it = fetches_.erase(it);
    } else {
      if (++f.ticks >= cfg_.fetch_delay_ticks) {
        f.asked = true;
        f.ticks = 0;
        send(f.peer, encode_block_request({cfg_.self, h, fetch_batch}, *signer_, sctx()), out);
      }
      ++it;
    }
  }
  for (auto& [h, f] : fetches_) {
    if (!f.asked) continue;
    if (++f.ticks < std::max<std::uint64_t>(4, cfg_.base_timeout_ticks / 2)) continue;
    f.ticks = 0;
    ++f.attempts;
    f.peer = next_peer(f.peer);
    send(f.peer, encode_block_request({cfg_.self, h, fetch_batch}, *signer_, sctx()), out);
  }
  // A fetch gives up after 4n attempts, unless a buffered block still waits for that very
  // ancestor: later proposals extend the buffered chain (their parents are buffered, so they
  // start no fetch of their own), and dropping the fetch would leave the replica following
  // views without ever committing again (F7). Such a fetch keeps going round the peers.
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    if (it->second.attempts <= 4 * cfg_.validators.size()) {
      ++it;
    } else if (waited_for(it->first)) {
      it->second.attempts = 0;
      ++it;
    } else {
      it = fetches_.erase(it);
    }
  }
  if (transfer_ && ++transfer_->ticks > 8 * cfg_.base_timeout_ticks) transfer_.reset();
  if (status_ && ++status_ticks_ >= std::max<std::uint64_t>(4, cfg_.base_timeout_ticks)) {
    status_ticks_ = 0; // peers that were down or lost the request are asked again
    send_status_request(out);
  }
  if (pacemaker_.tick()) {
    // H21: the view timed out: double the timeout and ask for the next view (H19); it is
    // entered on a quorum of such requests (or a QC).
    pacemaker_.on_timeout();
    auto want = std::max(pacemaker_.view().next(), pacemaker_.own_new_view(cfg_.self));
    resend_ticks_ = 0;
    send_new_view(want, out); // repeated on every expiry: new-views may have been lost
    sync_views(out);
  } else if (const auto asked = pacemaker_.own_new_view(cfg_.self);
             asked > pacemaker_.view() && ++resend_ticks_ >= cfg_.base_timeout_ticks) {
    // H26: while it waits for a view it asked for, the replica repeats its new-view every
    // base timeout, not only when its backed-off timer expires: new-views lost in a long
    // fault period would otherwise be repeated only up to 2^max_backoff base timeouts after
    // the network healed, and views resynchronise that much later (K7, seeds 448, 900157).
    resend_ticks_ = 0;
    send_new_view(asked, out);
    sync_views(out);
  }
}

void replica::on_executed(const ev::executed& e) {
  if (e.index > committed_index_) return; // not something we committed
  roots_[e.index] = e.state_root;
  while (roots_.size() > 16) roots_.erase(roots_.begin());
}

} // namespace bft::hotstuff
