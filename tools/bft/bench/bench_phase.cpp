#include "tools/bft/bench/bench.hpp"

// The load of `bft bench` (a CAF actor over client actors, open or closed loop) and
// one measured phase: warm-up, window, progress lines, figures.
namespace bft::bench_cmd {

// ---- the load -----------------------------------------------------------------------------

/// One finished request.
struct sample {
  double done_s = 0; ///< seconds since the phase started
  double e2e_ms = 0;
  double commit_ms = 0;
  std::uint32_t txs = 0;
  bool ok = false;
};

/// What the load actor records, read by the main thread. Thread-safe.
struct load_sink {
  std::mutex mtx;
  std::vector<sample> samples;
  std::uint64_t submitted_txs = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t shed_txs = 0; ///< open loop: not offered because every client queue was full
  std::string last_error;
};

struct bench_load_config {
  std::vector<client_actor> clients;
  load_spec load;
  std::size_t request_txs = 100;
  std::size_t tx_size = 0;
  clock_type::time_point start;
  std::shared_ptr<load_sink> sink;
};

/// State of the load actor: the open-loop token bucket, and per client how many requests wait
/// in its queue. Owned by the actor.
struct bench_load_state {
  static inline const char* name = "bft.bench.load";
  bench_load_config cfg;
  std::vector<std::size_t> queued;
  double tokens = 0;
  clock_type::time_point last_tick;
  std::uint64_t counter = 0;
  std::string value;
};

using bench_load_self = caf::stateful_actor<bench_load_state>*;

constexpr std::size_t max_queued_per_client = 8;
constexpr auto pace = std::chrono::milliseconds(2);

void submit(bench_load_self self, std::size_t c);

void on_receipt(bench_load_self self, std::size_t c, clock_type::time_point sent, std::size_t n,
                std::optional<final_receipt> r, std::string err) {
  auto& st = self->state;
  auto now = clock_type::now();
  sample s;
  s.done_s = std::chrono::duration<double>(now - st.cfg.start).count();
  s.e2e_ms = std::chrono::duration<double, std::milli>(now - sent).count();
  s.txs = static_cast<std::uint32_t>(n);
  s.ok = r && r->ok;
  if (s.ok) s.commit_ms = static_cast<double>(r->reply.commit_us) / 1000.0;
  {
    std::lock_guard<std::mutex> g(st.cfg.sink->mtx);
    st.cfg.sink->samples.push_back(s);
    --st.cfg.sink->in_flight;
    if (!s.ok) st.cfg.sink->last_error = r ? r->error : err;
  }
  --st.queued[c];
  if (st.cfg.load.rate <= 0) submit(self, c); // closed loop: the next request at once
}

void submit(bench_load_self self, std::size_t c) {
  auto& st = self->state;
  tx_list l;
  l.txs.reserve(st.cfg.request_txs);
  for (std::size_t i = 0; i < st.cfg.request_txs; ++i) {
    std::string key = "k" + std::to_string(c) + "-" + std::to_string(st.counter++ % 64);
    l.txs.push_back(smr::kv_tx::put(std::move(key), st.value).encode());
  }
  auto n = l.txs.size();
  {
    std::lock_guard<std::mutex> g(st.cfg.sink->mtx);
    st.cfg.sink->submitted_txs += n;
    ++st.cfg.sink->in_flight;
  }
  ++st.queued[c];
  auto sent = clock_type::now();
  self->request(st.cfg.clients[c], caf::infinite, submit_atom::value, std::move(l))
      .then([self, c, sent, n](final_receipt& r) { on_receipt(self, c, sent, n, r, {}); },
            [self, c, sent, n](caf::error& e) {
              on_receipt(self, c, sent, n, std::nullopt, self->system().render(e));
            });
}

caf::behavior bench_load_fn(bench_load_self self, bench_load_config cfg) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.queued.assign(st.cfg.clients.size(), 0);
  st.value.assign(st.cfg.tx_size, 'v');
  st.last_tick = clock_type::now();
  if (st.cfg.load.rate <= 0) {
    for (std::size_t c = 0; c < st.cfg.clients.size(); ++c) submit(self, c);
    return {[](tick_atom) {}};
  }
  self->send(self, tick_atom::value);
  return {
      [self](tick_atom) {
        auto& s = self->state;
        self->delayed_send(self, pace, tick_atom::value);
        auto now = clock_type::now();
        auto dt = std::chrono::duration<double>(now - s.last_tick).count();
        s.last_tick = now;
        auto need = static_cast<double>(s.cfg.request_txs);
        s.tokens = std::min(s.tokens + s.cfg.load.rate * dt, s.cfg.load.rate * 0.1 + need);
        while (s.tokens >= need) {
          s.tokens -= need;
          auto it = std::min_element(s.queued.begin(), s.queued.end());
          if (*it >= max_queued_per_client) {
            std::lock_guard<std::mutex> g(s.cfg.sink->mtx);
            s.cfg.sink->shed_txs += s.cfg.request_txs;
            continue;
          }
          submit(self, static_cast<std::size_t>(it - s.queued.begin()));
        }
      },
  };
}

// ---- one measured phase -------------------------------------------------------------------

