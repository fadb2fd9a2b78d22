#include <deque>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "crypto/fake_signer.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/hotstuff/mutants.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/registry.hpp"

using namespace bft;

namespace {

engine_config config_for(std::size_t n, std::uint32_t self) {
  std::vector<public_key> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(crypto::fake_public_key(i + 1));
  engine_config c;
  c.chain_id = "registry-test";
  c.self = replica_id{self};
  c.validators = validator_set::equal_weights(keys);
  c.batch_size = 2;
  c.batch_delay_ticks = 0;
  c.base_timeout_ticks = 10;
  c.checkpoint_interval = 4;
  return c;
}

/// Four engines of one protocol, built by the registry's factory, with a message pool and
/// every envelope type they sent. Replicas can be down or deaf (receive nothing).
struct mini_cluster {
  struct message {
    std::size_t from, to;
    bytes frame;
  };
  explicit mini_cluster(const protocol_entry& p) : proto(p) {
    for (std::size_t i = 0; i < n; ++i) {
      signers.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      stores.emplace_back();
      engines.emplace_back();
      boot(i, false);
    }
  }
  void boot(std::size_t i, bool recovering) {
    auto c = config_for(n, static_cast<std::uint32_t>(i));
    c.recovering = recovering;
    c.recovery_nonce = 7 + i;
    engines[i] = proto.make_engine(c, *signers[i], verifier, stores[i]);
    REQUIRE(engines[i] != nullptr);
    up[i] = true;
  }
  void apply(std::size_t i, ready r) {
    for (auto& op : r.persist) {
      if (op.erase)
        stores[i].erase(op.key);
      else
        stores[i][op.key] = op.value;
    }
    for (auto& m : r.messages) {
      if (auto env = codec::peek_envelope(m.frame)) sent_types.insert(env->type);
      for (std::size_t j = 0; j < n; ++j)
        if (j != i && (!m.to || m.to->value() == j)) pool.push_back({i, j, m.frame});
    }
    for (auto& c : r.committed) // the same root at every replica: the entry's own id
      apply(i, engines[i]->step(ev::executed{c.index, c.id}));
  }
  void step(std::size_t i, const event& e) {
    if (up[i]) apply(i, engines[i]->step(e));
  }
  /// Each tick: every replica ticks, then the frames sent before it are delivered (one
  /// network round per tick, so a leader that proposes as soon as it has a QC cannot spin).
  void run(std::size_t ticks) {
    for (std::size_t t = 0; t < ticks; ++t) {
      for (std::size_t i = 0; i < n; ++i) step(i, ev::tick{});
      for (auto round = pool.size(); round > 0 && !pool.empty(); --round) {
        auto m = std::move(pool.front());
        pool.pop_front();
        if (!deaf[m.to])
          step(m.to,
               ev::received{replica_id{static_cast<std::uint32_t>(m.from)}, std::move(m.frame)});
      }
    }
  }
  void submit(std::size_t count) {
    std::vector<client_request> reqs;
    for (std::size_t k = 0; k < count; ++k) {
      client_request r;
      r.client = client.key();
      r.client_seq = next_seq++;
      r.txs.push_back(bytes{static_cast<std::uint8_t>(r.client_seq), 1, 2});
      r.sig = client.sign(
          codec::signing_bytes(client_request::sign_tag, "registry-test", epoch{0}, r.body()));
      reqs.push_back(std::move(r));
    }
    for (std::size_t i = 0; i < n; ++i) step(i, ev::client_requests{reqs});
  }

  const protocol_entry& proto;
  static constexpr std::size_t n = 4;
  std::vector<std::unique_ptr<crypto::fake_signer>> signers;
  crypto::fake_verifier verifier;
  std::vector<persisted_state> stores;
  std::vector<std::unique_ptr<engine>> engines;
  bool up[n] = {};
  bool deaf[n] = {};
  std::deque<message> pool;
  std::set<std::uint16_t> sent_types;
  crypto::fake_signer client{1000};
  std::uint64_t next_seq = 1;
};

} // namespace

TEST_CASE("the registry names pbft and hotstuff, in that order") {
  CHECK(protocol_names() == std::vector<std::string>{"pbft", "hotstuff"});
  CHECK(protocol_names_text() == "pbft, hotstuff");
  REQUIRE(protocols().size() == 2);
  CHECK(&protocol_by_name("pbft") == &protocols()[0]);
  CHECK(&protocol_by_name("hotstuff") == &protocols()[1]);
}

TEST_CASE("an unknown protocol is refused with an error that lists the valid names") {
  CHECK(find_protocol("raft") == nullptr);
  CHECK(find_protocol("") == nullptr);
  CHECK(find_protocol("PBFT") == nullptr);
  try {
    (void)protocol_by_name("raft");
    FAIL("protocol_by_name accepted raft");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "unknown protocol 'raft' (valid: pbft, hotstuff)");
  }
}

TEST_CASE("every engine's factory builds an engine and its inspector factory an inspector") {
  for (const auto& p : protocols()) {
    CAPTURE(p.name);
    const bool has_factories = p.make_engine != nullptr && p.make_inspector != nullptr;
    REQUIRE(has_factories);
    crypto::fake_signer s(1);
    crypto::fake_verifier v;
    auto e = p.make_engine(config_for(4, 0), s, v, {});
    CHECK(e != nullptr);
    CHECK(p.make_inspector() != nullptr);
  }
}

