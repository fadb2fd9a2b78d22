// Unit tests of the RocksDB store: round trips across reopen, erase, the atomic commit of
// entry + height + state, open and write failures, refusal after a failure, pruning.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <csignal>
#include <fstream>

#include "actors/rocksdb_storage.hpp"
#include "tests/durability/temp_dir.hpp"

namespace {

using bft::bytes;
using bft::persist_op;
using bft::actors::commit_record;
using bft::actors::committed_point;
using bft::actors::rocksdb_storage;
using bft::durability::test::temp_dir;

bytes b(const std::string& s) { return bytes(s.begin(), s.end()); }

/// prefix + decimal number (appending avoids a GCC 12 -Wrestrict false positive).
std::string cat(const char* prefix, std::uint64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}

std::unique_ptr<rocksdb_storage> open_ok(const std::filesystem::path& dir) {
  auto st = rocksdb_storage::open(dir);
  REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message()));
  return std::move(st).value();
}

bft::digest root_of(std::uint64_t h) {
  bft::digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(h * 31 + i);
  return d;
}

commit_record make_commit(std::uint64_t h) {
  commit_record c;
  c.height = h;
  c.entry = b(cat("entry-", h));
  c.state_root = root_of(h);
  c.state_ops.push_back(persist_op{cat("k", h), b(cat("v", h)), false});
  c.state_ops.push_back(persist_op{"last", b(std::to_string(h)), false});
  if (h > 1) c.state_ops.push_back(persist_op{cat("k", h - 1), {}, true});
  return c;
}

/// Lowers the file size limit of this process so the next large write fails with EFBIG (an
/// I/O error from the kernel, as a full disk gives ENOSPC); restores it on destruction.
class file_size_limit {
public:
  explicit file_size_limit(rlim_t limit) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
    rlimit lim = old_;
    lim.rlim_cur = limit;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lim) == 0);
  }
  ~file_size_limit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

rlim_t largest_file(const std::filesystem::path& dir) {
  std::uintmax_t m = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) m = std::max(m, e.file_size());
  return static_cast<rlim_t>(m);
}

} // namespace

TEST_CASE("safety records written to the store come back after reopen") {
  temp_dir dir;
  {
    auto st = open_ok(dir.path());
    CHECK(st->load().empty());
    REQUIRE(st->write({{"pbft/view", b("\x01\x02"), false}, {"pbft/log/1", b("abc"), false}}));
    REQUIRE(st->write({{"pbft/log/2", bytes(200, 0x5a), false}}));
    CHECK(st->load().size() == 3);
  }
  auto st = open_ok(dir.path());
  auto rec = st->load();
  REQUIRE(rec.size() == 3);
  CHECK(rec.at("pbft/view") == b("\x01\x02"));
  CHECK(rec.at("pbft/log/1") == b("abc"));
  CHECK(rec.at("pbft/log/2") == bytes(200, 0x5a));
}

TEST_CASE("an erase op deletes a safety record durably") {
  temp_dir dir;
  {
    auto st = open_ok(dir.path());
    REQUIRE(st->write({{"a", b("1"), false}, {"b", b("2"), false}}));
    REQUIRE(st->write({{"a", {}, true}, {"c", b("3"), false}}));
    CHECK(st->load().count("a") == 0);
  }
  auto rec = open_ok(dir.path())->load();
  CHECK(rec.count("a") == 0);
  CHECK(rec.at("b") == b("2"));
  CHECK(rec.at("c") == b("3"));
}

TEST_CASE("the last of many writes wins after reopen") {
  temp_dir dir;
  {
    auto st = open_ok(dir.path());
    for (int i = 0; i < 500; ++i)
      REQUIRE(st->write(
          {{"hs/safety", b(cat("record-", static_cast<std::uint64_t>(i))), false},
           {cat("log/", static_cast<std::uint64_t>(i % 7)), b(std::to_string(i)), false}}));
  }
  auto rec = open_ok(dir.path())->load();
  CHECK(rec.size() == 8);
  CHECK(rec.at("hs/safety") == b("record-499"));
  CHECK(rec.at("log/1") == b("498"));
}

TEST_CASE("a commit stores entry, state and committed height together across reopen") {
  temp_dir dir;
  {
    auto st = open_ok(dir.path());
    auto p = st->committed();
    REQUIRE(p);
    CHECK(*p == committed_point{});
    for (std::uint64_t h = 1; h <= 300; ++h) REQUIRE(st->commit(make_commit(h)));
  }
  auto st = open_ok(dir.path());
  auto p = st->committed();
  REQUIRE(p);
  CHECK(p->height == 300);
  CHECK(p->state_root == root_of(300));
  auto e = st->entry(300);
  REQUIRE(e);
  REQUIRE(e->has_value());
  CHECK(**e == b("entry-300"));
  auto s = st->state();
  REQUIRE(s);
  // Each commit deleted the previous "k" key: exactly k300 and "last" remain.
  CHECK(s->size() == 2);
  CHECK(s->at("k300") == b("v300"));
  CHECK(s->at("last") == b("300"));
}

