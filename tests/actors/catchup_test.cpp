// Catch-up by snapshot (actors/catchup.hpp): the wire messages, the fetcher against honest and
// lying peers, and two replica actors on CAF's test coordinator where a replica that is
// behind fetches a certified snapshot past a peer that serves a wrong root.
#include <doctest/doctest.h>

#include "tests/actors/caf_doctest.hpp"

#include <functional>

#include "actors/catchup.hpp"
#include "actors/spawn.hpp"
#include "crypto/fake_signer.hpp"
#include "protocols/smr/kv_state_machine.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "tests/actors/toy_engine.hpp"

using namespace bft;
using namespace bft::actors;

namespace {

/// A KV state with `keys` keys and its snapshot at index `index`.
struct sample_state {
  smr::kv_state_machine kv;
  bytes snap;
  digest root{};
  sample_state(std::uint64_t index, std::size_t keys, const std::string& tag = "v") {
    for (std::uint64_t i = 1; i <= index; ++i) {
      client_request r;
      r.client[0] = 9;
      r.client_seq = i;
      for (std::size_t k = 0; k < keys / index + 1; ++k)
        r.txs.push_back(smr::kv_tx::put("key-" + std::to_string(i) + "-" + std::to_string(k),
                                        tag + std::string(200, 'x'))
                            .encode());
      (void)kv.apply(committed_entry{i, digest{}, {r}});
    }
    snap = kv.snapshot();
    root = kv.state_root();
  }
};

/// How a simulated peer answers a request (nullopt: silent).
using server_fn = std::function<std::optional<sync_message>(const sync_request&)>;

server_fn honest(const served_snapshot& s) {
  return [&s](const sync_request& r) { return std::optional<sync_message>(answer(&s, r)); };
}

/// Runs a fetch session to its end: frames go to the servers, their answers come back; when
/// nothing is in flight, the fetcher ticks. A complete snapshot is restored against the
/// certified root as the state machine does. Returns the restored state's root, if any.
struct fetch_run {
  std::vector<fetch_fault> faults;
  std::size_t sends = 0;
  std::optional<digest> installed;
};

fetch_run run(snapshot_fetcher& f, const state_transfer_request& req,
              std::map<replica_id, server_fn> servers, std::size_t max_ticks = 2000) {
  fetch_run out;
  std::vector<replica_id> peers;
  for (const auto& [id, fn] : servers) peers.push_back(id);
  std::vector<fetch_output> todo{f.start(req, peers)};
  std::size_t ticks = 0;
  while (ticks < max_ticks && !out.installed) {
    std::vector<std::pair<replica_id, sync_message>> replies;
    for (auto& o : todo) {
      out.faults.insert(out.faults.end(), o.faults.begin(), o.faults.end());
      for (auto& [peer, frame] : o.send) {
        ++out.sends;
        auto m = decode_sync(frame);
        REQUIRE(m);
        auto* r = std::get_if<sync_request>(&*m);
        REQUIRE(r != nullptr);
        if (auto a = servers.at(peer)(*r)) {
          // Everything crosses the wire encoded.
          auto back = decode_sync(encode_sync(*a));
          REQUIRE(back);
          replies.emplace_back(peer, std::move(*back));
        }
      }
      if (o.complete) {
        smr::kv_state_machine kv;
        if (kv.restore(*o.complete, req.state_root) && kv.applied_index() == req.index) {
          f.on_installed();
          out.installed = kv.state_root();
        } else {
          replies.clear();
          auto again = f.on_install_failed();
          todo = {again};
          goto next; // NOLINT: the retry is processed in the next round
        }
      }
    }
    todo.clear();
    for (auto& [peer, m] : replies) todo.push_back(f.on_message(peer, m));
    if (todo.empty()) {
      ++ticks;
      todo.push_back(f.on_tick());
    }
  next:;
  }
  return out;
}

std::size_t count(const std::vector<fetch_fault>& v, std::uint32_t peer, const std::string& why) {
  std::size_t n = 0;
  for (const auto& f : v) n += f.peer == replica_id{peer} && f.reason == why ? 1 : 0;
  return n;
}

state_transfer_request request_for(const sample_state& s, std::uint64_t index,
                                   std::vector<std::uint32_t> sources) {
  state_transfer_request r;
  r.index = index;
  r.state_root = s.root;
  for (auto p : sources) r.sources.push_back(replica_id{p});
  return r;
}

} // namespace

