// One test per rule of ../shared/protocol-rules.md section 1 (PBFT), named by its id.
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

std::uint64_t count_commits_of(cluster& c, std::size_t i, std::uint64_t n) {
  std::uint64_t k = 0;
  for (const auto& f : sent_of(c, i, msg_type::commit))
    if (decode_vote(f)->seq.value() == n) ++k;
  return k;
}

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

TEST_CASE("P1: the primary of view v is replica v mod n, the others are backups") {
  for (auto n : sizes()) {
    CAPTURE(n);
    auto vs = make_validators(n);
    for (std::uint64_t v = 0; v < 3 * n; ++v)
      CHECK(primary_of(view_number{v}, vs, {}) == replica_id{static_cast<std::uint32_t>(v % n)});
    std::vector<replica_id> schedule{replica_id{2}, replica_id{2}};
    CHECK(primary_of(view_number{0}, vs, schedule) == replica_id{2});
    CHECK(primary_of(view_number{1}, vs, schedule) == replica_id{2});
    CHECK(primary_of(view_number{2}, vs, schedule) == replica_id{2});
    CHECK(primary_of(view_number{3}, vs, schedule) == replica_id{3});
    cluster c(n);
    for (std::size_t i = 0; i < n; ++i) CHECK(c.r(i).status().leader == replica_id{0});
    // only the primary proposes
    client cl(7);
    c.submit(0, {cl.request()});
    CHECK(sent_of(c, 0, msg_type::pre_prepare).size() == 1);
    c.submit(1, {cl.request()});
    CHECK(sent_of(c, 1, msg_type::pre_prepare).empty());
  }
}

TEST_CASE("P2: a request whose client sequence number is not above the last executed one is "
          "not ordered again") {
  cluster c(4);
  client cl(7);
  auto r1 = cl.request();
  c.submit(0, {r1});
  c.deliver_all();
  REQUIRE(c.committed[0].size() == 1);
  c.submit(0, {r1});
  CHECK(rejected_with(c, 0, "already executed"));
  CHECK(sent_of(c, 0, msg_type::pre_prepare).size() == 1);
  // a higher sequence number is ordered
  c.submit(0, {cl.request()});
  CHECK(sent_of(c, 0, msg_type::pre_prepare).size() == 2);
}

TEST_CASE("P3: a request proposed twice executes once") {
  cluster c(4);
  client cl(7);
  auto r1 = cl.request();
  c.submit(0, {r1});
  c.deliver_all();
  REQUIRE(c.committed[1].size() == 1);
  // a faulty primary proposes the same request again at seq 2
  auto pp = make_pp(c, 0, 0, 2, {r1});
  for (std::size_t i = 1; i < 4; ++i) deliver_to(c, i, 0, pp);
  c.deliver_all();
  for (std::size_t i = 1; i < 4; ++i) {
    REQUIRE(c.committed[i].size() == 2);
    CHECK(c.committed[i][1].index == 2);
    CHECK(c.committed[i][1].requests.empty()); // already executed at seq 1
  }
}

TEST_CASE("P4: every committed entry carries its client requests, so the execution layer can "
          "reply to each client") {
  // Replies and the client's f+1 rule live in the execution layer (engine.hpp: client replies
  // come from the layer that applies `committed`); the engine's part is to hand out each
  // request with its client key and sequence number.
  cluster c(4);
  client a(7), b(8);
  auto ra = a.request(), rb = b.request();
  c.submit(0, {ra, rb});
  c.deliver_all();
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE(c.committed[i].size() == 1);
    CHECK(c.committed[i][0].requests == std::vector<client_request>{ra, rb});
  }
}

TEST_CASE("P5: a backup relays a client request to the primary and arms its timer") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    c.submit(1, {cl.request()});
    auto relays = sent_of(c, 1, msg_type::request_relay);
    REQUIRE(relays.size() == 1);
    CHECK(c.r(1).view_timer_running());
    c.deliver_all();
    CHECK(sent_of(c, 0, msg_type::pre_prepare).size() == 1);
    for (std::size_t i = 0; i < n; ++i) CHECK(c.committed[i].size() == 1);
    CHECK_FALSE(c.r(1).view_timer_running()); // nothing pending any more
  });
}

