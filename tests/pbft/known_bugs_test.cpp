// Known implementation bugs (protocol-rules.md section 3) that concern PBFT, restart safety,
// and the seeded mutants of protocols/pbft/mutants.hpp.
#include <doctest/doctest.h>

#include "protocols/pbft/inspector.hpp"
#include "protocols/pbft/mutants.hpp"
#include "tests/pbft/harness.hpp"

using namespace bft;
using namespace bft::pbft;
using namespace bft::pbft::test;

namespace {

bool all_in_view(cluster& c, std::uint64_t v, std::initializer_list<std::size_t> ids) {
  for (auto i : ids)
    if (c.r(i).view() != view_number{v} || c.r(i).view_changing()) return false;
  return true;
}

/// Seq 1 prepared everywhere but committed nowhere (commits lost).
digest prepare_without_commit(cluster& c, client& cl) {
  c.filter = [](const envelope_msg& m) { return frame_type(m.frame) != msg_type::commit; };
  auto r = cl.request();
  c.submit(0, {r});
  c.deliver_all();
  for (std::size_t i = 0; i < c.size(); ++i) REQUIRE(c.r(i).prepared(1));
  return batch_digest({r});
}

} // namespace

TEST_CASE("sawtooth-pbft #90: a view-changing replica ends in the new view and handles normal "
          "messages again") {
  for_each_size({4, 7}, [&](std::size_t n, cluster& c, client& cl) {
    c.up[0] = false;
    c.submit(1, {cl.request()});
    c.deliver_all();
    time_out(c);
    for (std::size_t i = 1; i < n; ++i) REQUIRE(c.r(i).view_changing());
    REQUIRE(c.run_until([&] {
      for (std::size_t i = 1; i < n; ++i)
        if (c.r(i).view_changing() || c.committed[i].empty()) return false;
      return true;
    }));
    c.submit(2, {cl.request()});
    c.deliver_all();
    for (std::size_t i = 1; i < n; ++i) {
      CHECK(c.r(i).view() == view_number{1});
      CHECK(c.committed[i].size() == 2);
    }
  });
}

TEST_CASE("sawtooth-pbft #117: a view change while a commit is pending keeps the sequence number "
          "and executes it once, in order") {
  cluster c(4);
  client cl(7);
  auto d = prepare_without_commit(c, cl);
  c.filter = nullptr;
  c.up[0] = false;
  c.submit(1, {cl.request()});
  REQUIRE(c.run_until([&] { return c.committed[3].size() >= 2; }));
  for (std::size_t i = 1; i < 4; ++i) {
    REQUIRE(c.committed[i].size() >= 2);
    CHECK(c.committed[i][0].index == 1);
    CHECK(c.committed[i][0].id == d);
    CHECK(c.committed[i][1].index == 2);
    CHECK(c.r(i).view() == view_number{1});
  }
}

TEST_CASE("sawtooth-pbft #133: the view-change timer does not start when a replica starts its "
          "own view change") {
  cluster c(4);
  client cl(7);
  view_change_alone(c, cl, 2);
  for (int i = 0; i < 400; ++i) {
    c.step(2, ev::tick{});
    c.pool.clear();
  }
  CHECK(c.r(2).view() == view_number{1});
  CHECK_FALSE(c.r(2).view_timer_running());
}

TEST_CASE("concord-bft #50: a view-change with a forged certificate does not hide the valid "
          "certificates of the others") {
  cluster c(4);
  client cl(7);
  auto d = prepare_without_commit(c, cl);
  c.filter = [](const envelope_msg& m) {
    auto t = frame_type(m.frame);
    if (t == msg_type::commit) return false;
    if ((m.from == replica_id{0} || m.to == replica_id{0}) && t != msg_type::view_change &&
        t != msg_type::new_view)
      return false;
    return true;
  };
  c.submit(1, {cl.request()});
  c.deliver_all();
  time_out(c); // 1, 2, 3 time out; their view-changes wait in the pool
  auto insp = make_inspector();
  for (auto& m : c.pool)
    if (m.from == replica_id{3} && frame_type(m.frame) == msg_type::view_change)
      m.frame = *insp->forged_certificate_variant(m.frame, *c.signers[3], c.r(3).config(), 0);
  c.up[3] = false; // replica 3 is Byzantine from here on: only its forged view-change exists
  c.filter = nullptr;
  REQUIRE(c.run_until([&] { return c.committed[1].size() >= 1 && c.committed[2].size() >= 1; }));
  CHECK(rejected_with(c, 1, "dropped"));
  CHECK(all_in_view(c, 1, {1, 2}));
  CHECK(c.committed[1][0].id == d);
  CHECK(c.committed[2][0].id == d);
}

