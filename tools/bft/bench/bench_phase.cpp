#include "tools/bft/bench/bench.hpp"

// One measured phase of `bft bench`: the load (actors/load.cpp over client actors, open or
// closed loop), warm-up, window, progress lines, figures.
namespace bft::bench_cmd {

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
  auto sink = std::make_shared<load_stats>();
  load_config lc;
  lc.tx_rate = load.rate;
  lc.txs_per_request = o.request_txs;
  lc.tx_size = o.tx_size;
  lc.stats = sink;
  // The bench's load: keys k<client>-<0..63>; open loop paced every 2 ms by the time that
  // passed, each client queueing up to 8 requests and the offer shed when all are full;
  // closed loop, each client's next request leaves with its receipt.
  lc.key_prefix = "k";
  lc.key_space = 64;
  lc.pace = std::chrono::milliseconds(2);
  lc.burst_s = 0.1;
  lc.refill_by_elapsed = true;
  lc.max_queued_per_client = load.rate > 0 ? 8 : 1;
  lc.shed_when_full = true;
  lc.resubmit_at_once = true;
  lc.keep_samples = true;
  auto first_seq =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  for (std::size_t c = 0; c < clients; ++c) {
    client_config cc;
    cc.chain_id = cl.genesis.chain_id;
    cc.validators = *vs;
    cc.signer = std::make_shared<crypto::ed25519_signer>(crypto::generate_key_pair());
    cc.replicas = cl.connect_client(cc.signer);
    cc.timeout = std::chrono::milliseconds(10000);
    cc.first_seq = first_seq;
    lc.clients.push_back(spawn_client(sys, cc));
  }
  lc.start = clock_type::now();
  auto load_actor = spawn_load(sys, lc);
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
  cl.release_clients();

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
