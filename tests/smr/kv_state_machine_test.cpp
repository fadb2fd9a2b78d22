#include <doctest/doctest.h>

#include "protocols/smr/kv_state_machine.hpp"

using namespace bft;
using namespace bft::smr;

namespace {
// Builds prefix + decimal number (avoids a GCC 12 -Wrestrict false positive on operator+).
std::string name(const char* prefix, std::uint64_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}
} // namespace

namespace {
client_request request(std::uint8_t client, std::uint64_t seq, std::vector<kv_tx> txs) {
  client_request r;
  r.client[0] = client;
  r.client_seq = seq;
  for (const auto& t : txs) r.txs.push_back(t.encode());
  return r;
}
committed_entry entry(std::uint64_t index, std::vector<client_request> reqs) {
  return committed_entry{index, digest{}, std::move(reqs)};
}
} // namespace

TEST_CASE("a transaction round-trips through its canonical encoding") {
  for (const auto& tx : {kv_tx::put("k", "v"), kv_tx::get("k"), kv_tx::del("k"),
                         kv_tx::cas("k", std::nullopt, "v"), kv_tx::cas("k", "old", "new")}) {
    auto back = kv_tx::decode(tx.encode());
    REQUIRE(back);
    CHECK(*back == tx);
  }
  kv_result r{kv_status::cas_mismatch, "cur"};
  auto back = kv_result::decode(r.encode());
  REQUIRE(back);
  CHECK(*back == r);
}

TEST_CASE("truncated, trailing or unknown transactions are rejected") {
  auto b = kv_tx::put("key", "value").encode();
  for (std::size_t n = 0; n < b.size(); ++n) {
    CHECK_FALSE(kv_tx::decode(byte_view{b.data(), n}));
  }
  auto longer = b;
  longer.push_back(0);
  CHECK_FALSE(kv_tx::decode(longer));
  auto bad_op = b;
  bad_op[4] = 9;
  CHECK_FALSE(kv_tx::decode(bad_op));
}

TEST_CASE("put, get, delete and compare-and-set give the documented results") {
  kv_state_machine sm;
  auto out = sm.apply(
      entry(1, {request(1, 1,
                        {kv_tx::get("a"), kv_tx::put("a", "1"), kv_tx::get("a"),
                         kv_tx::cas("a", "2", "3"), kv_tx::cas("a", "1", "3"), kv_tx::del("a"),
                         kv_tx::del("a"), kv_tx::cas("a", std::nullopt, "4")})}));
  REQUIRE(out.size() == 1);
  const auto& r = out[0].results;
  REQUIRE(r.size() == 8);
  CHECK(r[0].status == kv_status::not_found);
  CHECK(r[1].status == kv_status::ok);
  CHECK(r[2] == kv_result{kv_status::ok, "1"});
  CHECK(r[3] == kv_result{kv_status::cas_mismatch, "1"});
  CHECK(r[4].status == kv_status::ok);
  CHECK(r[5].status == kv_status::ok);
  CHECK(r[6].status == kv_status::not_found);
  CHECK(r[7].status == kv_status::ok);
  CHECK(sm.read("a") == std::optional<std::string>("4"));
  CHECK(sm.applied_index() == 1);
}

TEST_CASE("a malformed transaction is reported and changes nothing") {
  kv_state_machine sm;
  auto root = sm.state_root();
  client_request r = request(1, 1, {});
  r.txs.push_back(bytes{1, 2, 3});
  auto out = sm.apply(entry(1, {r}));
  REQUIRE(out.size() == 1);
  CHECK(out[0].results.at(0).status == kv_status::malformed);
  CHECK(sm.size() == 0);
  CHECK(sm.state_root() != root); // the session advanced
}