TEST_CASE("P6: the optional read-only path is not implemented, reads are ordered like writes") {
  // Documented in protocols/pbft/README.md: reads on tentative state need an execution-layer
  // query path that the engine contract does not have. A request without transactions is
  // ordered and executed like any other.
  cluster c(4);
  client cl(7);
  auto r = cl.request("test-chain", 0);
  c.submit(0, {r});
  c.deliver_all();
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE(c.committed[i].size() == 1);
    CHECK(c.committed[i][0].requests.size() == 1);
  }
}

TEST_CASE("P7: the primary assigns the next n, logs the pre-prepare before sending it, and "
          "never assigns n outside the watermarks h < n <= H") {
  cluster c(4, /*k=*/2); // H = h + 4
  client cl(7);
  for (int i = 0; i < 6; ++i) {
    auto out = c.r(0).step(ev::client_requests{{cl.request()}});
    if (out.messages.empty()) continue;
    REQUIRE(out.messages.size() == 1);
    auto pp = decode_pre_prepare(out.messages[0].frame);
    REQUIRE(pp.has_value());
    bool logged = false;
    for (const auto& p : out.persist)
      if (p.key.find("pbft/log/") == 0 && !p.erase) logged = true;
    CHECK(logged);
    c.apply(0, std::move(out));
  }
  auto pps = sent_of(c, 0, msg_type::pre_prepare);
  REQUIRE(pps.size() == 4); // 1..4 = (h, H]
  for (std::size_t i = 0; i < pps.size(); ++i)
    CHECK(decode_pre_prepare(pps[i])->seq.value() == i + 1);
  c.deliver_all(); // checkpoint at 2 and 4 become stable, the window moves
  CHECK(c.r(0).low_watermark() == 4);
  c.submit(0, {}); // the two queued requests go out in one batch at seq 5
  auto all = sent_of(c, 0, msg_type::pre_prepare);
  REQUIRE(all.size() == 5);
  CHECK(decode_pre_prepare(all[4])->seq.value() == 5);
  CHECK(decode_pre_prepare(all[4])->requests->size() == 2);
}

TEST_CASE("P8: a backup ignores a pre-prepare outside the watermarks h < n <= H") {
  for_each_size(sizes(), 2, [&](std::size_t, cluster& c, client& cl) { // H = 4
    auto r = cl.request();
    SUBCASE("above H") {
      deliver_to(c, 1, 0, make_pp(c, 0, 0, 5, {r}));
      CHECK(rejected_with(c, 1, "outside the watermarks"));
      CHECK_FALSE(c.r(1).accepted(5));
    }
    SUBCASE("at h") {
      deliver_to(c, 1, 0, make_pp(c, 0, 0, 0, {r}));
      CHECK(rejected_with(c, 1, "outside the watermarks"));
    }
    SUBCASE("not signed by the primary") {
      deliver_to(c, 1, 2, make_pp(c, 2, 0, 1, {r}));
      CHECK(rejected_with(c, 1, "not signed by the primary"));
    }
    SUBCASE("forged signature") {
      auto f = make_pp(c, 0, 0, 1, {r});
      f.back() ^= 1;
      deliver_to(c, 1, 0, f);
      CHECK(rejected_with(c, 1, "signature"));
    }
    SUBCASE("digest does not match the batch") {
      pre_prepare m;
      m.view = view_number{0};
      m.seq = seq_number{1};
      m.d = digest{1};
      m.from = replica_id{0};
      m.requests = std::make_shared<batch>(batch{r});
      sign(m, test_ctx(), *c.signers[0]);
      deliver_to(c, 1, 0, encode(m));
      CHECK(rejected_with(c, 1, "digest does not match"));
    }
    SUBCASE("bad client signature") {
      auto bad = r;
      bad.sig[0] ^= 1;
      deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, {bad}));
      CHECK(rejected_with(c, 1, "client signature"));
    }
    SUBCASE("another digest for (v, n)") {
      deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, {r}));
      deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, {cl.request()}));
      CHECK(rejected_with(c, 1, "conflicts"));
      CHECK(c.r(1).accepted(1) == batch_digest({r}));
      CHECK(sent_of(c, 1, msg_type::prepare).size() == 1);
    }
    SUBCASE("another view") {
      deliver_to(c, 1, 2, make_pp(c, 2, 2, 1, {r}));
      CHECK(rejected_with(c, 1, "future view"));
    }
    CHECK(c.committed[1].empty());
    if (!c.r(1).accepted(1)) CHECK(sent_of(c, 1, msg_type::prepare).empty());
  });
}

