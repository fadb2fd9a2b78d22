/// One test per rule of protocol-rules.md section 2 (H1-H23), named by its id.
#include <doctest/doctest.h>

#include "protocols/hotstuff/mutants.hpp"
#include "tests/hotstuff/harness.hpp"

using namespace bft;
using namespace bft::hotstuff;
using namespace bft::hotstuff::test;

namespace {

ready propose(cluster& c, std::size_t i, const block& b) {
  return feed(c, i, ev::received{b.proposer, proposal_frame(c, b)});
}

qc_context ctx_of(const cluster& c, bool dups = false) {
  return {c.config().chain_id, c.config().epoch, &c.config().validators, &c.verifier(), dups};
}

bool has_rejection(cluster& c, const std::string& needle) {
  for (const auto& r : c.rejected())
    if (r.reason.find(needle) != std::string::npos) return true;
  return false;
}

/// Brings replica i to view v the way a timeout certificate does: two others (f + 1) ask for
/// v, i joins them, and the three new-views are a quorum.
void to_view(cluster& c, std::size_t i, std::uint64_t v) {
  sign_context sc{c.config().chain_id, c.config().epoch};
  for (std::size_t k = 1; k <= 2; ++k) {
    auto from = (i + k) % c.size();
    new_view m{view_number{v}, replica_id{static_cast<std::uint32_t>(from)}, genesis_qc(), {}};
    c.step(i, ev::received{m.sender, encode_new_view(m, c.signer(from), sc)});
  }
  REQUIRE(c.at(i).status().view == view_number{v});
}

/// A linear chain b1..bk, views as given, all proposed by replica 1.
struct chain {
  cluster c;
  std::vector<block_ptr> b; // b[0] = genesis
  explicit chain(std::vector<std::uint64_t> views, std::uint64_t mutants = 0)
      : c(4, mutants, 8, pinned(1)) {
    b.push_back(genesis_block());
    for (auto v : views) b.push_back(make_block(c, *b.back(), view_number{v}));
  }
};

} // namespace

TEST_CASE("H1: a QC needs more than two thirds of the weight from distinct known signers") {
  cluster c(4);
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  CHECK(verify_qc(make_qc(c, *b1, {0, 1, 2}), ctx_of(c)).has_value());
  CHECK(verify_qc(make_qc(c, *b1, {3, 1, 2, 0}), ctx_of(c)).has_value());
  CHECK(verify_qc(make_qc(c, *b1, {0, 1}), ctx_of(c)).error() == errc::no_quorum);
  CHECK(verify_qc(make_qc(c, *b1, {0, 1, 1}), ctx_of(c)).error() == errc::duplicate_signer);
  auto unknown = make_qc(c, *b1, {0, 1, 2});
  unknown.sigs[2].signer = replica_id{9};
  CHECK(verify_qc(unknown, ctx_of(c)).error() == errc::unknown_signer);
  auto forged = make_qc(c, *b1, {0, 1, 2});
  forged.sigs[1].sig[0] ^= 1;
  CHECK(verify_qc(forged, ctx_of(c)).error() == errc::bad_signature);
  // The signatures cover (block, view, height): moving them to another view breaks them.
  auto moved = make_qc(c, *b1, {0, 1, 2});
  moved.view = view_number{2};
  CHECK(verify_qc(moved, ctx_of(c)).error() == errc::bad_signature);
  SUBCASE("mutant accept_qc_with_duplicate_signer lets a duplicate count twice") {
    CHECK(verify_qc(make_qc(c, *b1, {0, 1, 1}), ctx_of(c, true)).has_value());
  }
}

