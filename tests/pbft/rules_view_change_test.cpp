// One test per rule of docs/rules.md section 1 (PBFT), view change P19-P30 and its catch-up rules,
// named by its id; the other rules are in rules_test.cpp.
#include <doctest/doctest.h>

#include "protocols/pbft/inspector.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/view_change_logic.hpp"
#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

namespace {

std::vector<std::size_t> sizes() { return {4, 7, 10}; }

/// Brings every replica to view 1 by silencing replica 0 and letting the timers fire.
void force_view_change(cluster& c, client& cl) {
  c.up[0] = false;
  c.submit(1, {cl.request()});
  REQUIRE(c.run_until([&] {
    for (std::size_t i = 1; i < c.size(); ++i)
      if (c.r(i).view() != view_number{1} || c.r(i).view_changing()) return false;
    return true;
  }));
}

} // namespace

TEST_CASE("P19: a backup's timer runs while a request waits and stops when none does") {
  for_each_size(sizes(), [&](std::size_t, cluster& c, client& cl) {
    CHECK_FALSE(c.r(1).view_timer_running());
    c.submit(1, {cl.request()});
    CHECK(c.r(1).view_timer_running());
    c.deliver_all();
    CHECK_FALSE(c.r(1).view_timer_running());
    // two requests waiting, one executes: the timer restarts for the other
    c.submit(1, {cl.request()});
    c.deliver_all();
    c.filter = [](const envelope_msg&) { return false; };
    c.submit(1, {cl.request()});
    c.deliver_all();
    CHECK(c.r(1).view_timer_running());
    CHECK(c.r(1).pending_requests() == 1);
    CHECK_FALSE(c.r(0).view_timer_running()); // the primary never heard of the last one
  });
}

TEST_CASE("P20: on expiry a backup becomes view-changing for v+1, multicasts a view-change and "
          "accepts only checkpoints, view-changes and new-views") {
  cluster c(4, 2);
  client cl(7);
  c.submit(1, {cl.request()});
  c.pool.clear(); // nobody else hears of it
  time_out(c);    // its probe is answered (P31): the others are not ahead
  CHECK(c.r(1).view_changing());
  CHECK(c.r(1).view() == view_number{1});
  auto vcs = sent_of(c, 1, msg_type::view_change);
  REQUIRE(vcs.size() == 1);
  CHECK(decode_view_change(vcs[0])->new_view == view_number{1});
  CHECK(c.r(1).status().view_changing);
  batch b{cl.request()};
  deliver_to(c, 1, 1, make_pp(c, 1, 1, 1, b));
  deliver_to(c, 1, 2, make_vote(c, 2, msg_type::prepare, 1, 1, batch_digest(b)));
  deliver_to(c, 1, 2, make_vote(c, 2, msg_type::commit, 1, 1, batch_digest(b)));
  CHECK_FALSE(c.r(1).accepted(1));
  CHECK(rejected_with(c, 1, "view-changing"));
  for (std::size_t i : {0u, 2u, 3u}) deliver_to(c, 1, i, make_ckpt(c, i, 2, digest{3}));
  CHECK(c.r(1).low_watermark() == 2);
}

TEST_CASE("P21: a view-change carries the stable checkpoint, its 2f+1 proof and every prepared "
          "certificate above it") {
  for_each_size(sizes(), 2, [&](std::size_t n, cluster& c, client& cl) {
    const auto f = (n - 1) / 3;
    c.submit(0, {cl.request()});
    c.deliver_all();
    c.submit(0, {cl.request()});
    c.deliver_all();
    REQUIRE(c.r(1).low_watermark() == 2);
    c.filter = [](const envelope_msg& m) { return frame_type(m.frame) != msg_type::commit; };
    c.submit(0, {cl.request()});
    c.deliver_all();
    c.submit(0, {cl.request()});
    c.deliver_all();
    REQUIRE(c.r(1).prepared(3));
    REQUIRE(c.r(1).prepared(4));
    c.submit(1, {cl.request()});
    c.pool.clear();
    time_out(c);
    auto vcs = sent_of(c, 1, msg_type::view_change);
    REQUIRE(vcs.size() == 1);
    auto vc = decode_view_change(vcs[0]);
    CHECK(vc->stable.seq.value() == 2);
    CHECK(vc->stable.sigs.size() >= 2 * f + 1);
    REQUIRE(vc->prepared.size() == 2);
    CHECK(vc->prepared[0].seq.value() == 3);
    CHECK(vc->prepared[1].seq.value() == 4);
    CHECK(vc->prepared[0].prepares.size() >= 2 * f);
    verify_context ctx{c.r(1).config().validators, c.verifier, test_ctx(), {}};
    ctx.log_window = 4;
    CHECK(verify_view_change(*vc, ctx).has_value());
  });
}

