#include "protocols/sim/simulator.hpp"

#include <sstream>

#include "protocols/sim/simulation.hpp"

// The simulator's public functions (simulator.hpp): fault modes, coverage, replay commands and
// one seeded run; the run itself is `detail::simulation` (simulation.hpp).
namespace bft::sim {

std::optional<fault_mode> parse_fault_mode(std::string_view s) {
  if (s == "none") return fault_mode::none;
  if (s == "network") return fault_mode::network;
  if (s == "crash") return fault_mode::crash;
  if (s == "all") return fault_mode::all;
  return std::nullopt;
}

std::string_view to_string(fault_mode m) {
  switch (m) {
  case fault_mode::none: return "none";
  case fault_mode::network: return "network";
  case fault_mode::crash: return "crash";
  case fault_mode::all: return "all";
  }
  return "?";
}

void coverage::add(const coverage& o) {
  view_changes += o.view_changes;
  new_views += o.new_views;
  checkpoints += o.checkpoints;
  state_transfers += o.state_transfers;
  evidence += o.evidence;
  crashes += o.crashes;
  restarts += o.restarts;
  lost_writes += o.lost_writes;
  commits += o.commits;
  requests += o.requests;
  messages += o.messages;
  byzantine_frames += o.byzantine_frames;
}

std::string coverage::to_string() const {
  std::ostringstream os;
  os << "view_changes=" << view_changes << " new_views=" << new_views
     << " checkpoints=" << checkpoints << " state_transfers=" << state_transfers
     << " evidence=" << evidence << " crashes=" << crashes << " restarts=" << restarts
     << " lost_writes=" << lost_writes << " commits=" << commits << " requests=" << requests
     << " messages=" << messages << " byzantine_frames=" << byzantine_frames;
  return os.str();
}

std::string replay_command(const options& o) {
  std::ostringstream os;
  os << "bft sim --protocol " << o.protocol.name;
  if (o.twins_scenario) {
    os << " --twins";
    if (!o.twins_schedule.empty() || o.twins_sample_rules) {
      // A sampled-rules scenario replays as the explicit schedule it drew (its number still
      // seeds the clients and the network delays). Rules hold '>' and maybe '*': quote them
      // for the shell.
      const auto text = to_string(twins_plan(o));
      if (text.find('/') != std::string::npos) {
        os << " --schedule '" << text << "'";
      } else {
        os << " --schedule " << text;
      }
    } else if (o.twins_rounds != twins_enumerated_rounds) {
      os << " --rounds " << o.twins_rounds;
    }
    os << " --scenario " << *o.twins_scenario;
  } else {
    os << " --replicas " << o.replicas << " --seed " << o.seed << " --faults "
       << to_string(o.faults);
    if (o.byzantine > 0) os << " --byzantine " << o.byzantine;
    if (o.late_equivocation) os << " --late-equivocation";
    if (o.honest_amnesia != options::amnesia_mode::none)
      os << " --amnesia "
         << (o.honest_amnesia == options::amnesia_mode::guarded ? "guarded" : "unguarded");
    if (o.pause) os << " --pause";
  }
  if (o.ticks != 0) os << " --ticks " << o.ticks;
  if (!o.mutant.empty()) os << " --mutant " << o.mutant;
  return os.str();
}

seed_result run_seed(const options& o) {
  if (!o.protocol.make_engine || !o.protocol.inspector) {
    seed_result r;
    r.violations.push_back({"C", "protocol '" + o.protocol.name + "' has no engine factory"});
    return r;
  }
  if (o.twins_scenario && o.twins_schedule.empty() &&
      (o.twins_rounds < twins_enumerated_rounds || o.twins_rounds > twins_max_rounds)) {
    seed_result r;
    r.violations.push_back(
        {"C", "Twins rounds must be between 3 and 16, not " + std::to_string(o.twins_rounds)});
    return r;
  }
  detail::simulation s(o);
  return s.run();
}

} // namespace bft::sim
