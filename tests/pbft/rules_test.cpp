// One test per rule of docs/rules.md section 1 (PBFT), named by its id: clients, normal case and
// checkpoints (P1-P18) here, the view change and its catch-up rules in rules_view_change_test.cpp.
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