TEST_CASE("P22: a view-change with a forged or incomplete certificate is rejected whole and "
          "does not count") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    const auto f = (n - 1) / 3;
    auto d = batch_digest({cl.request()});
    std::vector<std::size_t> backups;
    for (std::size_t i = 1; i <= 2 * f; ++i) backups.push_back(i);
    auto good = make_cert(c, 0, 1, d, backups);
    SUBCASE("forged prepare") {
      auto bad = good;
      bad.prepares[0].sig[3] ^= 1;
      for (std::size_t i = 2; i < 3 + f; ++i) deliver_to(c, 1, i, make_vc(c, i, 1, {bad}));
    }
    SUBCASE("too few prepares") {
      auto bad = good;
      bad.prepares.pop_back();
      for (std::size_t i = 2; i < 3 + f; ++i) deliver_to(c, 1, i, make_vc(c, i, 1, {bad}));
    }
    SUBCASE("a prepare listed twice") {
      auto bad = good;
      bad.prepares.back() = bad.prepares.front();
      for (std::size_t i = 2; i < 3 + f; ++i) deliver_to(c, 1, i, make_vc(c, i, 1, {bad}));
    }
    SUBCASE("forged pre-prepare") {
      auto bad = good;
      bad.pp_sig[0] ^= 1;
      for (std::size_t i = 2; i < 3 + f; ++i) deliver_to(c, 1, i, make_vc(c, i, 1, {bad}));
    }
    CHECK(rejected_with(c, 1, "dropped"));
    CHECK_FALSE(c.r(1).view_changing()); // f+1 of them forced nothing (P29)
    for (std::size_t i = 2; i < 3 + f; ++i) deliver_to(c, 1, i, make_vc(c, i, 1, {good}));
    CHECK(c.r(1).view() == view_number{1}); // joined (n = 4: and, as primary, entered) view 1
  });
}

TEST_CASE("P23: the primary of v+1 sends a new-view on holding 2f view-changes from others "
          "plus its own") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    const auto f = (n - 1) / 3;
    force_view_change(c, cl);
    std::vector<bytes> nvs;
    for (const auto& m : c.sent[1])
      if (frame_type(m.frame) == msg_type::new_view && !m.to) nvs.push_back(m.frame);
    REQUIRE(nvs.size() == 1);
    auto nv = decode_new_view(nvs[0]);
    CHECK(nv->view == view_number{1});
    CHECK(nv->view_changes.size() == 2 * f + 1);
    bool own = false;
    for (const auto& fr : nv->view_changes)
      if (decode_view_change(fr)->from == replica_id{1}) own = true;
    CHECK(own);
    for (std::size_t i = 2; i < n; ++i) CHECK(sent_of(c, i, msg_type::new_view).empty());
  });
}

TEST_CASE("P24: O spans min-s < n <= max-s, takes the highest-view certificate and fills gaps with "
          "null requests") {
  auto vc = [](std::uint64_t stable, std::vector<prepared_cert> certs) {
    view_change m;
    m.new_view = view_number{5};
    m.stable.seq = seq_number{stable};
    m.prepared = std::move(certs);
    return m;
  };
  auto cert = [](std::uint64_t v, std::uint64_t n, std::uint8_t tag) {
    prepared_cert p;
    p.view = view_number{v};
    p.seq = seq_number{n};
    p.d = digest{tag};
    return p;
  };
  auto plan = compute_new_view({vc(10, {cert(1, 15, 1), cert(1, 21, 2)}),
                                vc(20, {cert(3, 21, 3), cert(2, 23, 4)}), vc(0, {})});
  CHECK(plan.min_s.seq.value() == 20); // the highest stable checkpoint
  CHECK(plan.max_s == 23);
  REQUIRE(plan.entries.size() == 3);
  CHECK(plan.entries[0] == std::make_pair(seq_number{21}, digest{3})); // view 3 beats view 1
  CHECK(plan.entries[1] == std::make_pair(seq_number{22}, null_digest));
  CHECK(plan.entries[2] == std::make_pair(seq_number{23}, digest{4}));
  auto none = compute_new_view({vc(10, {}), vc(10, {})});
  CHECK(none.max_s == 10);
  CHECK(none.entries.empty());
}