TEST_CASE("H2: a block holds parent, batch, justify and height, branches that do not extend "
          "each other conflict") {
  chain ch({1, 2});
  auto fork = make_block(ch.c, *ch.b[1], view_number{3}, {}, 7);
  auto main3 = make_block(ch.c, *ch.b[2], view_number{3});
  propose(ch.c, 3, *ch.b[1]);
  propose(ch.c, 3, *ch.b[2]);
  propose(ch.c, 3, *fork);
  const auto& t = ch.c.at(3).tree();
  REQUIRE(t.contains(fork->hash));
  CHECK(fork->height == ch.b[2]->height); // same height, different branches
  CHECK_FALSE(t.extends(fork->hash, ch.b[2]->hash, ch.b[2]->height));
  CHECK_FALSE(t.extends(ch.b[2]->hash, fork->hash, fork->height));
  CHECK(t.extends(fork->hash, ch.b[1]->hash, ch.b[1]->height));
  // The hash covers every field.
  block x = *main3;
  auto h0 = x.hash;
  x.height = bft::height{9};
  x.finalize();
  CHECK(x.hash != h0);
  x = *main3;
  x.requests.push_back(make_request(5, 5, ch.c.config()));
  x.finalize();
  CHECK(x.hash != h0);
  x = *main3;
  x.justify.sigs.pop_back();
  x.finalize();
  CHECK(x.hash != h0);
}

TEST_CASE("H3: a block whose justify QC does not certify its parent is invalid") {
  chain ch({1, 2});
  auto sibling = make_block(ch.c, *ch.b[1], view_number{2}, {}, 3); // another child of b1
  propose(ch.c, 3, *ch.b[1]);
  block bad = *make_block(ch.c, *ch.b[2], view_number{3});
  bad.justify = make_qc(ch.c, *sibling, {0, 1, 2}); // certifies a block that is not the parent
  bad.finalize();
  auto r = propose(ch.c, 3, bad);
  CHECK(has_rejection(ch.c, "H3"));
  CHECK(votes_in(r).empty());
  CHECK_FALSE(ch.c.at(3).tree().contains(bad.hash));
}

TEST_CASE("H4: a fresh replica starts from the hard-coded genesis block and QC") {
  cluster c(4);
  const auto& s = c.at(2).safety_state();
  CHECK(s.locked_qc == genesis_qc());
  CHECK(s.high_qc == genesis_qc());
  CHECK(s.exec.hash == genesis_block()->hash);
  CHECK(s.exec.height == bft::height{0});
  CHECK(s.last_voted_view == view_number{0});
  CHECK(genesis_block()->height == bft::height{0});
  CHECK(genesis_qc().is_genesis());
  CHECK(verify_qc(genesis_qc(), ctx_of(c)).has_value());
  CHECK(c.at(2).tree().contains(genesis_block()->hash));
  // Any other QC at view 0 is not genesis and is refused.
  auto fake = genesis_qc();
  fake.block[0] ^= 1;
  CHECK_FALSE(verify_qc(fake, ctx_of(c)).has_value());
}

TEST_CASE("H5: a proposal whose ancestors are missing is buffered, they are fetched, then it "
          "is delivered") {
  chain ch({1, 2, 3, 4});
  // Replica 2 holds b1..b3; replica 3 has none of them.
  for (int k = 1; k <= 3; ++k) propose(ch.c, 2, *ch.b[k]);
  ch.c.queue().clear();
  auto r = propose(ch.c, 3, *ch.b[4]);
  CHECK(ch.c.at(3).pending_blocks() == 1);
  CHECK_FALSE(ch.c.at(3).tree().contains(ch.b[4]->hash)); // stored only after its parent
  CHECK(votes_in(r).empty());
  bool asked = false;
  for (const auto& m : r.messages) {
    auto d = decode(m.frame);
    if (d && d->type == msg_type::block_request) {
      asked = true;
      CHECK(std::get<block_request>(d->msg).hash == ch.b[3]->hash);
    }
  }
  REQUIRE(asked);
  // The proposer (replica 1) lacks the blocks; the request is retried with another peer.
  ch.c.set_down(1, false);
  for (int t = 0; t < 40 && !ch.c.at(3).tree().contains(ch.b[4]->hash); ++t) {
    ch.c.step(3, ev::tick{});
    ch.c.deliver_all();
  }
  CHECK(ch.c.at(3).tree().contains(ch.b[4]->hash));
  CHECK(ch.c.at(3).pending_blocks() == 0);
}