TEST_CASE("catch-up messages round-trip and every truncation is refused") {
  sync_manifest man{12, digest{}, 1000, 300, {digest{}, digest{}, digest{}, digest{}}};
  man.root[0] = 7;
  std::vector<sync_message> all{sync_request{12, manifest_chunk}, sync_request{12, 3}, man,
                                sync_chunk{12, 2, bytes{1, 2, 3}}, sync_unavailable{12}};
  for (const auto& m : all) {
    auto b = encode_sync(m);
    CHECK(is_sync_frame(b));
    auto d = decode_sync(b);
    REQUIRE(d);
    CHECK(encode_sync(*d) == b);
    for (std::size_t cut = 0; cut < b.size(); ++cut)
      CHECK_FALSE(decode_sync(byte_view(b.data(), cut)));
    auto longer = b;
    longer.push_back(0);
    CHECK_FALSE(decode_sync(longer));
  }
  CHECK_FALSE(is_sync_frame(bytes{0x01, 0x01, 0x01, 0x00}));
}

TEST_CASE("a served snapshot is cut into chunks that hash to its manifest") {
  sample_state s(4, 40);
  auto served = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  REQUIRE(served.manifest.chunks.size() == (s.snap.size() + 999) / 1000);
  bytes joined;
  for (std::uint32_t k = 0; k < served.manifest.chunks.size(); ++k) {
    auto a = answer(&served, sync_request{4, k});
    auto* c = std::get_if<sync_chunk>(&a);
    REQUIRE(c != nullptr);
    joined.insert(joined.end(), c->data.begin(), c->data.end());
  }
  CHECK(joined == s.snap);
  CHECK(std::holds_alternative<sync_unavailable>(answer(&served, sync_request{5, 0})));
  CHECK(std::holds_alternative<sync_unavailable>(
      answer(&served, sync_request{4, static_cast<std::uint32_t>(served.manifest.chunks.size())})));
  CHECK(std::holds_alternative<sync_unavailable>(answer(nullptr, sync_request{4, 0})));
}

TEST_CASE("the fetcher installs a certified snapshot from an honest peer") {
  sample_state s(4, 40);
  auto served = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  snapshot_fetcher f(3, 10);
  auto r = run(f, request_for(s, 4, {1}), {{replica_id{1}, honest(served)}});
  REQUIRE(r.installed);
  CHECK(*r.installed == s.root);
  CHECK(r.faults.empty());
  CHECK_FALSE(f.active());
}

TEST_CASE("a peer serving a wrong root is detected and another peer is asked") {
  sample_state s(4, 40);
  sample_state other(4, 40, "lie");
  auto good = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  auto bad = make_served(4, other.root, std::make_shared<const bytes>(other.snap), 1000);
  snapshot_fetcher f(3, 10);
  auto r = run(f, request_for(s, 4, {1, 2}),
               {{replica_id{1}, honest(bad)}, {replica_id{2}, honest(good)}});
  REQUIRE(r.installed);
  CHECK(*r.installed == s.root);
  CHECK(count(r.faults, 1, "wrong_root") == 1);
  CHECK(count(r.faults, 2, "wrong_root") == 0);
}

TEST_CASE("a manifest whose size wraps the chunk count around to zero is malformed") {
  // total_bytes near 2^64: (total + chunk_bytes - 1) / chunk_bytes wrapped to 0, so a manifest
  // with the certified root and no chunks was taken, nothing was ever asked, and the session
  // stalled for good. Found while writing the stall check of tests/fuzz/catchup_fuzz.cpp, whose
  // seed corpus keeps this manifest (catchup/manifest_wraps).
  sample_state s(4, 40);
  auto good = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  server_fn liar = [&s](const sync_request& r) -> std::optional<sync_message> {
    if (r.chunk != manifest_chunk) return std::nullopt;
    sync_manifest m;
    m.index = r.index;
    m.root = s.root;
    m.total_bytes = ~std::uint64_t{0};
    m.chunk_bytes = 2;
    return m;
  };
  snapshot_fetcher f(3, 10);
  auto r =
      run(f, request_for(s, 4, {1, 2}), {{replica_id{1}, liar}, {replica_id{2}, honest(good)}});
  REQUIRE(r.installed);
  CHECK(*r.installed == s.root);
  CHECK(count(r.faults, 1, "malformed") == 1);
}

