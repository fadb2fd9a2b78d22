#pragma once
/// Campaigns over many seeds, the exhaustive Twins enumeration, and the registry of engines
/// the simulator knows. Pure: timing is measured by the caller (the CLI, the tests).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/sim/simulator.hpp"

namespace bft::sim {

/// The engines linked into this build ("pbft", "hotstuff" when their targets exist).
[[nodiscard]] std::vector<std::string> protocol_names();
[[nodiscard]] std::optional<protocol_spec> find_protocol(std::string_view name);
/// The bits of mutant `name` of `p`, if it has one by that name.
[[nodiscard]] std::optional<std::uint64_t> find_mutant(const protocol_spec& p,
                                                       std::string_view name);

struct campaign_result {
  std::uint64_t passed = 0;
  std::uint64_t failed = 0;
  coverage cov;
  /// A campaign whose seeds saw no view change proves nothing about view changes.
  [[nodiscard]] bool saw_view_changes() const { return cov.view_changes > 0; }
};

/// Called for each failing seed or scenario with the options that replay it.
using failure_fn = std::function<void(const options&, const seed_result&)>;

/// Runs seeds first_seed .. first_seed + count − 1 with `base` otherwise.
campaign_result run_campaign(const options& base, std::uint64_t first_seed, std::uint64_t count,
                             const failure_fn& on_failure = {});

/// Runs Twins scenarios first .. first + count − 1 (all 3,375 by default). With
/// `base.twins_rounds` above 3, or `base.twins_sample_rules`, the scenarios are samples, any
/// number of them.
campaign_result run_twins(const options& base, std::uint32_t first = 0,
                          std::uint32_t count = twins_scenarios, const failure_fn& on_failure = {});

} // namespace bft::sim
