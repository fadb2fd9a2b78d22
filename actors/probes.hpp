#pragma once
/// Metric probes (design section 9): every `bft_*` metric of the actor layer is created and
/// updated here, never in engines. One `metrics` per process owns the prometheus-cpp registry
/// (and the /metrics endpoint when one is asked for); each actor holds a small probe with
/// pointers to its own time series. prometheus-cpp metrics are atomic, so probes may be used
/// from any actor; `metrics` itself is thread-safe.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "protocols/common/ids.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
class Exposer;
template <class T>
class Family;
} // namespace prometheus

namespace bft::actors {

/// The readable name of a frame's envelope type: the engine's name (protocols/registry.hpp:
/// "pre_prepare", "vote", ...), the actor layer's own ("hello", "client_call", "sync_chunk",
/// ...), else the type in hex ("0x7f01"). For log lines and the metrics' `type` label.
[[nodiscard]] std::string frame_type_label(std::uint16_t type);

/// The process's metric registry and families. Create one per process.
class metrics {
public:
  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Serves /metrics on `host:port`; throws std::runtime_error if it cannot bind.
  void serve(const std::string& address);
  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  /// Text exposition of every metric (what /metrics returns); for tests and the summary.
  [[nodiscard]] std::string scrape() const;

  // Families (owned by the registry).
  prometheus::Family<prometheus::Counter>* committed_blocks;
  prometheus::Family<prometheus::Counter>* committed_txs;
  prometheus::Family<prometheus::Gauge>* view;
  prometheus::Family<prometheus::Gauge>* height;
  prometheus::Family<prometheus::Counter>* view_changes;
  prometheus::Family<prometheus::Counter>* messages_received;
  prometheus::Family<prometheus::Counter>* messages_sent;
  prometheus::Family<prometheus::Counter>* signature_failures;
  prometheus::Family<prometheus::Counter>* rejected;
  prometheus::Family<prometheus::Counter>* evidence;
  prometheus::Family<prometheus::Gauge>* mempool_size;
  prometheus::Family<prometheus::Histogram>* commit_latency;
  prometheus::Family<prometheus::Gauge>* link_state;
  prometheus::Family<prometheus::Counter>* link_dropped;
  prometheus::Family<prometheus::Gauge>* link_queued_bytes;
  prometheus::Family<prometheus::Counter>* frames_dropped;
  prometheus::Family<prometheus::Counter>* link_rejections;
  prometheus::Family<prometheus::Counter>* link_anomalies;
  prometheus::Family<prometheus::Gauge>* link_pending;
  prometheus::Family<prometheus::Gauge>* link_sessions;
  prometheus::Family<prometheus::Gauge>* validators_active;
  prometheus::Family<prometheus::Gauge>* validators_byzantine;
  prometheus::Family<prometheus::Counter>* state_transfers;
  prometheus::Family<prometheus::Counter>* state_transfer_faults;

private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

/// A replica's engine-facing metrics. Labels: replica; messages also type (frame_type_label).
/// A peer may send frames of any type: at most `max_unknown_types` types without a name get
/// their own hex label, every further one counts under "other", so the label sets stay
/// bounded.
class replica_probe {
public:
  replica_probe(metrics& m, replica_id self);
  void on_committed(std::uint64_t blocks, std::uint64_t txs);
  void on_status(std::uint64_t view, std::uint64_t height);
  void on_received(std::uint16_t type);
  void on_sent(std::uint16_t type, std::uint64_t copies);
  /// A rejection reported by the engine; signature failures are counted apart.
  void on_rejected(bool signature_failure);
  void on_evidence();
  static constexpr std::size_t max_unknown_types = 8;

private:
  prometheus::Counter* message_counter(prometheus::Family<prometheus::Counter>& family,
                                       std::map<std::uint16_t, prometheus::Counter*>& cache,
                                       prometheus::Counter*& other, std::uint16_t type);