TEST_CASE("a peer serving a bad chunk is detected and the chunk is fetched elsewhere") {
  sample_state s(4, 40);
  auto good = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  server_fn liar = [&good](const sync_request& r) -> std::optional<sync_message> {
    auto a = answer(&good, r);
    if (auto* c = std::get_if<sync_chunk>(&a); c != nullptr && c->chunk == 2) c->data[5] ^= 1;
    return a;
  };
  snapshot_fetcher f(2, 10);
  auto r =
      run(f, request_for(s, 4, {1, 2, 3}),
          {{replica_id{1}, liar}, {replica_id{2}, honest(good)}, {replica_id{3}, honest(good)}});
  REQUIRE(r.installed);
  CHECK(*r.installed == s.root);
  CHECK(count(r.faults, 1, "bad_chunk") == 1);
  CHECK(f.faulty().empty()); // the session ended; a new one starts clean
}

TEST_CASE("a self-consistent snapshot with the certified root but other data is refused") {
  // The liar's manifest claims the certified root but describes other bytes: every chunk
  // matches its digest, and only the restore (which recomputes the root) can tell.
  sample_state s(4, 40);
  sample_state other(4, 40, "lie");
  auto good = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  auto forged = make_served(4, s.root, std::make_shared<const bytes>(other.snap), 1000);
  snapshot_fetcher f(4, 10);
  auto r = run(f, request_for(s, 4, {3, 1}),
               {{replica_id{1}, honest(good)}, {replica_id{3}, honest(forged)}});
  REQUIRE(r.installed);
  CHECK(*r.installed == s.root);
  CHECK(count(r.faults, 3, "bad_snapshot") == 1);
}

TEST_CASE("a silent peer times out and a peer without the snapshot is skipped") {
  sample_state s(4, 40);
  auto good = make_served(4, s.root, std::make_shared<const bytes>(s.snap), 1000);
  server_fn silent = [](const sync_request&) { return std::optional<sync_message>{}; };
  server_fn none = [](const sync_request& r) {
    return std::optional<sync_message>(sync_unavailable{r.index});
  };
  snapshot_fetcher f(4, 10);
  auto r = run(f, request_for(s, 4, {1, 2, 3}),
               {{replica_id{1}, silent}, {replica_id{2}, none}, {replica_id{3}, honest(good)}});
  REQUIRE(r.installed);
  CHECK(count(r.faults, 1, "timeout") == 1);
  CHECK(count(r.faults, 2, "unavailable") == 1);
}

TEST_CASE("when no peer holds the snapshot the fetcher waits for its timer instead of looping") {
  sample_state s(4, 40);
  server_fn none = [](const sync_request& r) {
    return std::optional<sync_message>(sync_unavailable{r.index});
  };
  snapshot_fetcher f(4, 10);
  auto r = run(f, request_for(s, 4, {1, 2, 3}),
               {{replica_id{1}, none}, {replica_id{2}, none}, {replica_id{3}, none}}, 50);
  CHECK_FALSE(r.installed);
  CHECK(f.active());
  // One round of 3 refusals per timeout (10 ticks), not a request storm.
  CHECK(r.sends <= 3 * (50 / 10 + 1) + 3);
}

// ---- two replica actors: one serves, one catches up past a lying peer ------------------

