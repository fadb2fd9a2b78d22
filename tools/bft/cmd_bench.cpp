// bft bench [--protocol NAME[,NAME...]] [--mode in-process|processes]
//           [--rate R | --outstanding A] [--tx-size B] [--block-size b] [--batch-delay ms]
//           [--duration s] [--warmup s] [--faults none|crash-one|k] [--json FILE] [--sweep]
//           [--check-json FILE]
//
// The cluster benchmark of ../shared/benchmarks.md. One process (`in-process`: n replicas in
// one actor system, local links) or n `bft node` processes on 127.0.0.1 that this command
// spawns from a generated testnet in a temporary directory and kills by pid at the end
// (`processes`: every frame goes through CAF's middleman). The load is a set of client actors
// (the same client as `bft client`) in this process: open loop (`--rate`, requests paced and
// queued whatever the latency) or closed loop (`--outstanding`, a fixed number of transactions
// in flight). Figures cover only the window after the warm-up.
#include "tools/bft/bench/bench.hpp"
#include "tools/bft/command.hpp"

namespace bft::bench_cmd {
namespace {

void on_bench_signal(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL); // a second Ctrl-C ends at once
}

// ---- the command --------------------------------------------------------------------------

std::size_t parse_faults(const std::string& f, std::size_t n) {
  std::size_t k = 0;
  if (f == "none") {
    k = 0;
  } else if (f == "crash-one") {
    k = 1;
  } else {
    try {
      std::size_t used = 0;
      k = std::stoul(f, &used);
      if (used != f.size()) throw std::invalid_argument(f);
    } catch (const std::exception&) {
      throw cli::command_error{"--faults: \"" + f + "\" is not none, crash-one or a count"};
    }
  }
  if (k > (n - 1) / 3)
    throw cli::command_error{"--faults: " + std::to_string(k) + " stopped replicas exceed f = " +
                             std::to_string((n - 1) / 3) + " for n = " + std::to_string(n)};
  return k;
}

std::vector<std::string> parse_protocols(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string p;
  while (std::getline(ss, p, ',')) {
    if (find_protocol(p) == nullptr)
      throw cli::command_error{"--protocol: \"" + p + "\" is not one of " + protocol_names_text()};
    out.push_back(p);
  }
  if (out.empty()) throw cli::command_error{"--protocol: empty"};
  return out;
}

void settle(double seconds) {
  auto end = clock_type::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  while (!g_stop.load() && clock_type::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

int run_sweep(const bench_cli& o, const std::vector<std::string>& protocols, std::size_t faults,
              const machine_info& m) {
  std::vector<phase_result> all;
  std::vector<std::vector<phase_result>> per_protocol;
  print_header();
  for (const auto& protocol : protocols) {
    if (g_stop.load()) break;
    auto cl = make_cluster(o, protocol, faults);
    std::vector<phase_result> points;
    // The unloaded point: one request in flight.
    auto base = run_phase(*cl, o, protocol, load_spec{0, o.request_txs}, o.duration, o.warmup);
    print_row(base);
    all.push_back(base);
    points.push_back(base);
    double rate = o.sweep_start > 0 ? o.sweep_start : std::max(1000.0, base.throughput / 2);
    double best = 0; // best open-loop throughput so far
    double base_p50 = std::max(base.p50, 0.5);
    for (std::size_t step = 0; step < o.sweep_steps && !g_stop.load(); ++step) {
      settle(1);
      auto r = run_phase(*cl, o, protocol, load_spec{rate, 0}, o.duration, o.warmup);
      print_row(r);
      all.push_back(r);
      points.push_back(r);
      // Latency bends: p50 over 4x the unloaded one, or throughput stops following the offer.
      bool bent =
          r.p50 > 4 * base_p50 + 10 || r.throughput < 0.85 * rate || r.throughput < 1.02 * best;
      best = std::max(best, r.throughput);
      if (bent) break;
      rate *= 1.5;
    }
    per_protocol.push_back(points);
    cl->stop();
  }
  fs::path json = o.json.empty() ? fs::path("bench-sweep.json") : fs::path(o.json);
  fs::path stem = o.plot.empty() ? json.parent_path() / json.stem() : fs::path(o.plot);
  fs::path data = stem.string() + ".dat", gp = stem.string() + ".gp", png = stem.string() + ".png",
           svg = stem.string() + ".svg";
  write_file(json, document_json(o, m, all, "sweep"));
  std::string dat;
  for (std::size_t i = 0; i < per_protocol.size(); ++i) {
    dat += "# " + protocols[i] + ": throughput_tx_per_s p50_ms p99_ms offered_tx_per_s\n";
    for (const auto& r : per_protocol[i])
      if (r.load.rate > 0) // the closed-loop unloaded point stays in the JSON only
        dat +=
            num(r.throughput) + " " + num(r.p50) + " " + num(r.p99) + " " + num(r.load.rate) + "\n";
    dat += "\n\n";
  }
  write_file(data, dat);
  write_file(
      gp, gnuplot_script(std::vector<std::string>(
                             protocols.begin(),
                             protocols.begin() + static_cast<std::ptrdiff_t>(per_protocol.size())),
                         data, png, svg, o));
  std::printf("wrote %s, %s, %s\n", json.c_str(), data.c_str(), gp.c_str());
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::printf("gnuplot is not installed (Debian: apt-get install gnuplot-nox); the JSON and "
                "%s are written: run `gnuplot %s` to draw the plot\n",
                gp.c_str(), gp.c_str());
  } else {
    std::string cmd = "gnuplot '" + gp.string() + "'";
    if (std::system(cmd.c_str()) == 0)
      std::printf("plotted %s and %s\n", png.c_str(), svg.c_str());
    else
      std::printf("gnuplot failed on %s; the JSON and the script are written\n", gp.c_str());
  }
  std::uint64_t committed = 0;
  for (const auto& r : all) committed += r.committed_txs;
  return committed > 0 ? 0 : 1;
}

int run_bench(const bench_cli& o) {
  auto protocols = parse_protocols(o.protocol);
  auto faults = parse_faults(o.faults, o.replicas);
  if (o.rate > 0 && o.outstanding > 0)
    throw cli::command_error{"--rate (open loop) and --outstanding (closed loop) exclude each "
                             "other"};
  auto m = read_machine();
  std::printf("bft bench: %s, n=%zu, faults %s, %zu-byte tx, block %zu tx (%zu requests of "
              "%zu tx), batch delay %.0f ms, tick %llu ms, window %.0f s after %.0f s warm-up\n",
              o.mode.c_str(), o.replicas, o.faults.c_str(), o.tx_size, o.block_size,
              static_cast<std::size_t>(params_of(o).batch_size), o.request_txs, o.batch_delay_ms,
              static_cast<unsigned long long>(o.tick_ms), o.duration, o.warmup);
  std::printf("machine: %s, %u cores, load %.2f %.2f %.2f\n", m.cpu_model.c_str(), m.cores,
              m.load[0], m.load[1], m.load[2]);
  std::fflush(stdout);
  if (o.sweep) return run_sweep(o, protocols, faults, m);
  load_spec load;
  load.rate = o.rate;
  load.outstanding = o.rate > 0 ? 0 : (o.outstanding > 0 ? o.outstanding : 4 * o.block_size);
  std::vector<phase_result> runs;
  print_header();
  for (const auto& protocol : protocols) {
    if (g_stop.load()) break;
    auto cl = make_cluster(o, protocol, faults);
    auto r = run_phase(*cl, o, protocol, load, o.duration, o.warmup);
    cl->stop();
    print_row(r);
    if (r.failed_requests > 0 && !r.last_error.empty())
      std::printf("  last failure: %s\n", r.last_error.c_str());
    runs.push_back(std::move(r));
  }
  if (!o.json.empty()) {
    write_file(o.json, document_json(o, m, runs, "run"));
    std::printf("wrote %s\n", o.json.c_str());
  }
  bool all_committed = !runs.empty() && std::all_of(runs.begin(), runs.end(), [](const auto& r) {
    return r.committed_txs > 0;
  });
  return all_committed ? 0 : 1;
}

const bft::cli::command_registrar reg("bench", [](CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand(
      "bench", "measure a cluster: throughput, latency, CPU per transaction, memory; --sweep "
               "plots throughput against latency");
  auto o = std::make_shared<bench_cli>();
  cmd->add_option("--protocol", o->protocol,
                  "one of " + protocol_names_text() + ", or several: pbft,hotstuff")
      ->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "in-process: n replicas in this process; processes: n bft node processes "
                  "on 127.0.0.1 through the middleman")
      ->check(CLI::IsMember({"in-process", "processes"}))
      ->capture_default_str();
  cmd->add_option("--replicas,-n", o->replicas, "cluster size (n = 3f + 1)")
      ->check(CLI::Range(std::size_t{4}, std::size_t{64}))
      ->capture_default_str();
  cmd->add_option("--tx-size", o->tx_size, "bytes of each transaction's payload (put value)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{65536}))
      ->capture_default_str();
  cmd->add_option("--block-size", o->block_size,
                  "maximum transactions per block or batch (rounded up to whole requests)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--request-txs", o->request_txs,
                  "transactions per signed client request (clients batch their transactions)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))
      ->capture_default_str();
  cmd->add_option("--batch-delay", o->batch_delay_ms,
                  "milliseconds a partial block may wait (rounded up to whole ticks)")
      ->check(CLI::Range(0.0, 60000.0))
      ->capture_default_str();
  cmd->add_option("--tick-ms", o->tick_ms, "length of one engine tick in milliseconds")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1000}))
      ->capture_default_str();
  cmd->add_option("--timeout-ms", o->timeout_ms, "view-change / pacemaker base timeout")
      ->check(CLI::Range(1.0, 600000.0))
      ->capture_default_str();
  cmd->add_option("--rate", o->rate, "open loop: transactions per second offered")
      ->check(CLI::Range(0.0, 1e8));
  cmd->add_option("--outstanding", o->outstanding,
                  "closed loop: transactions in flight (default 4 x block size)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000000}));
  cmd->add_option("--duration", o->duration, "seconds of the measurement window")
      ->check(CLI::Range(0.5, 86400.0))
      ->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "seconds before the window (not measured)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--faults", o->faults, "none, crash-one, or k replicas stopped for the run")
      ->capture_default_str();
  cmd->add_option("--work-dir", o->work_dir,
                  "processes: where the testnet and the nodes' RocksDB stores live (a tmpfs such "
                  "as /dev/shm takes the disk out of the figures)")
      ->check(CLI::ExistingDirectory)
      ->capture_default_str();
  cmd->add_option("--transport", o->transport,
                  "processes: how the nodes and the load connect: secure (the default of bft "
                  "node: sealed, authenticated) or basp (CAF's own, trusted networks only)")
      ->check(CLI::IsMember({"secure", "basp"}))
      ->capture_default_str();
  cmd->add_option("--json", o->json, "write the figures as JSON to FILE")->type_name("FILE");
  cmd->add_flag("--sweep", o->sweep,
                "step the offered load until latency bends; write JSON, data, a gnuplot script, "
                "PNG and SVG");
  cmd->add_option("--plot", o->plot,
                  "sweep: path stem of the .dat/.gp/.png/.svg files (default: the JSON's)")
      ->type_name("STEM");
  cmd->add_option("--sweep-steps", o->sweep_steps, "sweep: at most this many loaded steps")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}))
      ->capture_default_str();
  cmd->add_option("--sweep-start", o->sweep_start,
                  "sweep: first offered rate in tx/s (default: half the throughput of one request "
                  "in flight)")
      ->check(CLI::Range(0.0, 1e8));
  cmd->add_option("--check-json", o->check_json,
                  "only check that FILE is valid JSON whose every run committed transactions")
      ->type_name("FILE");
  cmd->callback([&status, o] {
    if (!o->check_json.empty()) {
      status = check_json_file(o->check_json);
      return;
    }
    bft::actors::set_log_level("error");
    std::signal(SIGINT, on_bench_signal);
    std::signal(SIGTERM, on_bench_signal);
    status = run_bench(*o);
    std::fflush(stdout);
    bft::actors::shutdown_deadline(status);
  });
});

} // namespace
} // namespace bft::bench_cmd