TEST_CASE("a commit that does not advance the height is refused and changes nothing") {
  temp_dir dir;
  auto st = open_ok(dir.path());
  REQUIRE(st->commit(make_commit(5)));
  auto again = st->commit(make_commit(5));
  REQUIRE_FALSE(again);
  CHECK(again.error().message().find("not above the committed height 5") != std::string::npos);
  auto lower = st->commit(make_commit(3));
  REQUIRE_FALSE(lower);
  CHECK(st->committed()->height == 5);
  CHECK(st->state()->count("k3") == 0);
  CHECK_FALSE(st->failed()); // a refused argument is not a storage failure
  CHECK(st->commit(make_commit(6)));
}

TEST_CASE("opening a store where a file is in the way gives a clear error") {
  temp_dir dir;
  auto file = dir / "not-a-dir";
  std::ofstream(file) << "x";
  SUBCASE("the data directory is a file") {
    auto st = rocksdb_storage::open(file);
    REQUIRE_FALSE(st);
    CHECK(st.error() == bft::errc::io_error);
    CHECK(st.error().message().find(file.string()) != std::string::npos);
  }
  SUBCASE("the data directory's parent is a file") {
    auto st = rocksdb_storage::open(file / "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().message().find("cannot create data directory") != std::string::npos);
  }
}

TEST_CASE("a second store on the same directory is refused while the first is open") {
  temp_dir dir;
  auto first = open_ok(dir.path());
  auto second = rocksdb_storage::open(dir.path());
  REQUIRE_FALSE(second);
  CHECK(second.error().message().find("cannot open RocksDB store in " + dir.path().string()) !=
        std::string::npos);
}

TEST_CASE("a failed synced write is reported, and the store refuses every later write") {
  temp_dir dir;
  bytes big(4 << 20, 0x42);
  {
    auto st = open_ok(dir.path());
    REQUIRE(st->write({{"view", b("1"), false}}));
    REQUIRE(st->commit(make_commit(1)));
    {
      file_size_limit lim(largest_file(dir.path()) + 4096);
      auto r = st->write({{"view", b("2"), false}, {"big", big, false}});
      REQUIRE_FALSE(r);
      CHECK(r.error() == bft::errc::io_error);
      CHECK(r.error().message().find("synced write of safety records failed") != std::string::npos);
    }
    CHECK(st->failed());
    CHECK_FALSE(st->failure().empty());
    // The disk is fine again, but the store stays failed: the replica must not vote on.
    auto later = st->write({{"view", b("3"), false}});
    REQUIRE_FALSE(later);
    CHECK(later.error().message().find("refuses writes after a failed write") != std::string::npos);
    CHECK_FALSE(st->commit(make_commit(2)));
    CHECK_FALSE(st->prune_below(2));
    // The failed batch never reached the cache that load() returns.
    CHECK(st->load().at("view") == b("1"));
  }
  // After a restart the records written before the failure are intact; the failed batch is
  // either wholly there or wholly absent.
  auto st = open_ok(dir.path());
  auto rec = st->load();
  if (rec.count("big")) {
    CHECK(rec.at("big") == big);
    CHECK(rec.at("view") == b("2"));
  } else {
    CHECK(rec.at("view") == b("1"));
  }
  CHECK(st->committed()->height == 1);
  CHECK_FALSE(st->failed());
}

TEST_CASE("pruning deletes the committed entries below a height and nothing else") {
  temp_dir dir;
  {
    auto st = open_ok(dir.path());
    for (std::uint64_t h = 1; h <= 300; ++h) REQUIRE(st->commit(make_commit(h)));
    auto n = st->prune_below(257);
    REQUIRE(n);
    CHECK(*n == 256);
    CHECK_FALSE(st->entry(1)->has_value());
    CHECK_FALSE(st->entry(256)->has_value());
    CHECK(st->entry(257)->has_value());
    auto again = st->prune_below(257);
    REQUIRE(again);
    CHECK(*again == 0);
  }
  auto st = open_ok(dir.path());
  CHECK_FALSE(st->entry(100)->has_value());
  CHECK(**st->entry(257) == b("entry-257"));
  CHECK(**st->entry(300) == b("entry-300"));
  CHECK(st->committed()->height == 300); // the committed point is untouched
  CHECK(st->state()->at("k300") == b("v300"));
}

TEST_CASE("installing a snapshot replaces the whole state and the committed point") {
  temp_dir dir;
  {
    auto st = open_ok(dir.path());
    for (std::uint64_t h = 1; h <= 3; ++h) REQUIRE(st->commit(make_commit(h)));
    std::map<std::string, bytes> snap{{"x", b("1")}, {"last", b("snap")}};
    REQUIRE(st->install(committed_point{100, root_of(100)}, snap));
  }
  auto st = open_ok(dir.path());
  CHECK(*st->committed() == committed_point{100, root_of(100)});
  auto s = st->state();
  REQUIRE(s);
  CHECK(*s == std::map<std::string, bytes>{{"last", b("snap")}, {"x", b("1")}});
  CHECK_FALSE(st->commit(make_commit(50)));
  CHECK(st->commit(make_commit(101)));
}
