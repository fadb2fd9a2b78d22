// The KV application made durable through the RocksDB store: entries, snapshots and roots
// committed together, and a fresh state machine rebuilt from them after a restart.
#include <doctest/doctest.h>

#include "actors/rocksdb_storage.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "tests/durability/temp_dir.hpp"

namespace {

using namespace bft;
using actors::rocksdb_storage;
using durability::test::temp_dir;

std::string name(const char* prefix, std::uint64_t i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

committed_entry make_entry(std::uint64_t index) {
  client_request r;
  r.client[0] = 7;
  r.client_seq = index;
  r.txs.push_back(smr::kv_tx::put(name("key-", index % 6), name("value-", index)).encode());
  if (index % 4 == 0) r.txs.push_back(smr::kv_tx::del(name("key-", (index + 1) % 6)).encode());
  r.sig[0] = static_cast<std::uint8_t>(index);
  committed_entry e{index, digest{}, {r}};
  e.id[0] = static_cast<std::uint8_t>(index);
  return e;
}

std::unique_ptr<rocksdb_storage> open_ok(const std::filesystem::path& dir) {
  auto st = rocksdb_storage::open(dir);
  REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message()));
  return std::move(st).value();
}

/// Applies entries from..to to `kv` and persists each through `store`.
void run(rocksdb_storage& store, smr::kv_state_machine& kv, std::uint64_t from, std::uint64_t to,
         std::uint64_t interval) {
  for (auto i = from; i <= to; ++i) {
    auto e = make_entry(i);
    (void)kv.apply(e);
    auto r = actors::persist_applied(store, kv, e, interval);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  }
}

} // namespace

TEST_CASE("a committed entry round-trips through its stored encoding") {
  auto e = make_entry(12);
  auto b = actors::encode_entry(e);
  auto d = actors::decode_entry(b);
  REQUIRE(d);
  CHECK(d->index == 12);
  CHECK(d->id == e.id);
  CHECK(d->requests == e.requests);
  for (std::size_t cut = 0; cut < b.size(); ++cut)
    CHECK_FALSE(actors::decode_entry(byte_view(b).first(cut)));
  b.push_back(0);
  CHECK_FALSE(actors::decode_entry(b));
}

TEST_CASE("a KV state rebuilt from the store after a restart equals the state before it") {
  temp_dir dir;
  smr::kv_state_machine before;
  {
    auto store = open_ok(dir.path());
    run(*store, before, 1, 25, 10);
    // Entries up to the previous snapshot (10) are pruned once the snapshot at 20 is stored.
    CHECK_FALSE(store->entry(10)->has_value());
    CHECK(store->entry(11)->has_value());
    CHECK(store->entry(25)->has_value());
  }
  auto store = open_ok(dir.path());
  smr::kv_state_machine after;
  auto r = actors::recover_kv(*store, after);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error().message()));
  CHECK(after.applied_index() == 25);
  CHECK(after.state_root() == before.state_root());
  CHECK(store->committed()->state_root == before.state_root());
  for (std::uint64_t k = 0; k < 6; ++k)
    CHECK(after.read(name("key-", k)) == before.read(name("key-", k)));
  // The rebuilt state machine continues where the old one stopped.
  run(*store, after, 26, 31, 10);
  for (std::uint64_t i = 26; i <= 31; ++i) (void)before.apply(make_entry(i));
  CHECK(after.state_root() == before.state_root());
  CHECK(store->committed()->height == 31);
}

TEST_CASE("recovery before the first snapshot replays every committed entry") {
  temp_dir dir;
  smr::kv_state_machine before;
  {
    auto store = open_ok(dir.path());
    run(*store, before, 1, 7, 100);
  }
  auto store = open_ok(dir.path());
  CHECK(store->state()->empty()); // no snapshot yet: the state is rebuilt from entries alone
  smr::kv_state_machine after;
  REQUIRE(actors::recover_kv(*store, after));
  CHECK(after.applied_index() == 7);
  CHECK(after.state_root() == before.state_root());
}

TEST_CASE("recovery refuses a store whose entries do not give the stored root") {
  temp_dir dir;
  {
    auto store = open_ok(dir.path());
    smr::kv_state_machine kv;
    run(*store, kv, 1, 3, 100);
    actors::commit_record c;
    c.height = 4;
    c.entry = actors::encode_entry(make_entry(4));
    c.state_root.fill(0xee); // not the root that entry 4 gives
    REQUIRE(store->commit(c));
  }
  auto store = open_ok(dir.path());
  smr::kv_state_machine kv;
  auto r = actors::recover_kv(*store, kv);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("differs from the stored root") != std::string::npos);
}

TEST_CASE("recovery names a committed entry that is missing") {
  temp_dir dir;
  {
    auto store = open_ok(dir.path());
    smr::kv_state_machine kv;
    run(*store, kv, 1, 5, 100);
    REQUIRE(store->prune_below(3)); // pruned below any snapshot: entries 1 and 2 are gone
  }
  auto store = open_ok(dir.path());
  smr::kv_state_machine kv;
  auto r = actors::recover_kv(*store, kv);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("committed entry 1 is missing") != std::string::npos);
}