TEST_CASE("a request is executed exactly once per client and sequence number") {
  kv_state_machine sm;
  auto first = sm.apply(entry(1, {request(1, 1, {kv_tx::put("n", "1")})}));
  auto root = sm.state_root();
  // Replayed in a later entry: a duplicate with the cached results, state unchanged.
  auto again = sm.apply(entry(2, {request(1, 1, {kv_tx::put("n", "2")})}));
  REQUIRE(again.size() == 1);
  CHECK(again[0].duplicate);
  CHECK(again[0].results == first[0].results);
  CHECK(sm.read("n") == std::optional<std::string>("1"));
  CHECK(sm.state_root() == root);
  // Another client with the same sequence number executes.
  auto other = sm.apply(entry(3, {request(2, 1, {kv_tx::put("n", "3")})}));
  CHECK_FALSE(other[0].duplicate);
  CHECK(sm.read("n") == std::optional<std::string>("3"));
  // An older sequence number of client 1 is a duplicate with no cached results.
  sm.apply(entry(4, {request(1, 5, {kv_tx::put("m", "1")})}));
  auto old = sm.apply(entry(5, {request(1, 3, {kv_tx::put("m", "2")})}));
  CHECK(old[0].duplicate);
  CHECK(old[0].results.empty());
  CHECK(sm.read("m") == std::optional<std::string>("1"));
}

TEST_CASE("an entry at or below the applied index is not applied again") {
  kv_state_machine sm;
  sm.apply(entry(3, {request(1, 1, {kv_tx::put("x", "1")})}));
  auto out = sm.apply(entry(3, {request(2, 1, {kv_tx::put("x", "2")})}));
  CHECK(out.empty());
  CHECK(sm.read("x") == std::optional<std::string>("1"));
}

TEST_CASE("two replicas that apply the same entries have the same state root") {
  kv_state_machine a, b;
  for (std::uint64_t i = 1; i <= 20; ++i) {
    auto e = entry(i, {request(static_cast<std::uint8_t>(i % 3), i,
                               {kv_tx::put(name("k", i % 7), std::to_string(i))})});
    a.apply(e);
    b.apply(e);
    CHECK(a.state_root() == b.state_root());
  }
  kv_state_machine c;
  c.apply(entry(1, {request(9, 1, {kv_tx::put("k", "v")})}));
  CHECK(c.state_root() != a.state_root());
}

TEST_CASE("the root is the same whether asked after every entry or once at the end") {
  // Overwrites, a delete, a delete of a missing key and a re-put between two roots: the
  // deferred leaf digests must follow the last write of each key.
  kv_state_machine every, once;
  digest last{};
  for (std::uint64_t i = 1; i <= 40; ++i) {
    std::vector<kv_tx> txs{kv_tx::put(name("k", i % 5), std::to_string(i))};
    if (i % 6 == 0) txs.push_back(kv_tx::del(name("k", (i + 1) % 5)));
    if (i % 9 == 0) txs.push_back(kv_tx::del("never-written"));
    if (i % 7 == 0) txs.push_back(kv_tx::put(name("k", (i + 1) % 5), "again"));
    auto e = entry(i, {request(static_cast<std::uint8_t>(i % 3), i, txs)});
    every.apply(e);
    once.apply(e);
    auto r = every.state_root();
    CHECK(r != last); // every entry changes at least the session
    last = r;
  }
  CHECK(once.state_root() == every.state_root());
  // And both equal the root of a machine rebuilt from the final state alone.
  kv_state_machine rebuilt;
  REQUIRE(rebuilt.restore(every.snapshot(), every.state_root()));
  CHECK(rebuilt.state_root() == once.state_root());
}

TEST_CASE("a snapshot restores the same state and a wrong root is refused") {
  kv_state_machine sm;
  for (std::uint64_t i = 1; i <= 30; ++i)
    sm.apply(entry(i, {request(static_cast<std::uint8_t>(i % 4), i,
                               {kv_tx::put(name("key", i), std::string(i, 'x'))})}));
  auto root = sm.state_root();
  auto snap = sm.snapshot();

  kv_state_machine restored;
  REQUIRE(restored.restore(snap, root));
  CHECK(restored.state_root() == root);
  CHECK(restored.applied_index() == 30);
  CHECK(restored.read("key12") == std::optional<std::string>(std::string(12, 'x')));
  REQUIRE(restored.session(public_key{3}) != nullptr);

  kv_state_machine other;
  auto other_root = other.state_root();
  digest wrong = root;
  wrong[0] ^= 1;
  CHECK_FALSE(other.restore(snap, wrong));
  CHECK(other.state_root() == other_root);

  auto corrupt = snap;
  corrupt[20] ^= 0x40; // inside the first key or value
  CHECK_FALSE(other.restore(corrupt, root));
  for (std::size_t n : {std::size_t{0}, std::size_t{3}, snap.size() / 2, snap.size() - 1})
    CHECK_FALSE(other.restore(byte_view{snap.data(), n}, root));
}