TEST_CASE("P25: the new primary logs O, installs a higher stable checkpoint by state transfer, "
          "then enters v+1") {
  cluster c(4, 2);
  client cl(7);
  c.filter = [](const envelope_msg& m) { return m.to != replica_id{1}; };
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.submit(0, {cl.request()});
  c.deliver_all();
  REQUIRE(c.r(2).low_watermark() == 2);
  REQUIRE(c.r(1).low_watermark() == 0);
  c.filter = nullptr;
  c.up[0] = false;
  c.submit(2, {cl.request()});
  REQUIRE(c.run_until([&] { return c.r(1).view() == view_number{1} && !c.r(1).view_changing(); }));
  CHECK(c.r(1).low_watermark() == 2);
  REQUIRE_FALSE(c.transfers[1].empty());
  auto t = c.transfers[1].front();
  CHECK(t.index == 2);
  CHECK(t.state_root == c.root_at[2][2]);
  CHECK(std::find(t.sources.begin(), t.sources.end(), replica_id{1}) == t.sources.end());
  CHECK(c.stores[1].count("pbft/nv") == 1);
  CHECK(c.r(1).status().committed_index == 0);
  c.step(1, ev::state_installed{2, t.state_root, {}});
  CHECK(c.r(1).status().committed_index == 2);
}

TEST_CASE("P26: a backup accepts a new-view only if O matches its recomputation, then prepares "
          "each entry and never re-executes") {
  for_each_size(sizes(), [&](std::size_t, cluster& c, client& cl) {
    c.submit(0, {cl.request()});
    c.deliver_all(); // seq 1 committed everywhere in view 0
    REQUIRE(c.committed[2].size() == 1);
    bytes nv_frame;
    c.filter = [&](const envelope_msg& m) {
      if (frame_type(m.frame) == msg_type::new_view && nv_frame.empty()) nv_frame = m.frame;
      return frame_type(m.frame) != msg_type::new_view;
    };
    c.up[0] = false;
    c.submit(1, {cl.request()});
    REQUIRE(c.run_until([&] { return !nv_frame.empty(); }));
    c.filter = nullptr;
    auto nv = decode_new_view(nv_frame);
    REQUIRE(nv->entries.size() >= 1);
    CHECK(nv->entries[0].seq.value() == 1);
    // a new-view whose O differs (re-signed by the primary) is refused
    auto insp = make_inspector();
    auto forged = insp->forged_certificate_variant(nv_frame, *c.signers[1], c.r(1).config(), 0);
    REQUIRE(forged);
    deliver_to(c, 2, 1, *forged);
    CHECK(rejected_with(c, 2, "differs from its recomputation"));
    CHECK(c.r(2).view_changing());
    deliver_to(c, 2, 1, nv_frame);
    CHECK_FALSE(c.r(2).view_changing());
    CHECK(c.r(2).view() == view_number{1});
    bool prepared_entry = false;
    for (const auto& f : sent_of(c, 2, msg_type::prepare)) {
      auto p = decode_vote(f);
      if (p->view == view_number{1} && p->seq.value() == 1) prepared_entry = true;
    }
    CHECK(prepared_entry);
    c.deliver_all();
    c.run_until([&] { return c.committed[2].size() >= 2; });
    REQUIRE(c.committed[2].size() >= 1);
    std::set<std::uint64_t> idx;
    for (const auto& e : c.committed[2]) CHECK(idx.insert(e.index).second); // never twice
  });
}

TEST_CASE("P27: views only increase, no pre-prepare for a higher view is accepted before its "
          "new-view") {
  cluster c(4);
  client cl(7);
  batch b{cl.request()};
  deliver_to(c, 2, 1, make_pp(c, 1, 1, 1, b));
  CHECK_FALSE(c.r(2).accepted(1));
  CHECK(c.r(2).view() == view_number{0});
  force_view_change(c, cl);
  CHECK(c.r(2).view() == view_number{1});
  // a stale pre-prepare of view 0 and a view-change for view 1 do not move anything back
  deliver_to(c, 2, 0, make_pp(c, 0, 0, 7, b));
  CHECK(rejected_with(c, 2, "old view"));
  deliver_to(c, 2, 3, make_vc(c, 3, 1));
  CHECK(c.r(2).view() == view_number{1});
  CHECK_FALSE(c.r(2).view_changing());
}