TEST_CASE("H6: without dummy blocks, a direct parent must also be of the previous view") {
  // Views 1, 2, 4, 5, 6: heights no longer equal views after the gap.
  chain ch({1, 2, 4, 5, 6, 7});
  for (int k = 1; k <= 5; ++k) propose(ch.c, 3, *ch.b[k]);
  CHECK(ch.c.committed(3).empty()); // (b1, b2, b4) and (b2, b4, b5) have gaps
  propose(ch.c, 3, *ch.b[6]);       // three-chain b4 <- b5 <- b6 of views 4, 5, 6
  REQUIRE(ch.c.committed(3).size() == 3);
  CHECK(ch.c.committed(3).back().id == ch.b[3]->hash);
}

TEST_CASE("H7: safeNode: vote for a block that extends the lock or whose QC is newer") {
  for (bool mutant_on : {false, true}) {
    CAPTURE(mutant_on);
    chain ch({1, 2, 3, 4},
             mutant_on ? static_cast<std::uint64_t>(mutant::vote_without_lock_check) : 0);
    for (int k = 1; k <= 4; ++k) propose(ch.c, 3, *ch.b[k]);
    REQUIRE(ch.c.at(3).safety_state().locked_qc.block == ch.b[2]->hash);
    // Enter view 5 by a timeout, then see a block that forks below the lock with an old QC.
    to_view(ch.c, 3, 5);
    auto x = make_block(ch.c, *ch.b[1], view_number{5}, {}, 1);
    auto r = propose(ch.c, 3, *x);
    CHECK(votes_in(r).empty() != mutant_on);
    // A block on that fork whose QC (view 5) is newer than the lock (view 2) gets a vote.
    auto y = make_block(ch.c, *x, view_number{6});
    auto r2 = propose(ch.c, 3, *y);
    REQUIRE(votes_in(r2).size() == 1);
    CHECK(votes_in(r2)[0].block == y->hash);
  }
}

TEST_CASE("H8: votes go to strictly increasing views, recorded before the vote leaves") {
  safety s(safety_record::genesis(), 0);
  cluster c(4);
  block_tree t(s.record().exec);
  auto b5 = make_block(c, *genesis_block(), view_number{5});
  CHECK(s.check_vote(*b5, t).empty());
  s.voted(view_number{5});
  CHECK_FALSE(s.check_vote(*b5, t).empty()); // once per view
  auto b4 = make_block(c, *genesis_block(), view_number{4});
  CHECK_FALSE(s.check_vote(*b4, t).empty()); // never back
  auto b6 = make_block(c, *genesis_block(), view_number{6});
  CHECK(s.check_vote(*b6, t).empty());
  // In the replica: the ready with the vote persists last_voted_view = the vote's view.
  chain ch({1});
  auto r = propose(ch.c, 3, *ch.b[1]);
  REQUIRE(votes_in(r).size() == 1);
  REQUIRE_FALSE(r.persist.empty());
  CHECK(r.persist.back().key == safety_key);
  auto rec = safety_record::decode(r.persist.back().value);
  REQUIRE(rec.has_value());
  CHECK(rec->last_voted_view == view_number{1});
}

TEST_CASE("H9: only leader(view)'s proposal counts, once per view, votes go to the next leader") {
  cluster c(4);
  // View 1 is led by replica 1; replica 2 proposing for view 1 is rejected.
  block forged = *make_block(c, *genesis_block(), view_number{1});
  forged.proposer = replica_id{2};
  forged.finalize();
  auto frame = encode_proposal(forged, c.signer(2), {c.config().chain_id, c.config().epoch});
  auto r0 = feed(c, 3, ev::received{replica_id{2}, frame});
  CHECK(votes_in(r0).empty());
  CHECK(has_rejection(c, "does not lead"));
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  auto r = propose(c, 3, *b1);
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].to == std::optional<replica_id>{replica_id{2}}); // leader(2)
  // A second, different proposal of leader 1 for view 1 is not acted on.
  auto b1x = make_block(c, *genesis_block(), view_number{1}, {}, 4);
  auto r2 = propose(c, 3, *b1x);
  CHECK(votes_in(r2).empty());
  CHECK_FALSE(c.at(3).tree().contains(b1x->hash));
}

