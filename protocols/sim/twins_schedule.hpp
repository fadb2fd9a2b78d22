#pragma once
/// Internal to the simulator: Twins schedules (twins_schedule.cpp). The rounds of a scenario
/// (enumerated, sampled, sampled with delivery rules, or explicit) and their text form; the
/// functions themselves are part of the public interface (simulator.hpp: `twins_plan`,
/// `parse_twins_schedule`, `to_string`), this header holds what the simulation shares with
/// them: the letters of the delivery rules' kinds.
#include <cstdint>
#include <string_view>

#include "protocols/sim/simulator.hpp"

namespace bft::sim::detail {

/// Twins delivery rules: bit k of twins_drop::kinds is frame_kind k + 1 (letters p, v, n, f);
/// this bit is every other kind (letter o).
constexpr std::string_view drop_kind_letters = "pvnf";
constexpr std::uint8_t drop_other_bit = 0x80;

} // namespace bft::sim::detail
