// Helper process for the kill -9 test: opens the store in argv[1] and, from the stored
// committed height on, forever writes a safety record, then commits the next entry with its
// state changes, printing each acknowledged height on stdout. The test kills it mid-stream.
#include <cstdio>
#include <string>

#include "actors/rocksdb_storage.hpp"

namespace {
bft::bytes b(const std::string& s) { return bft::bytes(s.begin(), s.end()); }
std::string cat(const char* prefix, std::uint64_t n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
}
} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_writer DIR\n");
    return 2;
  }
  auto st = bft::actors::rocksdb_storage::open(argv[1]);
  if (!st) {
    std::fprintf(stderr, "crash_writer: %s\n", st.error().message().c_str());
    return 1;
  }
  auto& db = *st.value();
  auto point = db.committed();
  if (!point) return 1;
  for (std::uint64_t h = point->height + 1;; ++h) {
    // The safety record of step h is durable before the commit of h, as a vote precedes it.
    if (!db.write({{"view", b(std::to_string(h)), false}})) return 1;
    bft::actors::commit_record c;
    c.height = h;
    c.entry = bft::bytes(1000, static_cast<std::uint8_t>(h));
    c.state_root.fill(static_cast<std::uint8_t>(h));
    c.state_ops.push_back({cat("k", h), bft::bytes(300, static_cast<std::uint8_t>(h)), false});
    c.state_ops.push_back({"count", b(std::to_string(h)), false});
    if (!db.commit(c)) return 1;
    std::printf("%llu\n", static_cast<unsigned long long>(h));
    std::fflush(stdout);
  }
}