TEST_CASE("H10: update runs on every delivered proposal, voted for or not") {
  chain ch({1, 2, 3, 4});
  // Replica 3 times out far ahead first: it will vote for none of b1..b4.
  to_view(ch.c, 3, 6);
  std::size_t votes = 0;
  for (int k = 1; k <= 4; ++k) votes += votes_in(propose(ch.c, 3, *ch.b[k])).size();
  CHECK(votes == 0);
  CHECK(ch.c.at(3).safety_state().last_voted_view == view_number{0});
  CHECK(ch.c.at(3).safety_state().locked_qc.block == ch.b[2]->hash);
  CHECK(ch.c.at(3).safety_state().high_qc.block == ch.b[3]->hash);
  REQUIRE(ch.c.committed(3).size() == 1);
  CHECK(ch.c.committed(3)[0].id == ch.b[1]->hash);
}

TEST_CASE("H11: update follows justify pointers: b'' = b*.justify.node, b' = b''.justify.node, "
          "b = b'.justify.node") {
  chain ch({1, 2, 3, 4});
  for (int k = 1; k <= 4; ++k) propose(ch.c, 3, *ch.b[k]);
  const auto& s = ch.c.at(3).safety_state();
  CHECK(s.high_qc.block == ch.b[3]->hash);   // b''
  CHECK(s.locked_qc.block == ch.b[2]->hash); // b'
  CHECK(s.exec.hash == ch.b[1]->hash);       // b
}

TEST_CASE("H12: updateQCHigh replaces qc_high only with a newer QC") {
  chain ch({1, 2, 3});
  for (int k = 1; k <= 3; ++k) propose(ch.c, 3, *ch.b[k]);
  REQUIRE(ch.c.at(3).safety_state().high_qc.block == ch.b[2]->hash);
  sign_context sc{ch.c.config().chain_id, ch.c.config().epoch};
  // An older QC in a new-view leaves qc_high alone.
  new_view old{view_number{5}, replica_id{0}, make_qc(ch.c, *ch.b[1], {0, 1, 2}), {}};
  feed(ch.c, 3, ev::received{replica_id{0}, encode_new_view(old, ch.c.signer(0), sc)});
  CHECK(ch.c.at(3).safety_state().high_qc.block == ch.b[2]->hash);
  // A newer one replaces it.
  new_view fresh{view_number{5}, replica_id{2}, make_qc(ch.c, *ch.b[3], {0, 1, 2}), {}};
  feed(ch.c, 3, ev::received{replica_id{2}, encode_new_view(fresh, ch.c.signer(2), sc)});
  CHECK(ch.c.at(3).safety_state().high_qc.block == ch.b[3]->hash);
}

TEST_CASE("H13: the lock moves to b' on a two-chain and never moves down") {
  chain ch({1, 2, 3, 4});
  for (int k = 1; k <= 3; ++k) propose(ch.c, 3, *ch.b[k]);
  CHECK(ch.c.at(3).safety_state().locked_qc.block == ch.b[1]->hash);
  propose(ch.c, 3, *ch.b[4]);
  CHECK(ch.c.at(3).safety_state().locked_qc.block == ch.b[2]->hash);
  // A fork child of b2 (justify QC(b2)) makes b'' = b2, b' = b1: the lock stays on b2.
  to_view(ch.c, 3, 5);
  auto w = make_block(ch.c, *ch.b[2], view_number{5}, {}, 2);
  propose(ch.c, 3, *w);
  CHECK(ch.c.at(3).tree().contains(w->hash));
  CHECK(ch.c.at(3).safety_state().locked_qc.block == ch.b[2]->hash);
}

