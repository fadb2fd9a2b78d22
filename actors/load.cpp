// The load generator of `bft cluster`, `bft client load` and `bft bench`: clients submit KV
// puts through coroutines, open loop (a token bucket) or closed loop.
#include <algorithm>
#include <chrono>

#include <caf/all.hpp>

#include "actors/coro.hpp"
#include "actors/spawn.hpp"
#include "protocols/common/assert.hpp"
#include "protocols/smr/kv_tx.hpp"

namespace bft::actors {

namespace {

using clock_type = std::chrono::steady_clock;

/// State of the load actor: token bucket, the requests each client has waiting, and the
/// coroutine scope (declared last, so waiting coroutines are destroyed before the rest).
struct load_state {
  static inline const char* name = "bft.load";
  load_config cfg;
  std::vector<std::size_t> queued;
  double tokens = 0;
  clock_type::time_point last_refill;
  std::uint64_t counter = 0;
  std::uint64_t started_txs = 0;
  std::string value;
  coro_scope scope;
};

using load_self = caf::stateful_actor<load_state>*;

tx_list make_txs(load_state& st, std::size_t client) {
  tx_list l;
  l.txs.reserve(st.cfg.txs_per_request);
  for (std::size_t i = 0; i < st.cfg.txs_per_request; ++i) {
    std::string key = st.cfg.key_prefix;
    key += std::to_string(client);
    key += "-";
    key += std::to_string(st.counter++ % st.cfg.key_space);
    l.txs.push_back(smr::kv_tx::put(std::move(key), st.value).encode());
  }
  return l;
}

void launch(load_self self);

task submit_once(coro_scope&, load_self self, std::size_t client) {
  auto& st = self->state;
  ++st.queued[client];
  auto txs = make_txs(st, client);
  auto n = txs.txs.size();
  st.started_txs += n;
  {
    std::lock_guard<std::mutex> g(st.cfg.stats->mtx);
    st.cfg.stats->submitted_txs += n;
    ++st.cfg.stats->in_flight;
  }
  auto gateway = client_ref<caf::event_based_actor>{self, st.cfg.clients[client]};
  auto sent = clock_type::now();
  auto receipt = co_await gateway.submit(std::move(txs));
  // Resumed inside a handler of this actor: state may have changed meanwhile.
  auto now = clock_type::now();
  auto ms = std::chrono::duration<double, std::milli>(now - sent).count();
  bool ok = receipt && receipt->ok;
  auto& cfg = self->state.cfg;
  auto& stats = *cfg.stats;
  {
    std::lock_guard<std::mutex> g(stats.mtx);
    --stats.in_flight;
    if (ok) {
      stats.committed_txs += n;
    } else {
      ++stats.failed_requests;
      stats.last_error = receipt ? receipt->error : self->system().render(receipt.error());
    }
    if (cfg.keep_samples) {
      load_sample s;
      s.done_s = std::chrono::duration<double>(now - cfg.start).count();
      s.e2e_ms = ms;
      s.txs = static_cast<std::uint32_t>(n);
      s.ok = ok;
      if (ok) s.commit_ms = static_cast<double>(receipt->reply.commit_us) / 1000.0;
      stats.samples.push_back(s);
    } else if (ok) {
      stats.window_ms.push_back(ms);
      stats.all_ms.push_back(ms);
    }
  }
  --self->state.queued[client];
  if (cfg.tx_rate <= 0 && cfg.resubmit_at_once) launch(self);
}

/// Starts requests while the bucket (open loop) and the client queues allow.
void launch(load_self self) {
  auto& st = self->state;
  const auto need = static_cast<double>(st.cfg.txs_per_request);
  const bool open = st.cfg.tx_rate > 0;
  for (;;) {
    if (st.cfg.max_txs > 0 && st.started_txs >= st.cfg.max_txs) return;
    if (open && st.tokens < need) return;
    auto it = std::min_element(st.queued.begin(), st.queued.end());
    if (it == st.queued.end() || *it >= st.cfg.max_queued_per_client) {
      if (!open || !st.cfg.shed_when_full) return;
      st.tokens -= need;
      std::lock_guard<std::mutex> g(st.cfg.stats->mtx);
      st.cfg.stats->shed_txs += st.cfg.txs_per_request;
      continue;
    }
    if (open) st.tokens -= need;
    submit_once(st.scope, self, static_cast<std::size_t>(it - st.queued.begin()));
  }
}

caf::behavior load_fn(load_self self, load_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  BFT_ASSERT(st.cfg.stats != nullptr && st.cfg.key_space > 0 && st.cfg.max_queued_per_client > 0,
             "a load needs stats, a key space and room for a request per client");
  st.queued.assign(st.cfg.clients.size(), 0);
  st.value.assign(st.cfg.tx_size, 'v');
  st.last_refill = clock_type::now();
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& s = self->state;
        // A closed loop that resubmits on each receipt needs only the first tick.
        if (s.cfg.tx_rate > 0 || !s.cfg.resubmit_at_once)
          self->delayed_send(self, s.cfg.pace, tick_atom::value);
        if (s.cfg.tx_rate > 0) {
          auto now = clock_type::now();
          double dt = s.cfg.refill_by_elapsed
                          ? std::chrono::duration<double>(now - s.last_refill).count()
                          : std::chrono::duration<double>(s.cfg.pace).count();
          s.last_refill = now;
          double burst = s.cfg.tx_rate * s.cfg.burst_s + static_cast<double>(s.cfg.txs_per_request);
          s.tokens = std::min(burst, s.tokens + s.cfg.tx_rate * dt);
        }
        launch(self);
      },
  };
}

} // namespace

caf::actor spawn_load(caf::actor_system& sys, load_config cfg) {
  return sys.spawn(load_fn, std::move(cfg));
}

} // namespace bft::actors