TEST_CASE("the mutant names match each engine's mutant enum") {
  const auto& pb = protocol_by_name("pbft");
  CHECK(pb.mutants.size() == pbft::mutant_names.size());
  CHECK(pb.mutant_bits("view_change_drops_prepared") == pbft::view_change_drops_prepared);
  CHECK(pb.mutant_bits("accept_outside_watermarks") == pbft::accept_outside_watermarks);
  CHECK(pb.mutant_bits("commit_after_2f") == pbft::commit_after_2f);
  CHECK(pb.mutant_bits("forget_log_on_restart") == pbft::forget_log_on_restart);
  CHECK(pb.mutant_bits("skip_certificate_check") == pbft::skip_certificate_check);
  CHECK(pb.mutant_bits("new_view_not_recomputed") == pbft::new_view_not_recomputed);
  CHECK(pb.mutant_bits("vote_before_persist") == pbft::vote_before_persist);
  CHECK_FALSE(pb.mutant_bits("commit_on_two_chain").has_value());

  using hm = hotstuff::mutant;
  auto bit = [](hm m) { return static_cast<std::uint64_t>(m); };
  const auto& hs = protocol_by_name("hotstuff");
  CHECK(hs.mutants.size() == hotstuff::mutant_names.size());
  CHECK(hs.mutant_bits("vote_without_lock_check") == bit(hm::vote_without_lock_check));
  CHECK(hs.mutant_bits("commit_on_two_chain") == bit(hm::commit_on_two_chain));
  CHECK(hs.mutant_bits("accept_qc_with_duplicate_signer") ==
        bit(hm::accept_qc_with_duplicate_signer));
  CHECK(hs.mutant_bits("vote_before_persist") == bit(hm::vote_before_persist));
  CHECK(hs.mutant_bits("commit_gapped_chain") == bit(hm::commit_gapped_chain));
  CHECK(hs.mutant_bits("count_duplicate_votes") == bit(hm::count_duplicate_votes));
  CHECK_FALSE(hs.mutant_bits("commit_after_2f").has_value());

  for (const auto& p : protocols()) { // one bit each, never shared
    std::uint64_t seen = 0;
    for (const auto& m : p.mutants) {
      CAPTURE(m.name);
      CHECK(m.bits != 0);
      CHECK((m.bits & (m.bits - 1)) == 0);
      CHECK((seen & m.bits) == 0);
      seen |= m.bits;
    }
  }
}

TEST_CASE("every frame type an engine's decoder accepts has a name") {
  // The decoders accept PBFT 0x0101..0x0109 and HotStuff 0x0201..0x0205 (messages.cpp).
  for (std::uint16_t t = 0x0101; t <= 0x0109; ++t)
    CHECK(protocol_by_name("pbft").frame_name(t).has_value());
  for (std::uint16_t t = 0x0201; t <= 0x0205; ++t)
    CHECK(protocol_by_name("hotstuff").frame_name(t).has_value());
  CHECK(protocol_by_name("pbft").frame_name(0x0101) == "pre_prepare");
  CHECK(protocol_by_name("hotstuff").frame_name(0x0202) == "vote");
  CHECK(engine_frame_name(0x0106) == "new_view");
  CHECK(engine_frame_name(0x0201) == "proposal");
  CHECK_FALSE(engine_frame_name(0x4801).has_value()); // the link's hello is no engine frame
  CHECK_FALSE(engine_frame_name(0x0000).has_value());
  CHECK(protocol_by_name("pbft").role_of(0x0201) == frame_role::other);
}

TEST_CASE("frame names cover every type an engine sends: normal case, view changes, amnesia "
          "recovery and a lagging replica") {
  for (const auto& p : protocols()) {
    CAPTURE(p.name);
    mini_cluster c(p);
    c.submit(8);
    c.run(30); // proposals, votes, checkpoints
    c.up[0] = false;
    c.submit(4);
    c.run(100);          // replica 0 down: view changes, probes
    c.stores[0].clear(); // amnesia: the data directory is gone
    c.boot(0, true);
    c.run(100); // replica 0 back without its records: status requests and reports
    c.deaf[3] = true;
    c.submit(8);
    c.run(30);
    c.deaf[3] = false;
    c.submit(4);
    c.run(100); // replica 3 missed blocks or batches: fetches
    std::set<frame_role> roles;
    for (auto t : c.sent_types) {
      CAPTURE(t);
      CHECK(p.frame_name(t).has_value());
      roles.insert(p.role_of(t));
    }
    // The run exercised the engine: proposals, votes and view changes were sent.
    CHECK(roles.count(frame_role::proposal) == 1);
    CHECK(roles.count(frame_role::vote) == 1);
    CHECK(roles.count(frame_role::view_change) == 1);
    // The run is deterministic and sends every type the engine has: a named type that no
    // engine sends any more shows here too.
    CHECK(c.sent_types.size() == p.frames.size());
  }
}