TEST_CASE("H14: a gapped chain commits nothing") {
  chain ch({1, 2, 4, 5});
  for (int k = 1; k <= 4; ++k) propose(ch.c, 3, *ch.b[k]);
  CHECK(ch.c.committed(3).empty());
  SUBCASE("regression relab/hotstuff#249: mutant commit_gapped_chain commits it") {
    chain m({1, 2, 4, 5}, static_cast<std::uint64_t>(mutant::commit_gapped_chain));
    for (int k = 1; k <= 4; ++k) propose(m.c, 3, *m.b[k]);
    CHECK_FALSE(m.c.committed(3).empty());
  }
  SUBCASE("mutant commit_on_two_chain commits one block early") {
    chain m({1, 2, 3}, static_cast<std::uint64_t>(mutant::commit_on_two_chain));
    for (int k = 1; k <= 3; ++k) propose(m.c, 3, *m.b[k]);
    REQUIRE(m.c.committed(3).size() == 1); // b1 after only b1 <- b2 <- (QC in b3)
    CHECK(m.c.committed(3)[0].id == m.b[1]->hash);
  }
}

TEST_CASE("H15: onCommit executes every uncommitted ancestor first, oldest first, each once") {
  chain ch({1, 2, 4, 5, 6, 7, 8});
  for (int k = 1; k <= 7; ++k) propose(ch.c, 3, *ch.b[k]);
  const auto& log = ch.c.committed(3);
  REQUIRE(log.size() == 4); // b1, b2, b4 (at once) then b5
  for (std::size_t k = 0; k < log.size(); ++k) {
    CHECK(log[k].index == k + 1);
    CHECK(log[k].id == ch.b[k + 1]->hash);
  }
  // Replaying the same proposals executes nothing again.
  for (int k = 1; k <= 7; ++k) propose(ch.c, 3, *ch.b[k]);
  CHECK(ch.c.committed(3).size() == 4);
  CHECK(ch.c.at(3).safety_state().exec.hash == ch.b[4]->hash);
}

TEST_CASE("H16: the vote set of a block ignores a replica's second vote, the QC forms at n - f "
          "distinct votes") {
  for (bool mutant_on : {false, true}) {
    CAPTURE(mutant_on);
    cluster c(4, mutant_on ? static_cast<std::uint64_t>(mutant::count_duplicate_votes) : 0);
    auto b1 = make_block(c, *genesis_block(), view_number{1});
    sign_context sc{c.config().chain_id, c.config().epoch};
    propose(c, 2, *b1); // replica 2 leads view 2 and votes for b1 itself
    auto v0 = encode_vote(b1->hash, b1->view, b1->height, replica_id{0}, c.signer(0), sc);
    feed(c, 2, ev::received{replica_id{0}, v0});
    feed(c, 2, ev::received{replica_id{0}, v0}); // duplicate (relab/hotstuff#244)
    const auto& hq = c.at(2).safety_state().high_qc;
    if (!mutant_on) {
      CHECK(hq.view == view_number{0}); // two distinct signers are not a quorum
      auto v3 = encode_vote(b1->hash, b1->view, b1->height, replica_id{3}, c.signer(3), sc);
      feed(c, 2, ev::received{replica_id{3}, v3});
      REQUIRE(c.at(2).safety_state().high_qc.view == view_number{1});
      CHECK(verify_qc(c.at(2).safety_state().high_qc, ctx_of(c)).has_value());
    } else {
      // The mutant forms a QC that counts replica 0 twice: every honest replica rejects it.
      REQUIRE(hq.view == view_number{1});
      CHECK(verify_qc(hq, ctx_of(c)).error() == errc::duplicate_signer);
    }
  }
}

