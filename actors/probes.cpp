#include "actors/probes.hpp"

#include "protocols/common/assert.hpp"

#include <cstdio>
#include <sstream>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "actors/catchup.hpp"
#include "actors/wire.hpp"
#include "protocols/registry.hpp"

namespace bft::actors {

namespace {
std::string hex_type(std::uint16_t t) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", t);
  return buf;
}
} // namespace

std::string frame_type_label(std::uint16_t t) {
  if (auto name = engine_frame_name(t)) return std::string(*name);
  switch (t) {
  case hello_type: return "hello";
  case client_call_type: return "client_call";
  case client_reply_type: return "client_reply";
  case sync_request_type: return "sync_request";
  case sync_manifest_type: return "sync_manifest";
  case sync_chunk_type: return "sync_chunk";
  case sync_unavailable_type: return "sync_unavailable";
  default: return hex_type(t);
  }
}

metrics::metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  using namespace prometheus;
  committed_blocks = &BuildCounter()
                          .Name("bft_committed_blocks_total")
                          .Help("Committed entries (PBFT sequence numbers or HotStuff blocks)")
                          .Register(r);
  committed_txs = &BuildCounter()
                       .Name("bft_committed_transactions_total")
                       .Help("Committed client transactions")
                       .Register(r);
  view = &BuildGauge().Name("bft_view").Help("Current view of the replica").Register(r);
  height = &BuildGauge().Name("bft_height").Help("Highest committed index").Register(r);
  view_changes = &BuildCounter()
                      .Name("bft_view_changes_total")
                      .Help("Views entered after the first")
                      .Register(r);
  messages_received = &BuildCounter()
                           .Name("bft_messages_received_total")
                           .Help("Frames handed to the engine, by frame type name")
                           .Register(r);
  messages_sent = &BuildCounter()
                       .Name("bft_messages_sent_total")
                       .Help("Frames sent, by frame type name")
                       .Register(r);
  signature_failures = &BuildCounter()
                            .Name("bft_signature_failures_total")
                            .Help("Frames the engine rejected for a bad signature")
                            .Register(r);
  rejected = &BuildCounter()
                  .Name("bft_rejected_frames_total")
                  .Help("Frames the engine rejected (any reason)")
                  .Register(r);
  evidence = &BuildCounter()
                  .Name("bft_evidence_total")
                  .Help("Byzantine evidence (equivocation) found")
                  .Register(r);
  mempool_size =
      &BuildGauge().Name("bft_mempool_size").Help("Client requests awaiting commit").Register(r);
  commit_latency = &BuildHistogram()
                        .Name("bft_commit_latency_seconds")
                        .Help("From a request reaching the gateway to its execution")
                        .Register(r);
  link_state = &BuildGauge()
                    .Name("bft_link_state")
                    .Help("Link to a peer: 0 down, 1 connecting, 2 handshaking, 3 up")
                    .Register(r);
  link_dropped = &BuildCounter()
                      .Name("bft_link_dropped_frames_total")
                      .Help("Outbound frames dropped by a link, by reason")
                      .Register(r);
  link_queued_bytes =
      &BuildGauge().Name("bft_link_queued_bytes").Help("Bytes queued for a peer").Register(r);
  state_transfers = &BuildCounter()
                         .Name("bft_state_transfers_total")
                         .Help("Certified snapshots fetched from peers and installed")
                         .Register(r);
  state_transfer_faults = &BuildCounter()
                               .Name("bft_state_transfer_faults_total")
                               .Help("Catch-up: a peer served a wrong root, a bad chunk or "
                                     "snapshot, or nothing (by peer and reason)")
                               .Register(r);
  frames_dropped = &BuildCounter()
                        .Name("bft_inbound_dropped_frames_total")
                        .Help("Inbound frames dropped before the engine, by reason")
                        .Register(r);
  link_rejections = &BuildCounter()
                         .Name("bft_link_rejections_total")
                         .Help("Connections and frames the secure transport refused, by reason")
                         .Register(r);
  link_anomalies = &BuildCounter()
                        .Name("bft_link_anomalies_total")
                        .Help("Link checks (sequence gaps and reorders, clocks outside the "
                              "window) per peer: suspicion, never a safety decision")
                        .Register(r);
  link_pending = &BuildGauge()
                      .Name("bft_link_pending_connections")
                      .Help("Connections accepted and not yet authenticated")
                      .Register(r);
  link_sessions = &BuildGauge()
                       .Name("bft_link_sessions")
                       .Help("Authenticated secure connections accepted (validators and clients)")
                       .Register(r);
  validators_active = &BuildGauge()
                           .Name("bft_validators_active")
                           .Help("Validators heard from recently")
                           .Register(r);
  validators_byzantine = &BuildGauge()
                              .Name("bft_validators_byzantine")
                              .Help("Validators with Byzantine evidence against them")
                              .Register(r);
}

