#pragma once
/// Rule P31 (README "Where are the others"): the two unsigned frames a replica uses to learn
/// where its peers are before it starts or escalates a view change, and to catch up when it
/// is behind. `from` must be the sender the transport proved (ev::received::from); nothing in
/// them is safety-relevant (a lie can only delay a view change or cost a retransmission).
///
///   probe (0x010C):        from, round, view, view-changing, last executed, progressing
///   probe answer (0x010D): the same fields for the answering replica; `round` echoes the
///                          probe's round
#include <cstdint>
#include <optional>

#include "protocols/common/bytes.hpp"
#include "protocols/common/ids.hpp"

namespace bft::pbft {

inline constexpr std::uint16_t probe_type = 0x010C;
inline constexpr std::uint16_t probe_answer_type = 0x010D;

/// A replica's position: its view (or the view it is changing to) and its last executed
/// sequence number.
struct probe_position {
  replica_id from{0};
  std::uint64_t round = 0;
  view_number view{0};
  bool changing = false;
  std::uint64_t executed = 0;
  /// It executed something within the last base timeout: its primary orders.
  bool progressing = false;
  friend bool operator==(const probe_position&, const probe_position&) = default;
};

/// `type` is probe_type or probe_answer_type.
[[nodiscard]] bytes encode_probe(std::uint16_t type, const probe_position& p);
/// nullopt unless `frame` is a well-formed frame of `type`.
[[nodiscard]] std::optional<probe_position> decode_probe(std::uint16_t type, byte_view frame);

} // namespace bft::pbft
