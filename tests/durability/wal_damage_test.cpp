// A4: the store's write-ahead log cut at every byte offset of its last record, or with a
// flipped byte, reopens to a consistent prefix of whole batches: never a torn batch and never a
// corrupt record.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>

#include "actors/rocksdb_storage.hpp"
#include "tests/durability/temp_dir.hpp"

namespace {

using namespace bft;
using actors::rocksdb_storage;
using durability::test::temp_dir;

constexpr int batches = 30;

std::string key_of(int i) {
  std::string s = "r";
  s += std::to_string(i);
  return s;
}
bytes value_of(int i) { return bytes(100, static_cast<std::uint8_t>(i * 7 + 1)); }
bytes number(int i) {
  bytes out;
  for (char c : std::to_string(i)) out.push_back(static_cast<std::uint8_t>(c));
  return out;
}

std::filesystem::path wal_of(const std::filesystem::path& dir) {
  static const std::regex wal_name("[0-9]+\\.log");
  std::filesystem::path found;
  std::uintmax_t best = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (std::regex_match(e.path().filename().string(), wal_name) && e.file_size() >= best) {
      best = e.file_size();
      found = e.path();
    }
  return found;
}

/// Reopens `dir` and checks the records are batches 0..k for some k (or none); returns k.
int check_prefix(const std::filesystem::path& dir) {
  auto st = rocksdb_storage::open(dir);
  REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message()));
  auto rec = st.value()->load();
  if (rec.empty()) return -1;
  REQUIRE(rec.count("last") == 1);
  const auto& l = rec.at("last");
  const int k = std::stoi(std::string(l.begin(), l.end()));
  CHECK(rec.size() == static_cast<std::size_t>(k) + 2);
  for (int i = 0; i <= k; ++i) {
    REQUIRE(rec.count(key_of(i)) == 1);
    CHECK(rec.at(key_of(i)) == value_of(i));
  }
  return k;
}

} // namespace

TEST_CASE("a write-ahead log cut at any byte of its last record reopens to whole batches") {
  temp_dir dir;
  auto db_dir = dir / "db";
  {
    auto st = rocksdb_storage::open(db_dir);
    REQUIRE(st);
    for (int i = 0; i < batches; ++i)
      REQUIRE(st.value()->write({{key_of(i), value_of(i), false}, {"last", number(i), false}}));
  }
  auto wal = wal_of(db_dir);
  REQUIRE_FALSE(wal.empty());
  const auto size = std::filesystem::file_size(wal);
  REQUIRE(size > 400);

  // Cut at every byte of the last batch and a few bytes into the one before it. The original
  // is never reopened (that would replay and replace its log); each cut works on a copy.
  const auto span = size / batches + 16;
  int previous = batches - 1;
  for (auto cut = size; cut + span >= size && cut > 0; --cut) {
    CAPTURE(cut);
    auto copy = dir / "copy";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(db_dir, copy, std::filesystem::copy_options::recursive);
    std::filesystem::resize_file(copy / wal.filename(), cut);
    const int k = check_prefix(copy);
    if (cut == size) CHECK(k == batches - 1);
    CHECK(k <= previous); // a shorter log never gives more batches
    CHECK(k >= batches - 3);
    previous = k;
  }
  CHECK(previous < batches - 1); // the cuts did remove whole batches
}

TEST_CASE("a flipped byte in the write-ahead log never yields a corrupt record") {
  temp_dir dir;
  auto db_dir = dir / "db";
  {
    auto st = rocksdb_storage::open(db_dir);
    REQUIRE(st);
    for (int i = 0; i < batches; ++i)
      REQUIRE(st.value()->write({{key_of(i), value_of(i), false}, {"last", number(i), false}}));
  }
  auto wal = wal_of(db_dir);
  const auto size = std::filesystem::file_size(wal);
  for (std::uintmax_t off = size - 1; off + 200 >= size; off -= 13) {
    CAPTURE(off);
    auto copy = dir / "copy";
    std::filesystem::remove_all(copy);
    std::filesystem::copy(db_dir, copy, std::filesystem::copy_options::recursive);
    {
      std::fstream f(copy / wal.filename(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(off));
      char c = 0;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(off));
      f.put(static_cast<char>(c ^ 0x5a));
    }
    // Either the store refuses to open with an error, or it gives whole, correct batches.
    auto st = rocksdb_storage::open(copy);
    if (!st) {
      CHECK(st.error() == errc::io_error);
      continue;
    }
    st.value().reset();
    check_prefix(copy);
  }
}