const char* phase_name(double t, double warmup) { return t < warmup ? "warmup " : "measure"; }

phase_result run_phase(bench_cluster& cl, const bench_cli& o, const std::string& protocol,
                       const load_spec& load, double duration, double warmup) {
  auto& sys = cl.system();
  auto vs = config::make_validator_set(cl.genesis);
  if (!vs) throw cli::command_error{"bench genesis: " + vs.error().message(), 1};
  // Clients: closed loop, one request in flight per client; open loop, enough clients that
  // the offered rate does not wait for a free client (each queues at most a few requests).
  std::size_t clients = 0;
  if (load.rate > 0)
    clients = std::clamp<std::size_t>(
        static_cast<std::size_t>(load.rate / static_cast<double>(o.request_txs) * 0.05) + 4, 4,
        256);
  else
    clients = std::max<std::size_t>(1, (load.outstanding + o.request_txs - 1) / o.request_txs);
  auto sink = std::make_shared<load_sink>();
  bench_load_config lc;
  lc.load = load;
  lc.request_txs = o.request_txs;
  lc.tx_size = o.tx_size;
  lc.sink = sink;
  auto first_seq =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (std::size_t c = 0; c < clients; ++c) {
    client_config cc;
    cc.chain_id = cl.genesis.chain_id;
    cc.validators = *vs;
    cc.replicas = cl.acceptors();
    cc.signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
    cc.timeout = std::chrono::milliseconds(10000);
    cc.first_seq = first_seq;
    lc.clients.push_back(spawn_client(sys, cc));
  }
  lc.start = clock_type::now();
  auto load_actor = sys.spawn(bench_load_fn, lc);
  auto start = lc.start;
  auto at = [&](double s) {
    return start + std::chrono::microseconds(static_cast<long long>(s * 1e6));
  };
  double cpu0 = -1, cpu1 = -1;
  auto next_progress = at(1);
  std::size_t seen = 0;
  double last_t = 0;
  std::uint64_t last_txs = 0;
  while (!g_stop.load()) {
    auto now = clock_type::now();
    if (cpu0 < 0 && now >= at(warmup)) cpu0 = cl.cpu_seconds();
    if (now >= at(warmup + duration)) {
      cpu1 = cl.cpu_seconds();
      break;
    }
    if (now >= next_progress) {
      next_progress += std::chrono::seconds(1);
      std::vector<double> lat;
      std::uint64_t txs = 0, failed = 0;
      {
        std::lock_guard<std::mutex> g(sink->mtx);
        for (; seen < sink->samples.size(); ++seen) {
          const auto& s = sink->samples[seen];
          if (s.ok) {
            lat.push_back(s.e2e_ms);
            txs += s.txs;
          } else {
            ++failed;
          }
        }
      }
      double t = std::chrono::duration<double>(now - start).count();
      last_txs = txs;
      std::fprintf(stderr, "\r[%s %s %5.1fs] %8.0f tx/s  p50 %7.1f ms  failed %llu          ",
                   protocol.c_str(), phase_name(t, warmup), t,
                   static_cast<double>(last_txs) / std::max(1e-3, t - last_t),
                   percentile_of(lat, 0.5), static_cast<unsigned long long>(failed));
      std::fflush(stderr);
      last_t = t;
    }
    std::this_thread::sleep_until(
        std::min(next_progress, cpu0 < 0 ? at(warmup) : at(warmup + duration)));
  }
  std::fprintf(stderr, "\n");
  if (cpu1 < 0) cpu1 = cl.cpu_seconds();
  if (cpu0 < 0) cpu0 = cpu1;
  caf::anon_send_exit(load_actor, caf::exit_reason::user_shutdown);
  for (auto& c : lc.clients) caf::anon_send_exit(c, caf::exit_reason::user_shutdown);

  phase_result r;
  r.protocol = protocol;
  r.load = load;
  r.window_s = duration;
  std::vector<double> e2e, commit;
  {
    std::lock_guard<std::mutex> g(sink->mtx);
    r.submitted_txs = sink->submitted_txs;
    r.last_error = sink->last_error;
    for (const auto& s : sink->samples) {
      if (s.done_s < warmup || s.done_s > warmup + duration) continue;
      if (!s.ok) {
        ++r.failed_requests;
        continue;
      }
      r.committed_txs += s.txs;
      e2e.push_back(s.e2e_ms);
      commit.push_back(s.commit_ms);
    }
  }
  r.throughput = static_cast<double>(r.committed_txs) / duration;
  r.mean = e2e.empty()
               ? 0
               : std::accumulate(e2e.begin(), e2e.end(), 0.0) / static_cast<double>(e2e.size());
  r.p50 = percentile_of(e2e, 0.5);
  r.p99 = percentile_of(e2e, 0.99);
  r.consensus_p50 = percentile_of(commit, 0.5);
  r.cpu_s = cpu1 - cpu0;
  r.cpu_us_per_tx = r.committed_txs > 0 ? r.cpu_s * 1e6 / static_cast<double>(r.committed_txs) : 0;
  r.peak_rss_kib = cl.peak_rss_kib();
  return r;
}

} // namespace bft::bench_cmd
