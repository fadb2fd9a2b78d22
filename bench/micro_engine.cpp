// Engine throughput without the runtime: 4 engines of one protocol driven directly (as the
// simulator does: one thread, a FIFO of frames, instant persistence, the fake signer), fed
// with signed client requests. Reports committed transactions per second of wall time, and
// engine steps per second. What is left is the engines' own cost: decode, verify (fake),
// certificates, batching, bookkeeping.
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <vector>

#include "crypto/fake_signer.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/hotstuff/factory.hpp"
#include "protocols/pbft/factory.hpp"

namespace {

using namespace bft;

/// A 4-replica in-memory cluster of engines. Owned by one benchmark; single-threaded.
class engine_cluster {
public:
  engine_cluster(bool hotstuff, std::size_t batch_requests) {
    std::vector<public_key> keys;
    for (std::size_t i = 0; i < n; ++i) keys.push_back(crypto::fake_public_key(i + 1));
    auto vs = validator_set::equal_weights(keys);
    for (std::size_t i = 0; i < n; ++i) {
      signers_.push_back(std::make_unique<crypto::fake_signer>(i + 1));
      engine_config c;
      c.chain_id = "bench";
      c.self = replica_id{static_cast<std::uint32_t>(i)};
      c.validators = vs;
      c.batch_size = batch_requests;
      c.batch_delay_ticks = 1;
      c.base_timeout_ticks = 1000;
      c.checkpoint_interval = 100;
      engines_.push_back(hotstuff ? hotstuff::make_engine(c, *signers_[i], verifier_, {})
                                  : pbft::make_engine(c, *signers_[i], verifier_, {}));
    }
  }

  /// Hands one signed request of `txs` transactions of `tx_size` bytes to every engine.
  void submit(std::size_t txs, std::size_t tx_size) {
    client_request r;
    r.client = client_.key();
    r.client_seq = ++seq_;
    r.txs.assign(txs, bytes(tx_size, 0x5a));
    r.sig =
        client_.sign(codec::signing_bytes(client_request::sign_tag, "bench", epoch{0}, r.body()));
    submitted_txs_ += txs;
    for (std::size_t i = 0; i < n; ++i)
      step(i, ev::client_requests{std::vector<client_request>{r}});
  }

  /// Delivers queued frames until none is left, ticking every engine when the queue drains.
  void run(std::size_t max_steps) {
    for (std::size_t k = 0; k < max_steps; ++k) {
      if (queue_.empty()) {
        for (std::size_t i = 0; i < n; ++i) step(i, ev::tick{});
        if (queue_.empty()) return;
        continue;
      }
      auto m = std::move(queue_.front());
      queue_.pop_front();
      step(m.to, ev::received{replica_id{static_cast<std::uint32_t>(m.from)}, std::move(m.frame)});
    }
  }

  [[nodiscard]] std::uint64_t committed_txs() const { return committed_txs_; }
  [[nodiscard]] std::uint64_t submitted_txs() const { return submitted_txs_; }
  [[nodiscard]] std::uint64_t steps() const { return steps_; }

  static constexpr std::size_t n = 4;

private:
  struct in_flight {
    std::size_t from = 0, to = 0;
    bytes frame;
  };

  void step(std::size_t i, const event& e) {
    ++steps_;
    auto r = engines_[i]->step(e);
    for (auto& m : r.messages) {
      if (m.to) {
        queue_.push_back({i, m.to->value(), std::move(m.frame)});
        continue;
      }
      for (std::size_t j = 0; j < n; ++j)
        if (j != i) queue_.push_back({i, j, m.frame});
    }
    for (const auto& c : r.committed) {
      if (i == 0)
        for (const auto& q : c.requests) committed_txs_ += q.txs.size();
      digest root{};
      root[0] = static_cast<std::uint8_t>(c.index);
      root[1] = static_cast<std::uint8_t>(c.index >> 8);
      pending_exec_.push_back({i, ev::executed{c.index, root}});
    }
    while (!pending_exec_.empty()) {
      auto [who, ex] = pending_exec_.front();
      pending_exec_.pop_front();
      step(who, ex);
    }
  }

  crypto::fake_verifier verifier_;
  crypto::fake_signer client_{1000};
  std::vector<std::unique_ptr<crypto::fake_signer>> signers_;
  std::vector<std::unique_ptr<engine>> engines_;
  std::deque<in_flight> queue_;
  std::deque<std::pair<std::size_t, ev::executed>> pending_exec_;
  std::uint64_t seq_ = 0;
  std::uint64_t committed_txs_ = 0;
  std::uint64_t submitted_txs_ = 0;
  std::uint64_t steps_ = 0;
};

/// range(0): transactions per request; range(1): transaction bytes. Blocks of 4 requests;
/// the load keeps 8 requests in flight.
void run_engines(benchmark::State& st, bool hotstuff) {
  const auto txs = static_cast<std::size_t>(st.range(0));
  const auto size = static_cast<std::size_t>(st.range(1));
  engine_cluster c(hotstuff, 4);
  std::uint64_t committed0 = 0, steps0 = 0;
  for (auto _ : st) {
    while (c.submitted_txs() - c.committed_txs() < 8 * txs) c.submit(txs, size);
    c.run(64);
  }
  st.counters["committed_tx_per_s"] = benchmark::Counter(
      static_cast<double>(c.committed_txs() - committed0), benchmark::Counter::kIsRate);
  st.counters["steps_per_s"] =
      benchmark::Counter(static_cast<double>(c.steps() - steps0), benchmark::Counter::kIsRate);
}

void bm_engine_pbft(benchmark::State& st) { run_engines(st, false); }
void bm_engine_hotstuff(benchmark::State& st) { run_engines(st, true); }
BENCHMARK(bm_engine_pbft)->Args({100, 0})->Args({100, 512})->UseRealTime();
BENCHMARK(bm_engine_hotstuff)->Args({100, 0})->Args({100, 512})->UseRealTime();

} // namespace
