#pragma once
/// Internal to the PBFT replica's units (replica.cpp, replica_records.cpp, replica_checkpoints.cpp,
/// replica_timers.cpp, replica_view_change.cpp, replica_recovery.cpp, replica_probe.cpp): the
/// corrupt-record policy, limits and status tags they share (record keys and codecs:
/// log_record.hpp). Not part of the engine's interface.
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
constexpr std::uint64_t max_timeout_ticks = 1ull << 32;

inline const batch_ptr& empty_batch() {
  static const batch_ptr e = std::make_shared<const batch>();
  return e;
}

inline std::string err_text(const bft::error& e) { return e.message(); }

constexpr std::string_view status_request_tag = "bft/pbft/status-request/v1";
constexpr std::string_view status_report_tag = "bft/pbft/status-report/v1";

} // namespace bft::pbft::detail
