#pragma once
/// The one list of consensus engines this build knows: for each, its name, its factory, its
/// protocol inspector, its seeded bugs (mutants) and the readable names of the frame types it
/// sends. Every driver that selects an engine by name (bft cluster, node, bench, sim) asks
/// here; nothing else names the engines.
///
/// Layering (tools/check-guards.sh): the registry sits above both engines and below the
/// simulator, the actors and the tools. No engine and nothing in protocols/common includes it.
/// Pure: tables and lookups only.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/engine.hpp"
#include "protocols/common/protocol_inspector.hpp"

namespace bft::crypto {
class signer;
class verifier;
} // namespace bft::crypto

namespace bft {

/// The coarse role of a frame type, so a scheduler (the simulator's Twins rules) can steer
/// each kind of message apart without knowing an engine's layouts.
enum class frame_role : std::uint8_t { other = 0, proposal, vote, view_change, fetch };

/// One envelope type an engine sends, with its readable name (the metrics' `type` label).
struct frame_type_info {
  std::uint16_t type = 0;
  std::string_view name;
  frame_role role = frame_role::other;
};

/// One seeded bug of an engine: its `bft sim --mutant` spelling and its engine_config bit.
struct mutant_info {
  std::string_view name;
  std::uint64_t bits = 0;
};

/// The signature of `pbft::make_engine` and `hotstuff::make_engine`.
using engine_maker = std::unique_ptr<engine> (*)(const engine_config&, const crypto::signer&,
                                                 const crypto::verifier&, const persisted_state&);
using inspector_maker = std::unique_ptr<protocol_inspector> (*)();

/// Everything a driver needs to know about one engine.
struct protocol_entry {
  std::string_view name;
  engine_maker make_engine = nullptr;
  inspector_maker make_inspector = nullptr;
  std::span<const mutant_info> mutants;
  std::span<const frame_type_info> frames;

  /// The readable name of envelope type `type`, if this engine sends frames of that type.
  [[nodiscard]] std::optional<std::string_view> frame_name(std::uint16_t type) const;
  /// The role of envelope type `type`; `other` for a type this engine does not send.
  [[nodiscard]] frame_role role_of(std::uint16_t type) const;
  /// The bits of mutant `mutant`, if this engine has one by that name.
  [[nodiscard]] std::optional<std::uint64_t> mutant_bits(std::string_view mutant) const;
};

/// Every engine, in a fixed order (pbft, hotstuff).
[[nodiscard]] std::span<const protocol_entry> protocols();
/// Their names, in the same order (CLI11 `IsMember` takes this).
[[nodiscard]] std::vector<std::string> protocol_names();
/// "pbft, hotstuff": the names for help texts and error messages.
[[nodiscard]] std::string protocol_names_text();
/// The engine called `name`, or nullptr.
[[nodiscard]] const protocol_entry* find_protocol(std::string_view name) noexcept;
/// The engine called `name`; throws std::invalid_argument naming the valid names otherwise.
[[nodiscard]] const protocol_entry& protocol_by_name(std::string_view name);
/// The readable name of an engine envelope type, whichever engine sends it (the engines'
/// type ranges do not overlap: PBFT 0x01xx, HotStuff 0x02xx); nullopt for any other type.
[[nodiscard]] std::optional<std::string_view> engine_frame_name(std::uint16_t type);

} // namespace bft
