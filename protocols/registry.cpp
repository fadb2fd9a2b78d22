#include "protocols/registry.hpp"

#include <array>
#include <stdexcept>

#include "protocols/hotstuff/block.hpp"
#include "protocols/hotstuff/factory.hpp"
#include "protocols/hotstuff/inspector.hpp"
#include "protocols/hotstuff/mutants.hpp"
#include "protocols/hotstuff/replica.hpp"
#include "protocols/pbft/factory.hpp"
#include "protocols/pbft/inspector.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/probe.hpp"
#include "protocols/pbft/replica.hpp"

namespace bft {
namespace {

/// An engine's mutant table (its mutants.hpp `mutant_names`) as registry entries.
template <class T, std::size_t N>
constexpr std::array<mutant_info, N> to_mutants(const std::array<T, N>& in) {
  std::array<mutant_info, N> out{};
  for (std::size_t i = 0; i < N; ++i)
    out[i] = mutant_info{in[i].name, static_cast<std::uint64_t>(in[i].bit)};
  return out;
}

template <class E>
constexpr std::uint16_t u16(E e) {
  return static_cast<std::uint16_t>(e);
}

constexpr auto pbft_mutants = to_mutants(pbft::mutant_names);
constexpr auto hotstuff_mutants = to_mutants(hotstuff::mutant_names);

using pt = pbft::msg_type;
constexpr std::array<frame_type_info, 13> pbft_frames{{
    {u16(pt::pre_prepare), "pre_prepare", frame_role::proposal},
    {u16(pt::prepare), "prepare", frame_role::vote},
    {u16(pt::commit), "commit", frame_role::vote},
    {u16(pt::checkpoint), "checkpoint", frame_role::other},
    {u16(pt::view_change), "view_change", frame_role::view_change},
    {u16(pt::new_view), "new_view", frame_role::view_change},
    {u16(pt::request_relay), "request_relay", frame_role::other},
    {u16(pt::fetch_batch), "fetch_batch", frame_role::fetch},
    {u16(pt::batch_reply), "batch_reply", frame_role::fetch},
    {pbft::replica::status_request_type, "status_request", frame_role::other},
    {pbft::replica::status_report_type, "status_report", frame_role::other},
    {pbft::probe_type, "probe", frame_role::other},
    {pbft::probe_answer_type, "probe_answer", frame_role::other},
}};

using ht = hotstuff::msg_type;
constexpr std::array<frame_type_info, 7> hotstuff_frames{{
    {u16(ht::proposal), "proposal", frame_role::proposal},
    {u16(ht::vote), "vote", frame_role::vote},
    {u16(ht::new_view), "new_view", frame_role::view_change},
    {u16(ht::block_request), "block_request", frame_role::fetch},
    {u16(ht::block_response), "block_response", frame_role::fetch},
    {hotstuff::replica::status_request_type, "status_request", frame_role::other},
    {hotstuff::replica::status_report_type, "status_report", frame_role::other},
}};

/// True when every type of `a` lies in [lo, lo + 0xff] and no type appears twice.
template <std::size_t N>
constexpr bool distinct_in_range(const std::array<frame_type_info, N>& a, std::uint16_t lo) {
  for (std::size_t i = 0; i < N; ++i) {
    if (a[i].type < lo || a[i].type > lo + 0xff || a[i].name.empty()) return false;
    for (std::size_t j = i + 1; j < N; ++j)
      if (a[i].type == a[j].type || a[i].name == a[j].name) return false;
  }
  return true;
}
// engine_frame_name relies on the engines' type ranges being disjoint.
static_assert(distinct_in_range(pbft_frames, 0x0100), "PBFT frame types: 0x01xx, each once");
static_assert(distinct_in_range(hotstuff_frames, 0x0200),
              "HotStuff frame types: 0x02xx, each once");

std::unique_ptr<engine> make_pbft(const engine_config& c, const crypto::signer& s,
                                  const crypto::verifier& v, const persisted_state& st) {
  return pbft::make_engine(c, s, v, st);
}
std::unique_ptr<engine> make_hotstuff(const engine_config& c, const crypto::signer& s,
                                      const crypto::verifier& v, const persisted_state& st) {
  return hotstuff::make_engine(c, s, v, st);
}
std::unique_ptr<protocol_inspector> inspect_pbft() { return pbft::make_inspector(); }
std::unique_ptr<protocol_inspector> inspect_hotstuff() { return hotstuff::make_inspector(); }

const std::array<protocol_entry, 2> all{{
    {"pbft", make_pbft, inspect_pbft, pbft_mutants, pbft_frames},
    {"hotstuff", make_hotstuff, inspect_hotstuff, hotstuff_mutants, hotstuff_frames},
}};

} // namespace

std::optional<std::string_view> protocol_entry::frame_name(std::uint16_t type) const {
  for (const auto& f : frames)
    if (f.type == type) return f.name;
  return std::nullopt;
}

frame_role protocol_entry::role_of(std::uint16_t type) const {
  for (const auto& f : frames)
    if (f.type == type) return f.role;
  return frame_role::other;
}

std::optional<std::uint64_t> protocol_entry::mutant_bits(std::string_view mutant) const {
  for (const auto& m : mutants)
    if (m.name == mutant) return m.bits;
  return std::nullopt;
}

std::span<const protocol_entry> protocols() { return all; }

std::vector<std::string> protocol_names() {
  std::vector<std::string> out;
  for (const auto& p : all) out.emplace_back(p.name);
  return out;
}

std::string protocol_names_text() {
  std::string out;
  for (const auto& p : all) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

const protocol_entry* find_protocol(std::string_view name) noexcept {
  for (const auto& p : all)
    if (p.name == name) return &p;
  return nullptr;
}

const protocol_entry& protocol_by_name(std::string_view name) {
  if (const auto* p = find_protocol(name)) return *p;
  throw std::invalid_argument("unknown protocol '" + std::string(name) +
                              "' (valid: " + protocol_names_text() + ")");
}

std::optional<std::string_view> engine_frame_name(std::uint16_t type) {
  for (const auto& p : all)
    if (auto n = p.frame_name(type)) return n;
  return std::nullopt;
}

} // namespace bft
