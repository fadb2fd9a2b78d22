// The built-in load: clients submit KV puts through coroutines, paced to a rate.
#include <chrono>

#include <caf/all.hpp>

#include "actors/coro.hpp"
#include "actors/spawn.hpp"
#include "protocols/smr/kv_tx.hpp"

namespace bft::actors {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr auto pace = std::chrono::milliseconds(20);

/// State of the load actor: token bucket, which clients are busy, and the coroutine scope
/// (declared last, so waiting coroutines are destroyed before the rest of the state).
struct load_state {
  static inline const char* name = "bft.load";
  load_config cfg;
  std::vector<bool> busy;
  double tokens = 0;
  std::uint64_t counter = 0;
  std::uint64_t started_txs = 0;
  coro_scope scope;
};

using load_self = caf::stateful_actor<load_state>*;

tx_list make_txs(load_state& st, std::size_t client) {
  tx_list l;
  for (std::size_t i = 0; i < st.cfg.txs_per_request; ++i) {
    std::string key = "c";
    key += std::to_string(client);
    key += "-";
    key += std::to_string(st.counter++ % 1000);
    l.txs.push_back(smr::kv_tx::put(std::move(key), std::string(st.cfg.tx_size, 'v')).encode());
  }
  return l;
}

task submit_once(coro_scope&, load_self self, std::size_t client) {
  auto& st = self->state;
  st.busy[client] = true;
  auto txs = make_txs(st, client);
  auto n = txs.txs.size();
  st.started_txs += n;
  {
    std::lock_guard<std::mutex> g(st.cfg.stats->mtx);
    st.cfg.stats->submitted_txs += n;
  }
  auto gateway = client_ref<caf::event_based_actor>{self, st.cfg.clients[client]};
  auto start = clock_type::now();
  auto receipt = co_await gateway.submit(std::move(txs));
  // Resumed inside a handler of this actor: state may have changed meanwhile.
  auto ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
  auto& stats = *self->state.cfg.stats;
  {
    std::lock_guard<std::mutex> g(stats.mtx);
    if (receipt && receipt->ok) {
      stats.committed_txs += n;
      stats.window_ms.push_back(ms);
      stats.all_ms.push_back(ms);
    } else {
      ++stats.failed_requests;
      stats.last_error = receipt ? receipt->error : self->system().render(receipt.error());
    }
  }
  self->state.busy[client] = false;
}

void launch(load_self self) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.busy.size(); ++i) {
    if (st.busy[i]) continue;
    if (st.cfg.max_txs > 0 && st.started_txs >= st.cfg.max_txs) return;
    auto need = static_cast<double>(st.cfg.txs_per_request);
    if (st.cfg.tx_rate > 0 && st.tokens < need) return;
    if (st.cfg.tx_rate > 0) st.tokens -= need;
    submit_once(st.scope, self, i);
  }
}

caf::behavior load_fn(load_self self, load_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.busy.assign(self->state.cfg.clients.size(), false);
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& st = self->state;
        self->delayed_send(self, pace, tick_atom::value);
        if (st.cfg.tx_rate > 0) {
          double burst = st.cfg.tx_rate * 0.2 + static_cast<double>(st.cfg.txs_per_request);
          st.tokens = std::min(burst, st.tokens + st.cfg.tx_rate * 0.02);
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
