#include <nlohmann/json.hpp>

#include "tools/bft/bench/bench.hpp"

// What `bft bench` writes: the JSON document, the table, the --check-json checker and
// the gnuplot script of a sweep.
namespace bft::bench_cmd {

// ---- output -------------------------------------------------------------------------------

using json = nlohmann::ordered_json; // fields in the order the document lists them

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

namespace {

/// A measured figure as the JSON carries it: rounded to 6 significant digits (as the table and
/// the sweep's data file), 0 when not finite.
json figure(double v) { return std::strtod(num(v).c_str(), nullptr); }

json run_json(const phase_result& r) {
  json rss = json::array();
  for (auto k : r.peak_rss_kib) rss.push_back(k);
  return json{
      {"protocol", r.protocol},
      {"loop", r.load.rate > 0 ? "open" : "closed"},
      {"offered_tx_per_s", figure(r.load.rate)},
      {"outstanding_txs", r.load.outstanding},
      {"window_s", figure(r.window_s)},
      {"committed_txs", r.committed_txs},
      {"throughput_tx_per_s", figure(r.throughput)},
      {"latency_ms", {{"p50", figure(r.p50)}, {"p99", figure(r.p99)}, {"mean", figure(r.mean)}}},
      {"consensus_latency_ms", {{"p50", figure(r.consensus_p50)}}},
      {"failed_requests", r.failed_requests},
      {"cpu_seconds", figure(r.cpu_s)},
      {"cpu_us_per_committed_tx", figure(r.cpu_us_per_tx)},
      {"peak_rss_kib", rss},
      {"last_error", r.last_error},
  };
}

} // namespace

// The document (README "Benchmarks"): tool, kind ("run" or "sweep"), machine, workload, the
// scopes of the memory and CPU figures, and one object per measured run.
std::string document_json(const bench_cli& o, const machine_info& m,
                          const std::vector<phase_result>& runs, const std::string& kind) {
  bool procs = o.mode == "processes";
  json runs_json = json::array();
  for (const auto& r : runs) runs_json.push_back(run_json(r));
  json doc{
      {"tool", "bft bench"},
      {"kind", kind},
      {"machine",
       {{"cpu_model", m.cpu_model},
        {"cores", m.cores},
        {"load_before", {figure(m.load[0]), figure(m.load[1]), figure(m.load[2])}}}},
      {"workload",
       {{"mode", o.mode},
        {"replicas", o.replicas},
        {"faults", o.faults},
        {"tx_size", o.tx_size},
        {"block_size_txs", o.block_size},
        {"request_txs", o.request_txs},
        {"batch_delay_ms", figure(o.batch_delay_ms)},
        {"tick_ms", o.tick_ms},
        {"duration_s", figure(o.duration)},
        {"warmup_s", figure(o.warmup)},
        {"store", procs ? "rocksdb (synced) under " + o.work_dir : "memory"},
        {"signatures", "ed25519"}}},
      {"peak_rss_scope", procs ? "per replica process" : "the one process"},
      {"cpu_scope",
       procs ? "all replica processes and the load client" : "the one process (replicas and load)"},
      {"runs", std::move(runs_json)},
  };
  return doc.dump(2) + "\n";
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw cli::command_error{"bench: cannot write " + p.string(), 1};
}

void print_header() {
  std::printf("%-9s %-6s %10s %10s %9s %9s %9s %10s %9s %8s %10s\n", "protocol", "loop", "offered",
              "tx/s", "p50 ms", "p99 ms", "mean ms", "cons p50", "cpu us/tx", "failed", "rss MiB");
}

void print_row(const phase_result& r) {
  long rss = 0;
  for (auto k : r.peak_rss_kib) rss = std::max(rss, k);
  std::string offered =
      r.load.rate > 0 ? num(r.load.rate) : ("A=" + std::to_string(r.load.outstanding));
  std::printf("%-9s %-6s %10s %10.0f %9.2f %9.2f %9.2f %10.2f %9.1f %8llu %10.1f\n",
              r.protocol.c_str(), r.load.rate > 0 ? "open" : "closed", offered.c_str(),
              r.throughput, r.p50, r.p99, r.mean, r.consensus_p50, r.cpu_us_per_tx,
              static_cast<unsigned long long>(r.failed_requests), static_cast<double>(rss) / 1024);
  std::fflush(stdout);
}

// ---- --check-json ---------------------------------------------------------------------------

namespace {

/// Every number stored under a "committed_txs" key, at any depth.
void collect_committed(const nlohmann::json& j, std::vector<double>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (k == "committed_txs" && v.is_number()) out.push_back(v.get<double>());
      collect_committed(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collect_committed(v, out);
  }
}

} // namespace

int check_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cli::command_error{path + ": cannot read"};
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    std::fprintf(stderr, "bft bench: %s: invalid JSON near byte %zu\n", path.c_str(), e.byte);
    return 1;
  }
  std::vector<double> committed;
  collect_committed(doc, committed);
  if (committed.empty()) {
    std::fprintf(stderr, "bft bench: %s: no run with committed_txs\n", path.c_str());
    return 1;
  }
  for (double v : committed)
    if (!(v > 0)) {
      std::fprintf(stderr, "bft bench: %s: a run committed no transaction\n", path.c_str());
      return 1;
    }
  std::printf("%s: valid JSON, %zu runs, each committed transactions\n", path.c_str(),
              committed.size());
  return 0;
}

/// The gnuplot script of a sweep: p50 latency against throughput, one line per protocol.
std::string gnuplot_script(const std::vector<std::string>& protocols, const fs::path& data,
                           const fs::path& png, const fs::path& svg, const bench_cli& o) {
  std::string title = "bft bench --sweep: n=" + std::to_string(o.replicas) + ", " + o.mode + ", " +
                      std::to_string(o.tx_size) + "-byte tx, block " +
                      std::to_string(o.block_size) + " tx";
  std::string plot = "plot ";
  for (std::size_t i = 0; i < protocols.size(); ++i)
    plot += (i ? ", " : "") + std::string("'") + data.string() + "' index " + std::to_string(i) +
            " using 1:2 with linespoints lw 2 pt 7 title '" + protocols[i] + " p50'";
  std::string s;
  s += "# Written by bft bench --sweep. Columns of the data file: throughput (tx/s), p50 (ms),\n";
  s += "# p99 (ms), offered (tx/s); one block per protocol.\n";
  s += "set title '" + title + "'\n";
  s += "set xlabel 'throughput (committed tx/s)'\nset ylabel 'end-to-end latency p50 (ms)'\n";
  s += "set grid\nset key top left\nset yrange [0:*]\nset xrange [0:*]\n";
  s += "set terminal pngcairo size 900,600\nset output '" + png.string() + "'\n" + plot + "\n";
  s += "set terminal svg size 900,600\nset output '" + svg.string() + "'\n" + plot + "\n";
  return s;
}

} // namespace bft::bench_cmd