TEST_CASE("P28: after its view-change a replica starts the timer only on 2f+1 view-changes, on "
          "expiry it moves to v+2 with a doubled timeout") {
  cluster c(4);
  client cl(7);
  view_change_alone(c, cl, 2);
  CHECK_FALSE(c.r(2).view_timer_running());
  c.pool.clear();
  c.tick_all(200);
  CHECK(c.r(2).view() == view_number{1}); // no quorum: no timer, no move
  deliver_to(c, 2, 3, make_vc(c, 3, 1));
  CHECK_FALSE(c.r(2).view_timer_running());
  deliver_to(c, 2, 0, make_vc(c, 0, 1));
  CHECK(c.r(2).view_timer_running());
  c.pool.clear();
  for (int i = 0; i < 19; ++i) c.step(2, ev::tick{});
  CHECK(c.r(2).view() == view_number{1});
  c.step(2, ev::tick{});
  CHECK(c.r(2).probing()); // P31: where are the others?
  exchange_probes(c);
  CHECK(c.r(2).view() == view_number{2});
  CHECK(c.r(2).timeout_ticks() == 40);
  CHECK(decode_view_change(sent_of(c, 2, msg_type::view_change).back())->new_view ==
        view_number{2});
}

TEST_CASE("P29: f+1 view-changes from others for higher views force a view-change for the "
          "smallest, f force nothing") {
  for (auto n : sizes()) {
    CAPTURE(n);
    cluster c(n);
    const auto f = (n - 1) / 3;
    for (std::size_t i = 0; i < f; ++i) deliver_to(c, 1, n - 1 - i, make_vc(c, n - 1 - i, 3));
    CHECK_FALSE(c.r(1).view_changing());
    deliver_to(c, 1, n - 1 - f, make_vc(c, n - 1 - f, 2));
    CHECK(c.r(1).view_changing());
    CHECK(c.r(1).view() == view_number{2});
    CHECK(decode_view_change(sent_of(c, 1, msg_type::view_change).back())->new_view ==
          view_number{2});
  }
}

TEST_CASE("P30: a replica behind a stable checkpoint fetches the certified state from a replica "
          "of its proof, then resumes") {
  for_each_size(sizes(), 2, [&](std::size_t n, cluster& c, client& cl) {
    const auto lag = n - 1;
    c.filter = [&](const envelope_msg& m) { return m.to.value() != lag; };
    c.submit(0, {cl.request()});
    c.deliver_all();
    c.submit(0, {cl.request()});
    c.deliver_all();
    c.filter = nullptr;
    REQUIRE(c.r(lag).status().committed_index == 0);
    REQUIRE(c.run_until([&] { return !c.transfers[lag].empty(); }, 50));
    auto t = c.transfers[lag].front();
    CHECK(t.index == 2);
    CHECK(t.state_root == c.root_at[0][2]);
    CHECK(t.sources.size() >= 2 * ((n - 1) / 3) + 1);
    // a snapshot with another root is refused
    c.step(lag, ev::state_installed{2, digest{1}, {}});
    CHECK(rejected_with(c, lag, "does not match"));
    CHECK(c.r(lag).status().committed_index == 0);
    c.step(lag, ev::state_installed{2, t.state_root, {}});
    CHECK(c.r(lag).status().committed_index == 2);
    c.submit(0, {cl.request()});
    c.deliver_all();
    REQUIRE_FALSE(c.committed[lag].empty());
    CHECK(c.committed[lag].back().index == 3);
  });
}

TEST_CASE("P29 (catch-up): f+1 replicas signing in a higher view pull a lagging replica into "
          "the view change that returns it the new-view") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    const auto f = (n - 1) / 3;
    // f messages of view 2 force nothing; f+1 make the replica ask for view 2
    for (std::size_t i = 0; i < f; ++i)
      deliver_to(c, 1, 3 + i, make_vote(c, 3 + i, msg_type::commit, 2, 1, digest{1}));
    CHECK_FALSE(c.r(1).view_changing());
    deliver_to(c, 1, 2, make_pp(c, 2, 2, 1, {cl.request()}));
    CHECK(c.r(1).view_changing());
    CHECK(c.r(1).view() == view_number{2});
    CHECK_FALSE(c.r(1).accepted(1)); // nothing of view 2 accepted before its new-view
  });
}