TEST_CASE("H17: after a timeout the leader proposes on the highest QC it collected") {
  cluster c(4); // leader(5) = replica 1
  auto b1 = make_block(c, *genesis_block(), view_number{1});
  auto b2 = make_block(c, *b1, view_number{2});
  auto b3 = make_block(c, *b2, view_number{3});
  for (const auto& b : {b1, b2, b3}) propose(c, 3, *b);
  propose(c, 1, *b2); // replica 1 lacks its own b1: it fetches it (from 2, then from 3)
  for (int t = 0; t < 12 && !c.at(1).tree().contains(b2->hash); ++t) {
    c.step(1, ev::tick{});
    c.deliver_all();
  }
  REQUIRE(c.at(1).tree().contains(b2->hash));
  propose(c, 1, *b3);
  REQUIRE(c.at(1).safety_state().high_qc.block == b2->hash);
  c.queue().clear();
  sign_context sc{c.config().chain_id, c.config().epoch};
  auto qc3 = make_qc(c, *b3, {0, 2, 3});
  feed(c, 1,
       ev::received{replica_id{0},
                    encode_new_view({view_number{5}, replica_id{0}, qc3, {}}, c.signer(0), sc)});
  feed(c, 1,
       ev::received{replica_id{2},
                    encode_new_view({view_number{5}, replica_id{2}, make_qc(c, *b1, {0, 2, 3}), {}},
                                    c.signer(2), sc)});
  c.step(1, ev::tick{}); // batch delay
  block_ptr proposed;
  for (const auto& m : c.queue()) {
    auto d = decode(m.frame);
    if (d && d->type == msg_type::proposal) proposed = std::get<proposal>(d->msg).blk;
  }
  REQUIRE(proposed);
  CHECK(proposed->view == view_number{5});
  CHECK(proposed->justify.block == b3->hash);
  CHECK(proposed->parent == b3->hash);
}

TEST_CASE("H18: an incumbent leader chains on its own leaf without new-view messages") {
  cluster c(4, 0, 8, pinned(0));
  c.run(12);
  std::size_t new_views = 0, proposals = 0;
  c.record_logs = true;
  c.run(6);
  for (const auto& r : c.log(0))
    for (const auto& m : r.messages) {
      auto d = decode(m.frame);
      if (d && d->type == msg_type::new_view) ++new_views;
      if (d && d->type == msg_type::proposal) ++proposals;
    }
  CHECK(new_views == 0);
  CHECK(proposals >= 3);
  CHECK(c.committed(0).size() >= 5);
  // Every block is its own leader's, and each extends the previous one.
  const auto& t = c.at(2).tree();
  auto top = t.find(c.at(2).safety_state().high_qc.block);
  REQUIRE(top);
  for (auto b = top; b && b->height > bft::height{0}; b = t.find(b->parent))
    CHECK(b->proposer == replica_id{0});
  CHECK(c.logs_agree());
}

TEST_CASE("H19: on leaving a view a replica sends its highest QC, the receiver adopts it") {
  chain ch({1, 2, 3});
  for (int k = 1; k <= 3; ++k) propose(ch.c, 3, *ch.b[k]);
  ch.c.queue().clear();
  auto view0 = ch.c.at(3).status().view;
  std::optional<new_view> sent;
  while (!sent) {
    auto r = feed(ch.c, 3, ev::tick{});
    for (const auto& m : r.messages) {
      auto d = decode(m.frame);
      if (d && d->type == msg_type::new_view) {
        sent = std::get<new_view>(d->msg);
        CHECK_FALSE(m.to.has_value()); // to everyone, the next leader included
      }
    }
  }
  CHECK(sent->view == view0.next());
  CHECK(sent->high_qc.block == ch.b[2]->hash);
  CHECK(ch.c.at(0).safety_state().high_qc.view == view_number{0});
  ch.c.deliver_all();
  CHECK(ch.c.at(0).safety_state().high_qc.block == ch.b[2]->hash);
}

