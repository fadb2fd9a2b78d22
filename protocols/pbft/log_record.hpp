#pragma once
/// The PBFT replica's stored records (README "Persistence and restart"): their keys, and a
/// value type per record with encode() and decode(); decode() rejects truncated or garbled
/// input. The replica writes them (replica_records.cpp) and restarts from them; what a corrupt
/// record does to the restart is the replica's policy (engine.hpp, `persisted_state`).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/pbft/messages.hpp"

namespace bft::pbft {

// ---- keys ------------------------------------------------------------------------------------

inline constexpr const char* view_key = "pbft/view";            ///< view_record
inline constexpr const char* stable_key = "pbft/stable";        ///< the stable checkpoint's proof
inline constexpr const char* vc_key = "pbft/vc";                ///< own view-change frame
inline constexpr const char* nv_key = "pbft/nv";                ///< new-view frame of the last view
inline constexpr const char* transfer_key = "pbft/transfer";    ///< transfer_record
inline constexpr const char* guard_key = "pbft/guard";          ///< amnesia guard (recovery.hpp)
inline constexpr std::string_view log_key_prefix = "pbft/log/"; ///< + 20-digit seq
inline constexpr std::string_view batch_key_prefix = "pbft/batch/"; ///< + hex batch digest

/// "pbft/log/<n>", n in 20 decimal digits, so keys sort by sequence number.
[[nodiscard]] std::string log_key(std::uint64_t n);
/// The sequence number of a log key; nullopt if `key` is not one.
[[nodiscard]] std::optional<std::uint64_t> log_key_seq(std::string_view key);
/// "pbft/batch/<hex digest>".
[[nodiscard]] std::string batch_key(const digest& d);

// ---- records ---------------------------------------------------------------------------------

/// One sequence number of the log above the stable checkpoint ("pbft/log/<n>"): the accepted
/// pre-prepare, whether it committed, and its highest-view prepared certificate (P21). The
/// batch is stored apart, by digest ("pbft/batch/...").
struct log_record {
  bool has_pp = false;
  view_number pp_view{0};
  digest d{};
  signature pp_sig{};
  bool committed = false;
  /// Its seq is not stored: decode() sets it to the record's own sequence number.
  std::optional<prepared_cert> cert;

  [[nodiscard]] bytes encode() const;
  /// `n`: the sequence number of the record's key.
  static result<log_record> decode(byte_view b, std::uint64_t n);
  friend bool operator==(const log_record&, const log_record&) = default;
};

/// The current view and whether the replica is changing to it ("pbft/view").
struct view_record {
  view_number view{0};
  bool changing = false;

  [[nodiscard]] bytes encode() const;
  static result<view_record> decode(byte_view b);
  friend bool operator==(const view_record&, const view_record&) = default;
};

/// A state transfer owed since a stable checkpoint passed the last executed entry
/// ("pbft/transfer", P30): a restart asks again instead of skipping the gap.
struct transfer_record {
  std::uint64_t index = 0;  ///< the stable checkpoint to fetch
  digest root{};            ///< its certified state
  std::uint64_t before = 0; ///< last executed when the transfer was asked

  [[nodiscard]] bytes encode() const;
  static result<transfer_record> decode(byte_view b);
  friend bool operator==(const transfer_record&, const transfer_record&) = default;
};

/// The stable checkpoint's proof ("pbft/stable").
[[nodiscard]] bytes encode_stable(const checkpoint_proof& p);
[[nodiscard]] result<checkpoint_proof> decode_stable(byte_view b);

/// A stored batch ("pbft/batch/..."): the batch bytes of the pre-prepare that carried it.
[[nodiscard]] result<batch> decode_stored_batch(byte_view b);

} // namespace bft::pbft
