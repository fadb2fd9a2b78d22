#pragma once
/// Protocol knowledge that drivers need without knowing message layouts: the simulator's
/// checkers (K4, K8) and Byzantine roles, and the validator monitor. Each engine provides one
/// (`pbft::make_inspector()`, `hotstuff::make_inspector()`). Pure and deterministic.
///
/// Frame convention shared by both engines: every signed frame is
/// `envelope | body | 64-byte signature` with the signature last, so a driver can corrupt a
/// signature without decoding the frame.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/engine.hpp"
#include "protocols/common/ids.hpp"

namespace bft::crypto {
class signer;
class verifier;
} // namespace bft::crypto

namespace bft {

/// What a signed frame commits its signer to. Two valid frames with equal
/// (signer, phase, view, seq) and different `content` are equivocation.
struct statement {
  replica_id signer;
  std::uint8_t phase = 0; ///< engine-defined: pre-prepare, prepare, proposal, vote, ...
  std::uint64_t view = 0;
  std::uint64_t seq = 0; ///< sequence number or height; 0 where the phase has none
  digest content{};
  friend bool operator==(const statement&, const statement&) = default;
};

class protocol_inspector {
public:
  virtual ~protocol_inspector() = default;
  /// The statement a frame makes, if it decodes and its signature verifies; nullopt for
  /// frames that commit to nothing that can conflict (requests for blocks, ...).
  [[nodiscard]] virtual std::optional<statement> statement_of(byte_view frame,
                                                              const validator_set& vs,
                                                              const crypto::verifier& v,
                                                              const engine_config& cfg) const = 0;
  /// Byzantine role: a variant of `frame` for the same slot with different content, signed
  /// by `s` (equivocating proposal, double vote). `salt` picks among variants.
  [[nodiscard]] virtual std::optional<bytes> conflicting_variant(byte_view frame,
                                                                 const crypto::signer& s,
                                                                 const engine_config& cfg,
                                                                 std::uint64_t salt) const = 0;
  /// Byzantine role: the same message for view + `ahead`, re-signed by `s`.
  [[nodiscard]] virtual std::optional<bytes> future_view_variant(byte_view frame,
                                                                 const crypto::signer& s,
                                                                 const engine_config& cfg,
                                                                 std::uint64_t ahead) const = 0;
  /// Byzantine role: a frame whose embedded certificate (view-change proof, QC) is forged or
  /// incomplete, re-signed by `s` so only the certificate check can catch it.
  [[nodiscard]] virtual std::optional<bytes>
  forged_certificate_variant(byte_view frame, const crypto::signer& s, const engine_config& cfg,
                             std::uint64_t salt) const = 0;
  /// Byzantine role: a proposal for the slot of `frame` (the Byzantine leader's own) that
  /// forks off below it, on the older certified block that `older` (a proposal the Byzantine
  /// replica received earlier) extends, followed by the forger's own vote for it, all signed
  /// by `s`: a leader proposing on a stale QC, which honest voters must refuse by their lock.
  /// With `forge_qc` the fork's certificate is also forged (the forger's vote counted as a
  /// whole quorum, at the newest view allowed), which only the certificate check can refuse.
  /// Empty when the frames do not allow one or the engine has no such notion (the default).
  [[nodiscard]] virtual std::vector<bytes> fork_variant(byte_view /*frame*/, byte_view /*older*/,
                                                        const crypto::signer& /*s*/,
                                                        const engine_config& /*cfg*/,
                                                        bool /*forge_qc*/) const {
    return {};
  }
};

} // namespace bft
