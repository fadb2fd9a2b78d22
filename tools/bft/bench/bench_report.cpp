#include "tools/bft/bench/bench.hpp"

// What `bft bench` writes: the JSON document, the table, the --check-json checker and
// the gnuplot script of a sweep.
namespace bft::bench_cmd {

// ---- output -------------------------------------------------------------------------------

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string run_json(const phase_result& r, const std::string& indent) {
  std::string s = indent + "{\n";
  auto field = [&](const std::string& k, const std::string& v, bool last = false) {
    s += indent + "  " + json_str(k) + ": " + v + (last ? "\n" : ",\n");
  };
  field("protocol", json_str(r.protocol));
  field("loop", json_str(r.load.rate > 0 ? "open" : "closed"));
  field("offered_tx_per_s", num(r.load.rate));
  field("outstanding_txs", num(static_cast<double>(r.load.outstanding)));
  field("window_s", num(r.window_s));
  field("committed_txs", num(static_cast<double>(r.committed_txs)));
  field("throughput_tx_per_s", num(r.throughput));
  field("latency_ms", "{\"p50\": " + num(r.p50) + ", \"p99\": " + num(r.p99) +
                          ", \"mean\": " + num(r.mean) + "}");
  field("consensus_latency_ms", "{\"p50\": " + num(r.consensus_p50) + "}");
  field("failed_requests", num(static_cast<double>(r.failed_requests)));
  field("cpu_seconds", num(r.cpu_s));
  field("cpu_us_per_committed_tx", num(r.cpu_us_per_tx));
  std::string rss = "[";
  for (std::size_t i = 0; i < r.peak_rss_kib.size(); ++i)
    rss += (i ? ", " : "") + num(static_cast<double>(r.peak_rss_kib[i]));
  field("peak_rss_kib", rss + "]");
  field("last_error", json_str(r.last_error), true);
  return s + indent + "}";
}

std::string document_json(const bench_cli& o, const machine_info& m,
                          const std::vector<phase_result>& runs, const std::string& kind) {
  std::string s = "{\n";
  s += "  \"tool\": \"bft bench\",\n";
  s += "  \"kind\": " + json_str(kind) + ",\n";
  s += "  \"machine\": {\"cpu_model\": " + json_str(m.cpu_model) + ", \"cores\": " + num(m.cores) +
       ", \"load_before\": [" + num(m.load[0]) + ", " + num(m.load[1]) + ", " + num(m.load[2]) +
       "]},\n";
  s += "  \"workload\": {\"mode\": " + json_str(o.mode) +
       ", \"replicas\": " + num(static_cast<double>(o.replicas)) +
       ", \"faults\": " + json_str(o.faults) +
       ", \"tx_size\": " + num(static_cast<double>(o.tx_size)) +
       ", \"block_size_txs\": " + num(static_cast<double>(o.block_size)) +
       ", \"request_txs\": " + num(static_cast<double>(o.request_txs)) +
       ", \"batch_delay_ms\": " + num(o.batch_delay_ms) +
       ", \"tick_ms\": " + num(static_cast<double>(o.tick_ms)) +
       ", \"duration_s\": " + num(o.duration) + ", \"warmup_s\": " + num(o.warmup) +
       ", \"store\": " +
       json_str(o.mode == "processes" ? "rocksdb (synced) under " + o.work_dir : "memory") +
       ", \"signatures\": \"ed25519\"},\n";
  s += "  \"peak_rss_scope\": " +
       json_str(o.mode == "processes" ? "per replica process" : "the one process") + ",\n";
  s += "  \"cpu_scope\": " +
       json_str(o.mode == "processes" ? "all replica processes and the load client"
                                      : "the one process (replicas and load)") +
       ",\n";
  s += "  \"runs\": [\n";
  for (std::size_t i = 0; i < runs.size(); ++i)
    s += run_json(runs[i], "    ") + (i + 1 < runs.size() ? ",\n" : "\n");
  s += "  ]\n}\n";
  return s;
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

// ---- a minimal JSON checker (--check-json) -------------------------------------------------

/// Recursive-descent JSON validator; records every "committed_txs" number it meets.
class json_checker {
public:
  explicit json_checker(std::string_view s) : s_(s) {}
  bool check() {
    ws();
    if (!value(0)) return false;
    ws();
    return i_ == s_.size();
  }
  std::vector<double> committed;
  std::size_t pos() const { return i_; }

private:
  std::string_view s_;
  std::size_t i_ = 0;
  std::string last_key_;
  void ws() {
    while (i_ < s_.size() && std::strchr(" \t\r\n", s_[i_]) != nullptr) ++i_;
  }
  bool lit(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool str(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (static_cast<unsigned char>(s_[i_]) < 0x20) return false;
      if (s_[i_] == '\\') {
        ++i_;
        if (i_ >= s_.size() || std::strchr("\"\\/bfnrtu", s_[i_]) == nullptr) return false;
      }
      if (out) out->push_back(s_[i_]);
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    ++i_;
    return true;
  }
  bool number(double& v) {
    auto b = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
    while (i_ < s_.size() && std::strchr("0123456789.eE+-", s_[i_]) != nullptr) ++i_;
    std::string t(s_.substr(b, i_ - b));
    char* end = nullptr;
    v = std::strtod(t.c_str(), &end);
    return end == t.c_str() + t.size();
  }
  bool value(int depth) {
    if (depth > 64 || i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      for (;;) {
        ws();
        std::string key;
        if (!str(&key)) return false;
        ws();
        if (i_ >= s_.size() || s_[i_] != ':') return false;
        ++i_;
        ws();
        last_key_ = key;
        if (!value(depth + 1)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    if (c == '[') {
      ++i_;
      ws();
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      for (;;) {
        ws();
        last_key_.clear();
        if (!value(depth + 1)) return false;
        ws();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '"') return str(nullptr);
    if (lit("true") || lit("false") || lit("null")) return true;
    double v = 0;
    if (!number(v)) return false;
    if (last_key_ == "committed_txs") committed.push_back(v);
    return true;
  }
};

int check_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw cli::command_error{path + ": cannot read"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json_checker c(text);
  if (!c.check()) {
    std::fprintf(stderr, "bft bench: %s: invalid JSON near byte %zu\n", path.c_str(), c.pos());
    return 1;
  }
  if (c.committed.empty()) {
    std::fprintf(stderr, "bft bench: %s: no run with committed_txs\n", path.c_str());
    return 1;
  }
  for (double v : c.committed)
    if (!(v > 0)) {
      std::fprintf(stderr, "bft bench: %s: a run committed no transaction\n", path.c_str());
      return 1;
    }
  std::printf("%s: valid JSON, %zu runs, each committed transactions\n", path.c_str(),
              c.committed.size());
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