TEST_CASE("cometbft #6031 order: every pre-prepare, prepare and commit leaves only after the "
          "record that prevents a conflicting one is persisted") {
  for_each_size({4, 7}, [&](std::size_t n, cluster& c, client& cl) {
    std::size_t checked = 0;
    auto drive = [&] {
      while (!c.pool.empty()) {
        auto m = c.pool.front();
        c.pool.pop_front();
        const auto to = m.to.value();
        auto out = c.r(to).step(ev::received{m.from, m.frame});
        auto store = c.stores[to];
        for (const auto& p : out.persist) {
          if (p.erase)
            store.erase(p.key);
          else
            store[p.key] = p.value;
        }
        replica restarted(c.r(to).config(), *c.signers[to], c.verifier, store);
        for (const auto& o : out.messages) {
          auto t = frame_type(o.frame);
          if (t == msg_type::prepare || t == msg_type::commit) {
            auto v = decode_vote(o.frame);
            CHECK(restarted.accepted(v->seq.value()) == v->d);
            if (t == msg_type::commit) CHECK(restarted.prepared(v->seq.value()));
            ++checked;
          }
        }
        c.apply(to, std::move(out));
      }
    };
    auto out = c.r(0).step(ev::client_requests{{cl.request()}});
    auto store = c.stores[0];
    for (const auto& p : out.persist) store[p.key] = p.value;
    replica restarted(c.r(0).config(), *c.signers[0], c.verifier, store);
    REQUIRE(restarted.accepted(1).has_value());
    c.apply(0, std::move(out));
    drive();
    CHECK(checked == (n - 1) + n);
  });
}

TEST_CASE("restart: a backup restarted from its records never prepares a second digest") {
  cluster c(4);
  client cl(7);
  batch b1{cl.request()}, b2{cl.request()};
  deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b1));
  REQUIRE(sent_of(c, 1, msg_type::prepare).size() == 1);
  c.restart(1);
  deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b2));
  CHECK(rejected_with(c, 1, "conflicts"));
  CHECK(sent_of(c, 1, msg_type::prepare).size() == 1);
  CHECK(c.r(1).accepted(1) == batch_digest(b1));
}

TEST_CASE("restart: a primary restarted from its records never reuses a sequence number") {
  cluster c(4);
  client cl(7);
  auto pps = primary_restarts_between_requests(c, cl);
  CHECK(decode_pre_prepare(pps[0])->seq.value() == 1);
  CHECK(decode_pre_prepare(pps[1])->seq.value() == 2);
}

TEST_CASE("restart: a replica restarted after committing never commits another value and hands "
          "out the same entries again") {
  cluster c(4);
  client cl(7);
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.submit(0, {cl.request()});
  c.deliver_all();
  auto before = c.committed[2];
  REQUIRE(before.size() == 2);
  auto commits_before = sent_of(c, 2, msg_type::commit).size();
  c.restart(2);
  c.committed[2].clear();
  c.tick_all(1);
  REQUIRE(c.committed[2].size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(c.committed[2][i].index == before[i].index);
    CHECK(c.committed[2][i].id == before[i].id);
  }
  CHECK(c.r(2).prepared(1));
  // resending after the restart repeats the same commits, never a different one
  c.tick_all(40);
  for (const auto& f : sent_of(c, 2, msg_type::commit)) {
    auto v = decode_vote(f);
    CHECK(v->d == before[v->seq.value() - 1].id);
  }
  CHECK(sent_of(c, 2, msg_type::commit).size() >= commits_before);
}

TEST_CASE("restart: a view-changing replica restarted from its records resends the same "
          "view-change") {
  cluster c(4);
  client cl(7);
  c.submit(2, {cl.request()});
  c.pool.clear();
  time_out(c);
  auto first = sent_of(c, 2, msg_type::view_change);
  REQUIRE(first.size() == 1);
  c.restart(2);
  CHECK(c.r(2).view_changing());
  CHECK(c.r(2).view() == view_number{1});
  c.tick_all(10);
  for (const auto& f : sent_of(c, 2, msg_type::view_change)) CHECK(f == first[0]);
  CHECK(sent_of(c, 2, msg_type::view_change).size() > 1);
}

TEST_CASE("mutant view_change_drops_prepared: view-changes carry no certificate") {
  cluster c(4, 10, view_change_drops_prepared);
  client cl(7);
  prepare_without_commit(c, cl);
  c.submit(1, {cl.request()});
  c.pool.clear();
  time_out(c);
  auto vcs = sent_of(c, 1, msg_type::view_change);
  REQUIRE_FALSE(vcs.empty());
  CHECK(decode_view_change(vcs[0])->prepared.empty());
}