TEST_CASE("H20: getLeader is a deterministic function of the view that rotates through all") {
  cluster c(4);
  round_robin_election rr(c.config().validators, {});
  std::set<replica_id> seen;
  for (std::uint64_t v = 0; v < 8; ++v) {
    CHECK(rr.leader(view_number{v}) == replica_id{static_cast<std::uint32_t>(v % 4)});
    CHECK(rr.leader(view_number{v}) == rr.leader(view_number{v}));
    seen.insert(rr.leader(view_number{v}));
  }
  CHECK(seen.size() == 4);
  round_robin_election pinned_rr(c.config().validators, {replica_id{3}, replica_id{3}});
  CHECK(pinned_rr.leader(view_number{1}) == replica_id{3});
  CHECK(pinned_rr.leader(view_number{2}) == replica_id{2}); // rotation after the schedule
  CHECK(c.at(0).status().leader == replica_id{1});          // view 1
}

TEST_CASE("H21: a timer starts on entering each view and doubles on each expiry") {
  cluster c(4, 0, 5);
  c.set_down(0, true);
  c.set_down(1, true); // no quorum can ask for a new view: replica 3 keeps timing out
  auto& r = c.at(3);
  CHECK(r.status().view == view_number{1});
  std::uint64_t ticks = 0;
  std::uint64_t since_send = 0;
  std::vector<std::uint64_t> expiries;
  std::vector<std::uint64_t> gaps; // ticks between two new-views
  std::vector<std::uint64_t> asked;
  for (int k = 0; k < 80 && expiries.size() < 3; ++k) {
    const auto before = r.pacemaker_state().consecutive_timeouts();
    auto out = feed(c, 3, ev::tick{});
    ++ticks;
    ++since_send;
    if (r.pacemaker_state().consecutive_timeouts() > before) {
      expiries.push_back(ticks);
      ticks = 0;
    }
    for (const auto& m : out.messages) {
      auto d = decode(m.frame);
      if (d && d->type == msg_type::new_view) {
        gaps.push_back(since_send);
        asked.push_back(std::get<new_view>(d->msg).view.value());
        since_send = 0;
      }
    }
  }
  REQUIRE(expiries.size() == 3);
  CHECK(expiries[0] == 5);
  CHECK(expiries[1] == 10);
  CHECK(expiries[2] == 20);
  // H26: between expiries the new-view is repeated every base timeout, for the same view.
  REQUIRE(gaps.size() == 7); // 5 | 5 5 | 5 5 5 5
  for (auto g : gaps) CHECK(g == 5);
  CHECK(asked == std::vector<std::uint64_t>(7, 2)); // asks again for nextView
  CHECK(r.status().view_changing);
  CHECK(r.status().view == view_number{1}); // alone, it cannot race ahead
  // With the others back, the timeout certificate forms and everybody enters view 2.
  c.set_down(0, false);
  c.set_down(1, false);
  for (int k = 0; k < 40 && c.at(0).status().view < view_number{2}; ++k) c.run(1);
  CHECK(c.at(3).status().view >= view_number{2});
  CHECK(c.at(0).status().view >= view_number{2});
  // Progress (a QC for the previous view) resets the backoff to the base timeout.
  pacemaker pm(
      c.config().validators,
      std::make_unique<round_robin_election>(c.config().validators, std::vector<replica_id>{}), 5);
  pm.on_timeout();
  pm.on_timeout();
  CHECK(pm.timeout_ticks() == 20);
  pm.advance_to(view_number{9}, pacemaker::entry::qc);
  CHECK(pm.timeout_ticks() == 5);
  CHECK(pm.ticks_in_view() == 0);
  // F4: entering a view on a timeout certificate (a quorum in step) halves the timeout.
  pm.on_timeout();
  pm.on_timeout();
  pm.on_timeout();
  CHECK(pm.timeout_ticks() == 40);
  pm.advance_to(view_number{10}, pacemaker::entry::quorum);
  CHECK(pm.timeout_ticks() == 20);
  pm.advance_to(view_number{10}, pacemaker::entry::quorum); // not a new view: unchanged
  CHECK(pm.timeout_ticks() == 20);
}
