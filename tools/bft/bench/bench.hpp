#pragma once
/// Internal to `bft bench` (tools/bft/cmd_bench.cpp and tools/bft/bench/): the options, the
/// figures of a measured phase and the cluster interface the parts share.
///   bench_proc.cpp     machine and process figures (/proc, getrusage), percentiles
///   bench_cluster.cpp  the clusters: in one process, or `bft node` processes it spawns
///   bench_phase.cpp    one measured phase, its load from actors/load.cpp (spawn_load)
///   bench_report.cpp   JSON (nlohmann-json) and table output, --check-json, the gnuplot script
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "config/genesis.hpp"
#include "config/testnet.hpp"
#include "crypto/ed25519.hpp"
#include "protocols/registry.hpp"
#include "protocols/smr/kv_tx.hpp"
#include "tools/bft/command.hpp"

extern char** environ;

namespace bft::bench_cmd {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using namespace bft::actors;

/// Set by SIGINT/SIGTERM: every loop of the bench ends early and cleans up.
inline std::atomic<bool> g_stop{false};

// ---- options ------------------------------------------------------------------------------

struct bench_cli {
  std::string protocol = "hotstuff";
  std::string mode = "in-process";
  std::size_t replicas = 4;
  std::size_t tx_size = 0;
  std::size_t block_size = 400;
  std::size_t request_txs = 100;
  double batch_delay_ms = 1;
  std::uint64_t tick_ms = 1;
  double timeout_ms = 400;
  double rate = 0;
  std::size_t outstanding = 0;
  double duration = 10;
  double warmup = 2;
  std::string faults = "none";
  std::string json;
  bool sweep = false;
  std::string plot;
  std::size_t sweep_steps = 12;
  double sweep_start = 0;
  std::string check_json;
  std::string work_dir = "/tmp";
  std::string transport = "secure"; ///< processes: secure or basp
};

/// What one measured phase offers.
struct load_spec {
  double rate = 0;             ///< tx/s, open loop; 0 = closed loop
  std::size_t outstanding = 0; ///< transactions in flight, closed loop
};

/// The figures of one measured phase.
struct phase_result {
  std::string protocol;
  load_spec load;
  double window_s = 0;
  std::uint64_t committed_txs = 0;
  std::uint64_t failed_requests = 0;
  std::uint64_t submitted_txs = 0;
  double throughput = 0;
  double p50 = 0, p99 = 0, mean = 0;
  double consensus_p50 = 0;
  double cpu_s = 0;
  double cpu_us_per_tx = 0;
  std::vector<long> peak_rss_kib;
  std::string last_error;
};

// ---- machine and process figures ----------------------------------------------------------

struct machine_info {
  std::string cpu_model = "unknown";
  unsigned cores = 0;
  double load[3] = {0, 0, 0};
};

// ---- clusters -----------------------------------------------------------------------------

/// A running cluster the load talks to. Owned by the bench command; not thread-safe.
class bench_cluster {
public:
  virtual ~bench_cluster() = default;
  virtual caf::actor_system& system() = 0;
  /// The acceptors by validator order; an empty handle for a stopped replica.
  virtual const std::vector<acceptor_actor>& acceptors() const = 0;
  /// The acceptors one client with key `signer` talks to: over the secure transport each
  /// client has connections of its own (its key proved in each handshake); else `acceptors()`.
  virtual std::vector<acceptor_actor>
  connect_client(const std::shared_ptr<const crypto::signer>& /*signer*/) {
    return acceptors();
  }
  /// Closes the connections `connect_client` opened.
  virtual void release_clients() {}
  /// CPU seconds used so far by every process of the cluster and its load.
  virtual double cpu_seconds() = 0;
  /// Peak resident memory, per replica process (processes) or of the one process.
  virtual std::vector<long> peak_rss_kib() = 0;
  virtual void stop() = 0;
  config::genesis genesis;
};

// bench_proc.cpp
machine_info read_machine();
double self_cpu_seconds();
long self_peak_rss_kib();
double proc_cpu_seconds(pid_t pid);
long proc_peak_rss_kib(pid_t pid);
/// The p-quantile (0..1) of `v` (sorts it); 0 when empty.
double percentile_of(std::vector<double>& v, double p);

// bench_cluster.cpp
config::protocol_params params_of(const bench_cli& o);
std::unique_ptr<bench_cluster> make_cluster(const bench_cli& o, const std::string& protocol,
                                            std::size_t faults);

// bench_phase.cpp
phase_result run_phase(bench_cluster& cl, const bench_cli& o, const std::string& protocol,
                       const load_spec& load, double duration, double warmup);

// bench_report.cpp
/// A number as JSON (and the sweep's data file) writes it: %.6g, 0 when not finite.
std::string num(double v);
std::string document_json(const bench_cli& o, const machine_info& m,
                          const std::vector<phase_result>& runs, const std::string& kind);
void write_file(const fs::path& p, const std::string& text);
void print_header();
void print_row(const phase_result& r);
int check_json_file(const std::string& path);
std::string gnuplot_script(const std::vector<std::string>& protocols, const fs::path& data,
                           const fs::path& png, const fs::path& svg, const bench_cli& o);

} // namespace bft::bench_cmd