  metrics* m_;
  std::string self_;
  prometheus::Counter* blocks_;
  prometheus::Counter* txs_;
  prometheus::Gauge* view_;
  prometheus::Gauge* height_;
  prometheus::Counter* view_changes_;
  prometheus::Counter* sig_failures_;
  prometheus::Counter* rejected_;
  prometheus::Counter* evidence_;
  std::map<std::uint16_t, prometheus::Counter*> received_;
  std::map<std::uint16_t, prometheus::Counter*> sent_;
  prometheus::Counter* other_received_ = nullptr;
  prometheus::Counter* other_sent_ = nullptr;
  std::set<std::uint16_t> unknown_types_; ///< the unnamed types that have a hex label
  std::uint64_t last_view_ = 0;
};

/// The acceptor's drop counters. Labels: replica, reason (unauthenticated, oversized,
/// wrong_sender, bad_hello).
class acceptor_probe {
public:
  acceptor_probe(metrics& m, replica_id self);
  void on_dropped(const std::string& reason);
  [[nodiscard]] std::uint64_t dropped(const std::string& reason) const;

private:
  metrics* m_;
  std::string self_;
  std::map<std::string, prometheus::Counter*> dropped_;
};

/// One link's state and queue. Labels: replica, peer.
class link_probe {
public:
  enum class state { down = 0, connecting = 1, handshaking = 2, up = 3 };
  link_probe(metrics& m, replica_id self, replica_id peer);
  void on_state(state s);
  void on_dropped(const std::string& reason);
  void on_queued_bytes(std::uint64_t b);

private:
  metrics* m_;
  std::string self_, peer_;
  prometheus::Gauge* state_;
  prometheus::Gauge* queued_;
  std::map<std::string, prometheus::Counter*> dropped_;
};

/// The secure transport's refusals (`bft_link_rejections_total{replica,reason}`), link-check
/// anomalies per peer (`bft_link_anomalies_total{replica,peer,kind}`), connections awaiting
/// their handshake and authenticated sessions. Thread-safe (prometheus counters are atomic; the
/// label maps are filled once, at construction). Labels are bounded: reasons and kinds are
/// fixed lists, peers are validator ids (clients are counted under `peer="client"`).
class secure_probe {
public:
  secure_probe(metrics& m, replica_id self, const std::vector<std::string>& reasons);
  void on_rejected(const std::string& reason);
  void on_anomaly(const std::string& peer, const std::string& kind);
  void on_pending(std::size_t n);
  void on_sessions(std::size_t n);
  [[nodiscard]] std::uint64_t rejected(const std::string& reason) const;

private:
  metrics* m_;
  std::string self_;
  std::map<std::string, prometheus::Counter*> rejected_;
  std::mutex mtx_; ///< guards `anomalies_` (sessions of one node report from several actors)
  std::map<std::string, prometheus::Counter*> anomalies_;
  prometheus::Gauge* pending_;
  prometheus::Gauge* sessions_;
};

/// The client gateway's mempool and commit latency. Labels: replica.
class gateway_probe {
public:
  gateway_probe(metrics& m, replica_id self);
  void on_mempool(std::size_t n);
  void on_commit_latency(double seconds);

private:
  prometheus::Gauge* mempool_;
  prometheus::Histogram* latency_;
};

/// Catch-up by snapshot (actors/catchup.hpp): snapshots installed, and peers that served
/// something wrong or nothing. Labels: replica; faults also peer and reason (wrong_root,
/// malformed, bad_chunk, bad_snapshot, timeout, unavailable).
class catchup_probe {
public:
  catchup_probe(metrics& m, replica_id self);
  void on_installed();
  void on_fault(replica_id peer, const std::string& reason);
  [[nodiscard]] std::uint64_t faults(replica_id peer, const std::string& reason) const;

private:
  metrics* m_;
  std::string self_;
  prometheus::Counter* installed_;
  std::map<std::pair<std::uint32_t, std::string>, prometheus::Counter*> faults_;
};

/// The validator monitor's health gauges. Labels: replica.
class monitor_probe {
public:
  monitor_probe(metrics& m, replica_id self);
  void on_health(std::uint32_t active, std::uint32_t byzantine);

private:
  prometheus::Gauge* active_;
  prometheus::Gauge* byzantine_;
};

} // namespace bft::actors