TEST_CASE("mutant accept_outside_watermarks: a pre-prepare at or below h is accepted again") {
  cluster c(4, 2, accept_outside_watermarks);
  client cl(7);
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.submit(0, {cl.request()});
  c.deliver_all();
  REQUIRE(c.r(1).low_watermark() == 2);
  auto prepares = sent_of(c, 1, msg_type::prepare).size();
  deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, {cl.request()}));       // another digest for (0, 1)
  CHECK(sent_of(c, 1, msg_type::prepare).size() == prepares + 1); // a conflicting prepare
}

TEST_CASE("mutant commit_after_2f: committed-local after 2f commits") {
  cluster c(4, 10, commit_after_2f);
  client cl(7);
  batch b{cl.request()};
  auto d = batch_digest(b);
  deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b));
  deliver_to(c, 1, 2, make_vote(c, 2, msg_type::prepare, 0, 1, d));
  REQUIRE(c.r(1).prepared(1));
  deliver_to(c, 1, 2, make_vote(c, 2, msg_type::commit, 0, 1, d));
  CHECK(c.r(1).committed(1)); // own + one = 2f
}

TEST_CASE("mutant forget_log_on_restart: a restarted primary reuses a sequence number") {
  cluster c(4, 10, forget_log_on_restart);
  client cl(7);
  auto pps = primary_restarts_between_requests(c, cl);
  CHECK(decode_pre_prepare(pps[1])->seq.value() == 1);
  CHECK(decode_pre_prepare(pps[0])->d != decode_pre_prepare(pps[1])->d);
}

TEST_CASE("mutant skip_certificate_check: forged certificates count") {
  cluster c(4, 10, skip_certificate_check);
  auto bad = make_cert(c, 0, 1, digest{1}, {1, 2});
  bad.prepares[0].sig[0] ^= 1;
  deliver_to(c, 1, 2, make_vc(c, 2, 1, {bad}));
  deliver_to(c, 1, 3, make_vc(c, 3, 1, {bad}));
  CHECK(c.r(1).view() == view_number{1});
}

TEST_CASE("mutant new_view_not_recomputed: a new-view with another O is accepted") {
  cluster c(4, 10, new_view_not_recomputed);
  client cl(7);
  prepare_without_commit(c, cl);
  bytes nv_frame;
  c.filter = [&](const envelope_msg& m) {
    if (frame_type(m.frame) == msg_type::new_view && nv_frame.empty()) nv_frame = m.frame;
    return frame_type(m.frame) != msg_type::new_view && frame_type(m.frame) != msg_type::commit;
  };
  c.up[0] = false;
  c.submit(1, {cl.request()});
  REQUIRE(c.run_until([&] { return !nv_frame.empty(); }));
  auto forged =
      make_inspector()->forged_certificate_variant(nv_frame, *c.signers[1], c.r(1).config(), 0);
  deliver_to(c, 2, 1, *forged);
  CHECK_FALSE(c.r(2).view_changing());
  CHECK(c.r(2).accepted(1) != decode_new_view(nv_frame)->entries[0].d);
}

TEST_CASE("restart: a replica that crashed while a state transfer was pending asks for it again") {
  cluster c(4, 2);
  client cl(7);
  c.filter = [](const envelope_msg& m) { return m.to != replica_id{3}; };
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.filter = nullptr;
  REQUIRE(c.run_until([&] { return !c.transfers[3].empty(); }, 50));
  c.restart(3);
  CHECK(c.r(3).status().committed_index == 0);
  c.tick_all(1);
  REQUIRE(c.transfers[3].size() == 2);
  CHECK(c.transfers[3][1].index == 2);
  c.step(3, ev::state_installed{2, c.transfers[3][1].state_root, {}});
  CHECK(c.r(3).status().committed_index == 2);
  CHECK(c.stores[3].count("pbft/transfer") == 0);
}

TEST_CASE("mutant vote_before_persist: the pre-prepare leaves before its log record is durable, "
          "so a restart reuses its sequence number") {
  for (const bool mutant_on : {false, true}) {
    CAPTURE(mutant_on);
    cluster c(4, 10, mutant_on ? std::uint64_t{vote_before_persist} : 0);
    client cl(7);
    c.submit(0, {cl.request()});
    c.pool.clear();
    c.restart(0); // crash right after the ready: its records are all the store holds
    c.submit(0, {cl.request()});
    auto pps = sent_of(c, 0, msg_type::pre_prepare);
    REQUIRE(pps.size() == 2);
    // honest: the log record travelled with the pre-prepare, so the restarted primary goes on
    // at 2; the mutant signs a second batch for (0, 1)
    CHECK(decode_pre_prepare(pps[1])->seq.value() == (mutant_on ? 1 : 2));
  }
}
