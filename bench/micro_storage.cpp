// The RocksDB store (actors/rocksdb_storage.hpp): the cost of one synced safety-record write
// (about 200 bytes, what a HotStuff vote or a PBFT prepare persists) and of one synced commit
// (entry + state changes + committed height). Every write is timed on its own; the counters
// p50_us and p99_us are the median and 99th percentile over all writes of the run.
// The database lives in a fresh directory under $BFT_BENCH_DIR (default: the temp
// directory); it must be on a real disk, since fsync on tmpfs costs nothing.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/rocksdb_storage.hpp"

namespace {

using namespace bft;
using clock_type = std::chrono::steady_clock;

/// A database in a fresh directory, deleted afterwards.
class bench_db {
public:
  bench_db() {
    const char* base = std::getenv("BFT_BENCH_DIR");
    std::string tmpl =
        (std::filesystem::path(base ? base : std::filesystem::temp_directory_path()) /
         "bft-bench-storage-XXXXXX")
            .string();
    if (::mkdtemp(tmpl.data()) == nullptr) return;
    dir_ = tmpl;
    auto st = actors::rocksdb_storage::open(dir_);
    if (st)
      db_ = std::move(st).value();
    else
      error_ = st.error().message();
  }
  ~bench_db() {
    db_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  bench_db(const bench_db&) = delete;
  bench_db& operator=(const bench_db&) = delete;
  actors::rocksdb_storage* get() { return db_.get(); }
  [[nodiscard]] const std::string& error() const { return error_; }

private:
  std::filesystem::path dir_;
  std::unique_ptr<actors::rocksdb_storage> db_;
  std::string error_ = "cannot create a temp directory";
};

void report_percentiles(benchmark::State& st, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    auto i = static_cast<std::size_t>(q * static_cast<double>(us.size() - 1));
    return us[i];
  };
  st.counters["p50_us"] = at(0.50);
  st.counters["p99_us"] = at(0.99);
  st.counters["max_us"] = us.back();
}

void bm_safety_write_synced(benchmark::State& st) {
  bench_db db;
  if (!db.get()) {
    st.SkipWithError(db.error().c_str());
    return;
  }
  std::vector<persist_op> ops{persist_op{"hotstuff/safety", bytes(200, 0x5a), false}};
  std::vector<double> us;
  std::uint64_t n = 0;
  for (auto _ : st) {
    ops[0].value[n % 200] = static_cast<std::uint8_t>(n);
    ++n;
    auto t0 = clock_type::now();
    auto r = db.get()->write(ops);
    auto t1 = clock_type::now();
    if (!r) {
      st.SkipWithError(r.error().message().c_str());
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  report_percentiles(st, us);
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * 200);
}
BENCHMARK(bm_safety_write_synced)->UseRealTime()->Unit(benchmark::kMicrosecond);

void bm_commit_synced(benchmark::State& st) {
  bench_db db;
  if (!db.get()) {
    st.SkipWithError(db.error().c_str());
    return;
  }
  // A committed block of 400 requests' digests (~16 KiB) and 400 state puts of 64 bytes.
  actors::commit_record c;
  c.entry = bytes(16 << 10, 0x11);
  for (int i = 0; i < 400; ++i) {
    std::string key = "key-";
    key += std::to_string(i);
    c.state_ops.push_back(persist_op{key, bytes(64, 0x22), false});
  }
  std::vector<double> us;
  for (auto _ : st) {
    ++c.height;
    c.state_root[0] = static_cast<std::uint8_t>(c.height);
    auto t0 = clock_type::now();
    auto r = db.get()->commit(c);
    auto t1 = clock_type::now();
    if (!r) {
      st.SkipWithError(r.error().message().c_str());
      break;
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  report_percentiles(st, us);
}
BENCHMARK(bm_commit_synced)->UseRealTime()->Unit(benchmark::kMicrosecond);

} // namespace
