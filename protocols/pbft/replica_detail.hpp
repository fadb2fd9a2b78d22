#pragma once
/// Internal to the PBFT replica's units (replica.cpp, replica_records.cpp,
/// replica_view_change.cpp, replica_recovery.cpp, replica_probe.cpp): record keys, limits and
/// the checkpoint-proof codec they share. Not part of the engine's interface.
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "protocols/common/codec.hpp"
#include "protocols/pbft/messages.hpp"

namespace bft::pbft::detail {

/// The policy for a corrupt stored record (engine.hpp): throw, naming the record.
inline void require_record(bool ok, const char* key) {
  if (!ok) throw std::invalid_argument(std::string("pbft: stored ") + key + " record is corrupt");
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

constexpr std::size_t max_pending_requests = 1u << 18;
constexpr std::size_t max_checkpoints_per_sender = 4;
constexpr std::uint64_t max_timeout_ticks = 1ull << 32;

inline std::string log_key(std::uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "pbft/log/%020llu", static_cast<unsigned long long>(n));
  return buf;
}

inline std::string batch_key(const digest& d) { return "pbft/batch/" + to_hex(d); }

inline const batch_ptr& empty_batch() {
  static const batch_ptr e = std::make_shared<const batch>();
  return e;
}

inline std::string err_text(const bft::error& e) { return e.message(); }

constexpr const char* guard_key = "pbft/guard";
constexpr std::string_view status_request_tag = "bft/pbft/status-request/v1";
constexpr std::string_view status_report_tag = "bft/pbft/status-report/v1";

inline void put_proof(codec::writer& w, const checkpoint_proof& p) {
  w.id(p.seq);
  w.raw(p.state);
  w.count(p.sigs.size(), max_replicas);
  for (const auto& s : p.sigs) {
    w.id(s.from);
    w.raw(s.sig);
  }
}

inline checkpoint_proof get_proof(codec::reader& r) {
  checkpoint_proof p;
  p.seq = r.id<seq_number>();
  p.state = r.fixed<32>();
  auto n = r.count(max_replicas, 68);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    signed_by s;
    s.from = r.id<replica_id>();
    s.sig = r.fixed<64>();
    p.sigs.push_back(s);
  }
  return p;
}

} // namespace bft::pbft::detail