namespace {

/// An engine that asks, on its first tick, for the state transfer it was given, and records
/// what it is told after.
struct transfer_log {
  std::vector<ev::state_installed> installed;
};

class transfer_engine final : public engine {
public:
  transfer_engine(state_transfer_request req, std::shared_ptr<transfer_log> log)
      : req_(std::move(req)), log_(std::move(log)) {}
  ready step(const event& e) override {
    ready r;
    if (std::holds_alternative<ev::tick>(e) && !asked_) {
      asked_ = true;
      r.state_transfer = req_;
    } else if (const auto* x = std::get_if<ev::state_installed>(&e)) {
      log_->installed.push_back(*x);
    }
    return r;
  }
  [[nodiscard]] engine_status status() const override { return {}; }

private:
  state_transfer_request req_;
  std::shared_ptr<transfer_log> log_;
  bool asked_ = false;
};

/// A link that hands every frame to another replica actor, as that replica's acceptor would.
link_actor::behavior_type forward_link(link_actor::pointer self, replica_actor to) {
  return {
      [self, to](frame_atom, frame& f) { self->send(to, frame_atom::value, std::move(f)); },
      [](link_up_atom, acceptor_actor&) {},
      [](link_fail_atom, std::string&) {},
      [](reconnect_atom) {},
      [](flush_atom) {},
  };
}

struct catchup_metrics {
  metrics m;
};

struct catchup_fixture : catchup_metrics, test_coordinator_fixture<caf::actor_system_config> {
  std::vector<caf::actor> periodic;
  ~catchup_fixture() override {
    for (auto& a : periodic) caf::anon_send_exit(a, caf::exit_reason::kill);
    consume_messages();
  }
  validator_set validators;
  std::vector<std::shared_ptr<const crypto::signer>> signers;
  std::shared_ptr<const crypto::verifier> verifier = std::make_shared<crypto::fake_verifier>();
  catchup_fixture() {
    std::vector<public_key> keys;
    for (std::uint64_t i = 0; i < 4; ++i) {
      signers.push_back(std::make_shared<crypto::fake_signer>(100 + i));
      keys.push_back(signers.back()->key());
    }
    validators = validator_set::equal_weights(keys);
  }
  identity id(std::uint32_t self_id) {
    identity out;
    out.self = replica_id{self_id};
    out.chain_id = "test-chain";
    out.validators = validators;
    out.signer = signers.at(self_id);
    out.verifier = verifier;
    out.probes = &m;
    return out;
  }
  std::uint64_t scrape_value(const std::string& needle) {
    auto text = m.scrape();
    auto pos = text.find(needle);
    if (pos == std::string::npos) return 0;
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos);
    return static_cast<std::uint64_t>(std::stod(line.substr(line.rfind(' ') + 1)));
  }
};

} // namespace