TEST_CASE("P9: on acceptance a backup multicasts a prepare and logs both, the primary sends no "
          "prepare") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    c.submit(0, {cl.request()});
    c.deliver_all();
    CHECK(sent_of(c, 0, msg_type::prepare).empty());
    for (std::size_t i = 1; i < n; ++i) {
      auto p = sent_of(c, i, msg_type::prepare);
      REQUIRE(p.size() == 1);
      CHECK(c.sent[i][0].to == std::nullopt); // multicast
      CHECK(c.stores[i].count("pbft/log/00000000000000000001") == 1);
    }
    // a prepare signed by the primary is refused
    deliver_to(c, 1, 0, make_vote(c, 0, msg_type::prepare, 0, 2, digest{}));
    CHECK(rejected_with(c, 1, "primary sent a prepare"));
  });
}

TEST_CASE("P10: prepares and commits that precede the pre-prepare are logged") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    batch b{cl.request()};
    auto d = batch_digest(b);
    // replica 1 hears every prepare and commit before the pre-prepare
    for (std::size_t i = 2; i < n; ++i)
      deliver_to(c, 1, i, make_vote(c, i, msg_type::prepare, 0, 1, d));
    for (std::size_t i = 0; i < n; ++i)
      if (i != 1) deliver_to(c, 1, i, make_vote(c, i, msg_type::commit, 0, 1, d));
    CHECK(c.committed[1].empty());
    deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b));
    REQUIRE(c.committed[1].size() == 1);
    CHECK(c.committed[1][0].id == d);
  });
}

TEST_CASE("P11: prepared needs 2f prepares from distinct backups, duplicates and the primary's "
          "prepare do not count") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    const auto f = (n - 1) / 3;
    batch b{cl.request()};
    auto d = batch_digest(b);
    deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b)); // own prepare counts: 1
    for (std::size_t i = 2; i < 2 * f; ++i)
      deliver_to(c, 1, i, make_vote(c, i, msg_type::prepare, 0, 1, d)); // 2f-1 in total
    deliver_to(c, 1, 1, make_vote(c, 1, msg_type::prepare, 0, 1, d));   // duplicate of its own
    deliver_to(c, 1, 0, make_vote(c, 0, msg_type::prepare, 0, 1, d));   // primary
    CHECK_FALSE(c.r(1).prepared(1));
    deliver_to(c, 1, 2 * f, make_vote(c, 2 * f, msg_type::prepare, 0, 1, d));
    CHECK(c.r(1).prepared(1));
  });
}

TEST_CASE("P12: no two honest replicas prepare different digests at one (v, n)") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    batch b1{cl.request()}, b2{cl.request()};
    // an equivocating primary: b1 to replica 1, b2 to the rest
    deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b1));
    for (std::size_t i = 2; i < n; ++i) deliver_to(c, i, 0, make_pp(c, 0, 0, 1, b2));
    c.deliver_all();
    std::set<digest> prepared_on;
    for (std::size_t i = 1; i < n; ++i)
      if (c.r(i).prepared(1)) prepared_on.insert(*c.r(i).accepted(1));
    CHECK(prepared_on.size() == 1);
    CHECK_FALSE(c.r(1).prepared(1));
  });
}

TEST_CASE("P13: a replica multicasts its commit once, when prepared first holds") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    c.submit(0, {cl.request()});
    c.deliver_all();
    for (std::size_t i = 0; i < n; ++i) CHECK(count_commits_of(c, i, 1) == 1);
    // late prepares change nothing
    auto d = *c.r(1).accepted(1);
    for (std::size_t i = 2; i < n; ++i)
      deliver_to(c, 1, i, make_vote(c, i, msg_type::prepare, 0, 1, d));
    CHECK(count_commits_of(c, 1, 1) == 1);
  });
}

TEST_CASE("P14: committed-local needs prepared plus 2f+1 matching commits from distinct "
          "replicas, own included") {
  for_each_size(sizes(), [&](std::size_t n, cluster& c, client& cl) {
    const auto f = (n - 1) / 3;
    batch b{cl.request()};
    auto d = batch_digest(b);
    deliver_to(c, 1, 0, make_pp(c, 0, 0, 1, b));
    for (std::size_t i = 2; i <= 2 * f; ++i)
      deliver_to(c, 1, i, make_vote(c, i, msg_type::prepare, 0, 1, d));
    REQUIRE(c.r(1).prepared(1)); // own commit sent
    // 2f-1 other commits (one twice, one for another digest): 2f in total with its own
    for (std::size_t i = 2; i <= 2 * f; ++i)
      deliver_to(c, 1, i, make_vote(c, i, msg_type::commit, 0, 1, d));
    deliver_to(c, 1, 2, make_vote(c, 2, msg_type::commit, 0, 1, d));
    deliver_to(c, 1, 2 * f + 1, make_vote(c, 2 * f + 1, msg_type::commit, 0, 1, digest{9}));
    CHECK_FALSE(c.r(1).committed(1));
    CHECK(c.committed[1].empty());
    deliver_to(c, 1, 0, make_vote(c, 0, msg_type::commit, 0, 1, d));
    CHECK(c.r(1).committed(1));
    CHECK(c.committed[1].size() == 1);
  });
}