TEST_CASE("P28 (catch-up): a replica that missed the new-view gets it from any replica that "
          "entered the view, once per resend interval") {
  cluster c(4);
  client cl(7);
  force_view_change(c, cl);
  auto nv = sent_of(c, 1, msg_type::new_view); // replica 1 is the primary of view 1
  REQUIRE_FALSE(nv.empty());
  auto new_views_to_3 = [&](std::size_t i) {
    std::size_t k = 0;
    for (const auto& m : c.sent[i])
      if (m.to == replica_id{3} && frame_type(m.frame) == msg_type::new_view) {
        CHECK(m.frame == nv.back()); // the new-view itself: it proves itself
        ++k;
      }
    return k;
  };
  c.sent[2].clear();
  // replica 3 asks again for view 1 (it missed the new-view): a backup answers too
  const auto vc = make_vc(c, 3, 1);
  deliver_to(c, 2, 3, vc);
  CHECK(new_views_to_3(2) == 1);
  // copies (duplicates, replays) within the resend interval draw no further answer
  for (int i = 0; i < 5; ++i) deliver_to(c, 2, 3, vc);
  CHECK(new_views_to_3(2) == 1);
  // the laggard's re-send after the interval is answered again
  for (int i = 0; i < 10; ++i) c.step(2, ev::tick{});
  deliver_to(c, 2, 3, vc);
  CHECK(new_views_to_3(2) == 2);
}

TEST_CASE("P28 (catch-up): a primary that left its view still gives that view's new-view to a "
          "replica that missed it") {
  cluster c(4);
  client cl(7);
  force_view_change(c, cl);
  // f+1 view-changes for view 2 pull replica 1 (primary of view 1) into the view change (P29)
  deliver_to(c, 1, 2, make_vc(c, 2, 2));
  deliver_to(c, 1, 3, make_vc(c, 3, 2));
  REQUIRE(c.r(1).view_changing());
  REQUIRE(c.r(1).view() == view_number{2});
  c.sent[1].clear();
  deliver_to(c, 1, 0, make_vc(c, 0, 1)); // replica 0 still waits for view 1
  REQUIRE(c.sent[1].size() == 1);
  CHECK(c.sent[1][0].to == replica_id{0});
  CHECK(frame_type(c.sent[1][0].frame) == msg_type::new_view);
  CHECK(decode_new_view(c.sent[1][0].frame)->view == view_number{1});
}

TEST_CASE("F6: two replicas in a view do not answer each other without end") {
  // A late copy of a view-change for the current view looks like a laggard's; the answer is a
  // new-view, which a replica already in the view leaves unanswered. Answering a view-change
  // with a view-change made two replicas in the view feed each other (the storm of F6).
  cluster c(4);
  client cl(7);
  force_view_change(c, cl);
  auto vc2 = sent_of(c, 2, msg_type::view_change);
  REQUIRE_FALSE(vc2.empty());
  c.pool.clear();
  c.filter = [](const auto& m) {
    return (m.from == replica_id{2} || m.from == replica_id{3}) &&
           (m.to == replica_id{2} || m.to == replica_id{3});
  };
  deliver_to(c, 3, 2, vc2.back()); // a late copy of replica 2's view-change
  CHECK(c.deliver_all(1000) < 10);
  CHECK(c.r(2).view() == view_number{1});
  CHECK(c.r(3).view() == view_number{1});
}

TEST_CASE(
    "no load: the primary orders a request at once, and batches only while one is in flight") {
  cluster c(4);
  c.configure = [](engine_config& cfg) { cfg.batch_delay_ticks = 1000; };
  for (std::size_t i = 0; i < 4; ++i) c.boot(i);
  client cl(77);
  c.submit(0, {cl.request()});
  CHECK(c.sent[0].size() == 1); // the pre-prepare, with no tick
  c.submit(0, {cl.request()});
  CHECK(c.sent[0].size() == 1); // the first batch is in flight: the second waits
  c.deliver_all();              // no tick at all
  for (std::size_t i = 0; i < 4; ++i) {
    std::size_t reqs = 0;
    for (const auto& e : c.committed[i]) reqs += e.requests.size();
    CHECK(reqs == 2); // the second went out as soon as the first committed
  }
}