TEST_CASE_FIXTURE(catchup_fixture,
                  "a replica behind fetches a certified snapshot past a peer with a wrong root") {
  // Replica 1 serves: its toy engine commits each submitted request at once, and its state
  // machine takes a snapshot at every index (checkpoint interval 1).
  auto log1 = std::make_shared<test::toy_log>();
  replica_config server;
  server.id = id(1);
  server.engine.self = replica_id{1};
  server.engine.validators = validators;
  server.make_engine = [log1](const engine_config&, const crypto::signer&, const crypto::verifier&,
                              const persisted_state&) {
    return std::make_unique<test::toy_engine>(log1);
  };
  auto mem1 = std::make_shared<memory_storage>();
  server.store = spawn_store(sys, mem1);
  auto sm1 = spawn_state_machine(sys, replica_id{1}, 1);
  server.state_machine = sm1;
  server.monitor = spawn_monitor(sys, server.id);
  // The state replica 1 will reach after three committed requests (built the same way).
  sample_state truth(3, 30);

  // Replica 0 is behind: its engine asks for the snapshot at index 3 certified with the root
  // of `truth`, from replica 2 (a liar) first, then replica 1.
  auto tlog = std::make_shared<transfer_log>();
  replica_config lagging;
  lagging.id = id(0);
  lagging.engine.self = replica_id{0};
  lagging.engine.validators = validators;
  state_transfer_request want;
  want.index = 3;
  want.state_root = truth.root;
  want.sources = {replica_id{2}, replica_id{1}};
  lagging.make_engine = [want, tlog](const engine_config&, const crypto::signer&,
                                     const crypto::verifier&, const persisted_state&) {
    return std::make_unique<transfer_engine>(want, tlog);
  };
  lagging.store = spawn_store(sys, std::make_shared<memory_storage>());
  auto sm0 = spawn_state_machine(sys, replica_id{0}, 1);
  lagging.state_machine = sm0;
  lagging.monitor = spawn_monitor(sys, lagging.id);
  lagging.catchup_patience_ticks = 5;

  // Both replicas need their links at spawn time: replica 1's link to 0 (and the lying
  // peer's answers) go through relays that learn replica 0's handle once it exists.
  auto relay_target = std::make_shared<replica_actor>();
  auto relay = sys.spawn([relay_target](link_actor::pointer me) -> link_actor::behavior_type {
    return {
        [me, relay_target](frame_atom, frame& f) {
          me->send(*relay_target, frame_atom::value, std::move(f));
        },
        [](link_up_atom, acceptor_actor&) {},
        [](link_fail_atom, std::string&) {},
        [](reconnect_atom) {},
        [](flush_atom) {},
    };
  });
  server.links.emplace(replica_id{0}, relay);
  auto r1 = spawn_replica(sys, server);
  periodic.push_back(caf::actor_cast<caf::actor>(r1));

  // Replica 2 lies: it answers every request with the manifest of another state.
  sample_state lie_state(3, 30, "lie");
  auto lie = make_served(3, lie_state.root, std::make_shared<const bytes>(lie_state.snap), 1000);
  auto back_relay = std::make_shared<replica_actor>();
  auto to_liar = sys.spawn([back_relay, lie](link_actor::pointer me) -> link_actor::behavior_type {
    return {
        [me, back_relay, lie](frame_atom, frame& f) {
          auto msg = decode_sync(as_bytes(f.data));
          if (!msg) return;
          if (auto* r = std::get_if<sync_request>(&*msg)) {
            auto a = encode_sync(answer(&lie, *r));
            me->send(*back_relay, frame_atom::value, frame{2, std::string(a.begin(), a.end())});
          }
        },
        [](link_up_atom, acceptor_actor&) {},
        [](link_fail_atom, std::string&) {},
        [](reconnect_atom) {},
        [](flush_atom) {},
    };
  });
  lagging.links.emplace(replica_id{1}, sys.spawn(forward_link, r1));
  lagging.links.emplace(replica_id{2}, to_liar);
  consume_messages();

  // Replica 1 commits the three requests (its snapshot at 3 then has the root of `truth`).
  for (std::uint64_t i = 1; i <= 3; ++i) {
    client_request r;
    r.client[0] = 9;
    r.client_seq = i;
    for (std::size_t k = 0; k < 30 / 3 + 1; ++k)
      r.txs.push_back(smr::kv_tx::put("key-" + std::to_string(i) + "-" + std::to_string(k),
                                      "v" + std::string(200, 'x'))
                          .encode());
    caf::anon_send(r1, submit_atom::value, request_batch{{r}});
    consume_messages();
  }
  {
    auto st = self->request(sm1, caf::infinite, status_atom::value);
    consume_messages();
    st.receive(
        [&](state_status& s) {
          REQUIRE(s.applied_index == 3);
          REQUIRE(s.state_root == truth.root);
        },
        [](caf::error&) { FAIL("no status"); });
  }

  auto r0 = spawn_replica(sys, lagging);
  periodic.push_back(caf::actor_cast<caf::actor>(r0));
  *relay_target = r0;
  *back_relay = r0;
  consume_messages();
  // Ticks: the first one makes the engine ask; later ones drive the fetcher's patience.
  for (int t = 0; t < 40 && tlog->installed.empty(); ++t) {
    sched.trigger_timeouts();
    consume_messages();
  }
  REQUIRE(tlog->installed.size() == 1);
  CHECK(tlog->installed[0].index == 3);
  CHECK(tlog->installed[0].state_root == truth.root);
  auto st = self->request(sm0, caf::infinite, status_atom::value);
  consume_messages();
  st.receive(
      [&](state_status& s) {
        CHECK(s.applied_index == 3);
        CHECK(s.state_root == truth.root);
      },
      [](caf::error&) { FAIL("no status"); });
  CHECK(scrape_value(
            "bft_state_transfer_faults_total{peer=\"2\",reason=\"wrong_root\",replica=\"0\"}") ==
        1);
  CHECK(scrape_value("bft_state_transfers_total{replica=\"0\"}") == 1);
}