TEST_CASE("P15: execution follows sequence numbers, commits may finish out of order, null "
          "requests are no-ops") {
  cluster c(4);
  client cl(7);
  batch b1{cl.request()}, b2{cl.request()};
  auto commit_all = [&](std::uint64_t n, const batch& b) {
    auto d = batch_digest(b);
    deliver_to(c, 1, 0, make_pp(c, 0, 0, n, b));
    for (std::size_t i : {2u, 3u}) deliver_to(c, 1, i, make_vote(c, i, msg_type::prepare, 0, n, d));
    for (std::size_t i : {0u, 2u}) deliver_to(c, 1, i, make_vote(c, i, msg_type::commit, 0, n, d));
  };
  commit_all(2, b2);
  CHECK(c.r(1).committed(2));
  CHECK(c.committed[1].empty()); // seq 1 not yet committed
  commit_all(1, b1);
  REQUIRE(c.committed[1].size() == 2);
  CHECK(c.committed[1][0].index == 1);
  CHECK(c.committed[1][1].index == 2);
  commit_all(3, {}); // the null request
  REQUIRE(c.committed[1].size() == 3);
  CHECK(c.committed[1][2].id == null_digest);
  CHECK(c.committed[1][2].requests.empty());
}

TEST_CASE("P16: after executing n divisible by K a replica multicasts a checkpoint with its "
          "state digest") {
  for_each_size(sizes(), 2, [&](std::size_t n, cluster& c, client& cl) {
    c.submit(0, {cl.request()});
    c.deliver_all();
    for (std::size_t i = 0; i < n; ++i) CHECK(sent_of(c, i, msg_type::checkpoint).empty());
    c.submit(0, {cl.request()});
    c.deliver_all();
    for (std::size_t i = 0; i < n; ++i) {
      auto cps = sent_of(c, i, msg_type::checkpoint);
      REQUIRE(cps.size() == 1);
      auto cp = decode_checkpoint(cps[0]);
      CHECK(cp->seq.value() == 2);
      CHECK(cp->state == c.root_at[i][2]);
    }
  });
}

TEST_CASE("P17: 2f+1 matching checkpoints make it stable and drop the log at or below it") {
  for_each_size(sizes(), 2, [&](std::size_t n, cluster& c, client& cl) {
    c.auto_execute = false;
    const auto f = (n - 1) / 3;
    c.submit(0, {cl.request()});
    c.deliver_all();
    c.submit(0, {cl.request()});
    c.deliver_all();
    REQUIRE(c.r(0).log_size() == 2);
    for (std::size_t i = 0; i < 2 * f; ++i) c.step(i, ev::executed{2, c.root_at[i][2]});
    // a checkpoint with another state does not count
    deliver_to(c, 0, n - 1, make_ckpt(c, n - 1, 2, digest{5}));
    c.deliver_all();
    CHECK(c.r(0).low_watermark() == 0);
    CHECK(c.r(0).log_size() == 2);
    c.step(2 * f, ev::executed{2, c.root_at[2 * f][2]});
    c.deliver_all();
    CHECK(c.r(0).low_watermark() == 2);
    CHECK(c.r(0).log_size() == 0);
    CHECK(c.stores[0].count("pbft/log/00000000000000000001") == 0);
    CHECK(c.stores[0].count("pbft/stable") == 1);
  });
}

