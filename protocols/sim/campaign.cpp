#include "protocols/sim/campaign.hpp"

#include <algorithm>

#include "protocols/registry.hpp"

namespace bft::sim {
namespace {

/// The envelope type at the front of every frame (little endian), or 0.
std::uint16_t envelope_type(byte_view frame) {
  if (frame.size() < 2) return 0;
  return static_cast<std::uint16_t>(frame[0] | (frame[1] << 8));
}

frame_kind kind_of(frame_role r) {
  switch (r) {
  case frame_role::proposal: return frame_kind::proposal;
  case frame_role::vote: return frame_kind::vote;
  case frame_role::view_change: return frame_kind::view_change;
  case frame_role::fetch: return frame_kind::fetch;
  case frame_role::other: return frame_kind::other;
  }
  return frame_kind::other;
}

} // namespace

// The engines, their inspectors, mutants and frame roles come from the registry.
std::vector<std::string> protocol_names() { return bft::protocol_names(); }

std::optional<protocol_spec> find_protocol(std::string_view name) {
  const auto* e = bft::find_protocol(name);
  if (e == nullptr) return std::nullopt;
  protocol_spec p;
  p.name = std::string(e->name);
  p.make_engine = e->make_engine;
  p.inspector = e->make_inspector();
  p.classify = [e](byte_view f) { return kind_of(e->role_of(envelope_type(f))); };
  for (const auto& m : e->mutants) p.mutants.push_back({std::string(m.name), m.bits});
  return p;
}

// The mutant names come from each engine's table (`mutant_names` in its mutants.hpp).
std::optional<std::uint64_t> find_mutant(const protocol_spec& p, std::string_view name) {
  for (const auto& m : p.mutants)
    if (m.name == name) return m.bits;
  return std::nullopt;
}

campaign_result run_campaign(const options& base, std::uint64_t first_seed, std::uint64_t count,
                             const failure_fn& on_failure) {
  campaign_result out;
  options o = base;
  o.twins_scenario.reset();
  for (std::uint64_t i = 0; i < count; ++i) {
    o.seed = first_seed + i;
    auto r = run_seed(o);
    out.cov.add(r.cov);
    if (r.passed()) {
      ++out.passed;
    } else {
      ++out.failed;
      if (on_failure) on_failure(o, r);
    }
  }
  return out;
}

campaign_result run_twins(const options& base, std::uint32_t first, std::uint32_t count,
                          const failure_fn& on_failure) {
  campaign_result out;
  options o = base;
  o.replicas = 4;
  o.byzantine = 0;
  const bool enumerated = base.twins_schedule.empty() && !base.twins_sample_rules &&
                          base.twins_rounds == twins_enumerated_rounds;
  const std::uint64_t last =
      enumerated ? std::min<std::uint64_t>(std::uint64_t{first} + count, twins_scenarios)
                 : std::uint64_t{first} + count;
  for (std::uint64_t s = first; s < last && s <= ~std::uint32_t{0}; ++s) {
    o.twins_scenario = static_cast<std::uint32_t>(s);
    o.seed = s;
    auto r = run_seed(o);
    out.cov.add(r.cov);
    if (r.passed()) {
      ++out.passed;
    } else {
      ++out.failed;
      if (on_failure) on_failure(o, r);
    }
  }
  return out;
}

} // namespace bft::sim