metrics::~metrics() = default;

void metrics::serve(const std::string& address) {
  exposer_ = std::make_unique<prometheus::Exposer>(address);
  exposer_->RegisterCollectable(registry_);
}

std::string metrics::scrape() const {
  prometheus::TextSerializer s;
  return s.Serialize(registry_->Collect());
}

replica_probe::replica_probe(metrics& m, replica_id self)
    : m_(&m), self_(std::to_string(self.value())) {
  blocks_ = &m.committed_blocks->Add({{"replica", self_}});
  txs_ = &m.committed_txs->Add({{"replica", self_}});
  view_ = &m.view->Add({{"replica", self_}});
  height_ = &m.height->Add({{"replica", self_}});
  view_changes_ = &m.view_changes->Add({{"replica", self_}});
  sig_failures_ = &m.signature_failures->Add({{"replica", self_}});
  rejected_ = &m.rejected->Add({{"replica", self_}});
  evidence_ = &m.evidence->Add({{"replica", self_}});
}

void replica_probe::on_committed(std::uint64_t blocks, std::uint64_t txs) {
  blocks_->Increment(static_cast<double>(blocks));
  txs_->Increment(static_cast<double>(txs));
}

void replica_probe::on_status(std::uint64_t view, std::uint64_t height) {
  if (view > last_view_) view_changes_->Increment(static_cast<double>(view - last_view_));
  last_view_ = view;
  view_->Set(static_cast<double>(view));
  height_->Set(static_cast<double>(height));
}

prometheus::Counter*
replica_probe::message_counter(prometheus::Family<prometheus::Counter>& family,
                               std::map<std::uint16_t, prometheus::Counter*>& cache,
                               prometheus::Counter*& other, std::uint16_t type) {
  if (auto it = cache.find(type); it != cache.end()) return it->second;
  auto label = frame_type_label(type);
  bool unnamed = label.rfind("0x", 0) == 0;
  if (unnamed && !unknown_types_.contains(type)) {
    if (unknown_types_.size() >= max_unknown_types) {
      if (other == nullptr) other = &family.Add({{"replica", self_}, {"type", "other"}});
      return other; // not cached per type: the cache stays bounded too
    }
    unknown_types_.insert(type);
  }
  auto* c = &family.Add({{"replica", self_}, {"type", label}});
  cache[type] = c;
  return c;
}

void replica_probe::on_received(std::uint16_t type) {
  message_counter(*m_->messages_received, received_, other_received_, type)->Increment();
}

void replica_probe::on_sent(std::uint16_t type, std::uint64_t copies) {
  message_counter(*m_->messages_sent, sent_, other_sent_, type)
      ->Increment(static_cast<double>(copies));
}

void replica_probe::on_rejected(bool signature_failure) {
  rejected_->Increment();
  if (signature_failure) sig_failures_->Increment();
}

void replica_probe::on_evidence() { evidence_->Increment(); }

catchup_probe::catchup_probe(metrics& m, replica_id self)
    : m_(&m), self_(std::to_string(self.value())) {
  installed_ = &m.state_transfers->Add({{"replica", self_}});
}

void catchup_probe::on_installed() { installed_->Increment(); }

void catchup_probe::on_fault(replica_id peer, const std::string& reason) {
  auto& c = faults_[{peer.value(), reason}];
  if (c == nullptr)
    c = &m_->state_transfer_faults->Add(
        {{"replica", self_}, {"peer", std::to_string(peer.value())}, {"reason", reason}});
  c->Increment();
}

