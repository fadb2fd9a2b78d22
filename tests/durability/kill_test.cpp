// A process writing to the store is killed with SIGKILL at arbitrary moments; each reopen
// finds every acknowledged commit, and entry, state and committed height agree exactly.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "actors/rocksdb_storage.hpp"
#include "tests/durability/temp_dir.hpp"

namespace {

using bft::actors::rocksdb_storage;

std::string key_of(std::uint64_t h) {
  std::string s = "k";
  s += std::to_string(h);
  return s;
}

/// Starts the writer on `dir`, reads acknowledged heights until one reaches `until`, then
/// kills it with SIGKILL while it keeps writing. Returns the last acknowledged height.
std::uint64_t run_and_kill(const std::filesystem::path& dir, std::uint64_t until) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(BFT_CRASH_WRITER, BFT_CRASH_WRITER, dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  FILE* in = ::fdopen(fds[0], "r");
  REQUIRE(in != nullptr);
  std::uint64_t last = 0;
  unsigned long long h = 0;
  while (last < until && std::fscanf(in, "%llu", &h) == 1) last = h;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::fclose(in);
  CHECK_MESSAGE(last >= until, "the writer stopped before height " << until);
  CHECK(WIFSIGNALED(status));
  return last;
}

} // namespace

TEST_CASE("a store killed with SIGKILL mid-write reopens with state and height in agreement") {
  bft::durability::test::temp_dir dir;
  std::uint64_t acked = 0;
  for (int round = 1; round <= 5; ++round) {
    CAPTURE(round);
    acked = run_and_kill(dir.path(), acked + 20);
    auto st = rocksdb_storage::open(dir.path());
    REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message()));
    auto& db = *st.value();
    auto point = db.committed();
    REQUIRE(point);
    const auto h = point->height;
    CHECK(h >= acked); // every acknowledged commit survived
    CHECK(point->state_root[0] == static_cast<std::uint8_t>(h));
    // The entry at h is there and none after it.
    auto e = db.entry(h);
    REQUIRE(e);
    REQUIRE(e->has_value());
    CHECK(**e == bft::bytes(1000, static_cast<std::uint8_t>(h)));
    CHECK_FALSE(db.entry(h + 1)->has_value());
    // The state holds exactly the changes of commits 1..h.
    auto s = db.state();
    REQUIRE(s);
    CHECK(s->size() == h + 1);
    auto count = s->at("count");
    CHECK(std::string(count.begin(), count.end()) == std::to_string(h));
    CHECK(s->count(key_of(h)) == 1);
    CHECK(s->count(key_of(h + 1)) == 0);
    // The safety record of step h (or of h + 1, written before its commit) is there.
    auto view = db.load().at("view");
    auto v = std::stoull(std::string(view.begin(), view.end()));
    CHECK((v == h || v == h + 1));
    acked = h;
  }
}