TEST_CASE("P18: h is the last stable checkpoint and H = h + 2K, both move only when a "
          "checkpoint becomes stable") {
  cluster c(4, 2);
  c.auto_execute = false;
  client cl(7);
  c.submit(0, {cl.request()});
  c.deliver_all();
  c.submit(0, {cl.request()});
  c.deliver_all();
  CHECK(c.r(1).low_watermark() == 0);
  CHECK(c.r(1).high_watermark() == 4);
  auto r5 = cl.request();
  deliver_to(c, 1, 0, make_pp(c, 0, 0, 5, {r5}));
  CHECK(rejected_with(c, 1, "outside the watermarks"));
  for (std::size_t i = 0; i < 3; ++i) c.step(i, ev::executed{2, c.root_at[i][2]});
  c.deliver_all();
  CHECK(c.r(1).low_watermark() == 2);
  CHECK(c.r(1).high_watermark() == 6);
  deliver_to(c, 1, 0, make_pp(c, 0, 0, 5, {r5}));
  CHECK(c.r(1).accepted(5) == batch_digest({r5}));
}

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

namespace {

/// A new-view for view v signed by its primary, over the view-changes `vcs` (frames) with O
/// recomputed from them, as an honest primary sends it.
bytes make_nv(cluster& c, std::uint64_t v, const std::vector<bytes>& vcs) {
  const auto p = primary_of(view_number{v}, make_validators(c.size()), {});
  new_view m;
  m.view = view_number{v};
  m.from = p;
  std::vector<view_change> vset;
  for (const auto& f : vcs) {
    m.view_changes.push_back(f);
    vset.push_back(*decode_view_change(f));
  }
  for (const auto& [n, d] : compute_new_view(vset).entries) {
    new_view_entry e{n, d, {}};
    sign(e, m.view, p, test_ctx(), *c.signers[p.value()]);
    m.entries.push_back(e);
  }
  sign(m, test_ctx(), *c.signers[p.value()]);
  return encode(m);
}

} // namespace

TEST_CASE("P17 (requests): a batch is dropped only by a stable checkpoint, not when a later "
          "view puts another digest at its number") {
  // FINDINGS.md F8. Replica 3 prepares batch B at n = 1 in view 0 (its prepare is in the
  // certificate replica 1 holds). View 1's O has a null request at 1 (its view-changes hold no
  // certificate for 1, one for 2). View 2's O brings B back from replica 1's certificate, the
  // highest for 1. Replica 3 must still hold B to execute it and to serve it: were B dropped
  // with the null pre-prepare, no replica would hold it and n = 1 would block execution in
  // every later view.
  cluster c(4);
  client cl(7);
  const batch b{cl.request()};
  const batch other{cl.request()};
  const auto db = batch_digest(b);
  const auto dc = batch_digest(other);
  deliver_to(c, 3, 0, make_pp(c, 0, 0, 1, b));
  REQUIRE(c.r(3).accepted(1) == db);
  REQUIRE_FALSE(c.r(3).prepared(1));

  const auto cert_c = make_cert(c, 0, 2, dc, {1, 2});
  deliver_to(c, 3, 1,
             make_nv(c, 1, {make_vc(c, 1, 1, {cert_c}), make_vc(c, 0, 1), make_vc(c, 2, 1)}));
  REQUIRE(c.r(3).view() == view_number{1});
  REQUIRE(c.r(3).accepted(1) == null_digest);

  const auto cert_b = make_cert(c, 0, 1, db, {1, 3});
  deliver_to(
      c, 3, 2,
      make_nv(c, 2,
              {make_vc(c, 2, 2, {cert_c}), make_vc(c, 0, 2), make_vc(c, 1, 2, {cert_b, cert_c})}));
  REQUIRE(c.r(3).view() == view_number{2});
  REQUIRE(c.r(3).accepted(1) == db);

  // Replica 3 serves B to a replica that asks for it.
  c.sent[3].clear();
  deliver_to(c, 3, 0, encode(fetch_batch{db}));
  bool served = false;
  for (const auto& m : c.sent[3])
    if (frame_type(m.frame) == msg_type::batch_reply && m.to == replica_id{0}) {
      auto r = decode_batch_reply(m.frame);
      served = r && r->d == db && *r->requests == b;
    }
  CHECK(served);

  // The others prepare and commit n = 1 in view 2: replica 3 executes B.
  for (std::size_t i = 0; i < 2; ++i)
    deliver_to(c, 3, i, make_vote(c, i, msg_type::prepare, 2, 1, db));
  REQUIRE(c.r(3).prepared(1));
  for (std::size_t i = 0; i < 3; ++i)
    deliver_to(c, 3, i, make_vote(c, i, msg_type::commit, 2, 1, db));
  CHECK(c.r(3).committed(1));
  REQUIRE(c.committed[3].size() == 1);
  CHECK(c.committed[3][0].index == 1);
  CHECK(c.committed[3][0].id == db);
  CHECK(c.committed[3][0].requests == b);
}