std::uint64_t catchup_probe::faults(replica_id peer, const std::string& reason) const {
  auto it = faults_.find({peer.value(), reason});
  return it == faults_.end() ? 0 : static_cast<std::uint64_t>(it->second->Value());
}

acceptor_probe::acceptor_probe(metrics& m, replica_id self)
    : m_(&m), self_(std::to_string(self.value())) {}

void acceptor_probe::on_dropped(const std::string& reason) {
  auto& c = dropped_[reason];
  if (c == nullptr) c = &m_->frames_dropped->Add({{"replica", self_}, {"reason", reason}});
  c->Increment();
}

std::uint64_t acceptor_probe::dropped(const std::string& reason) const {
  auto it = dropped_.find(reason);
  return it == dropped_.end() ? 0 : static_cast<std::uint64_t>(it->second->Value());
}

link_probe::link_probe(metrics& m, replica_id self, replica_id peer)
    : m_(&m), self_(std::to_string(self.value())), peer_(std::to_string(peer.value())) {
  state_ = &m.link_state->Add({{"replica", self_}, {"peer", peer_}});
  queued_ = &m.link_queued_bytes->Add({{"replica", self_}, {"peer", peer_}});
}

void link_probe::on_state(state s) { state_->Set(static_cast<double>(s)); }

void link_probe::on_dropped(const std::string& reason) {
  auto& c = dropped_[reason];
  if (c == nullptr)
    c = &m_->link_dropped->Add({{"replica", self_}, {"peer", peer_}, {"reason", reason}});
  c->Increment();
}

void link_probe::on_queued_bytes(std::uint64_t b) { queued_->Set(static_cast<double>(b)); }

secure_probe::secure_probe(metrics& m, replica_id self, const std::vector<std::string>& reasons)
    : m_(&m), self_(std::to_string(self.value())) {
  for (const auto& r : reasons)
    rejected_[r] = &m.link_rejections->Add({{"replica", self_}, {"reason", r}});
  pending_ = &m.link_pending->Add({{"replica", self_}});
  sessions_ = &m.link_sessions->Add({{"replica", self_}});
}

void secure_probe::on_rejected(const std::string& reason) {
  auto it = rejected_.find(reason);
  BFT_ASSERT(it != rejected_.end(), "rejection reasons are a fixed list");
  it->second->Increment();
}

std::uint64_t secure_probe::rejected(const std::string& reason) const {
  auto it = rejected_.find(reason);
  return it == rejected_.end() ? 0 : static_cast<std::uint64_t>(it->second->Value());
}

void secure_probe::on_anomaly(const std::string& peer, const std::string& kind) {
  std::lock_guard<std::mutex> g(mtx_);
  auto& c = anomalies_[peer + "/" + kind];
  if (c == nullptr)
    c = &m_->link_anomalies->Add({{"replica", self_}, {"peer", peer}, {"kind", kind}});
  c->Increment();
}

void secure_probe::on_pending(std::size_t n) { pending_->Set(static_cast<double>(n)); }
void secure_probe::on_sessions(std::size_t n) { sessions_->Set(static_cast<double>(n)); }

gateway_probe::gateway_probe(metrics& m, replica_id self) {
  auto id = std::to_string(self.value());
  mempool_ = &m.mempool_size->Add({{"replica", id}});
  latency_ = &m.commit_latency->Add(
      {{"replica", id}}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                 0.25, 0.5, 1, 2.5, 5, 10});
}

void gateway_probe::on_mempool(std::size_t n) { mempool_->Set(static_cast<double>(n)); }
void gateway_probe::on_commit_latency(double seconds) { latency_->Observe(seconds); }

monitor_probe::monitor_probe(metrics& m, replica_id self) {
  auto id = std::to_string(self.value());
  active_ = &m.validators_active->Add({{"replica", id}});
  byzantine_ = &m.validators_byzantine->Add({{"replica", id}});
}

void monitor_probe::on_health(std::uint32_t active, std::uint32_t byzantine) {
  active_->Set(active);
  byzantine_->Set(byzantine);
}

} // namespace bft::actors
