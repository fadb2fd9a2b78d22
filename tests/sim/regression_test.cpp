// Replays every line of tests/sim/regression_seeds.txt (see the header of that file).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "protocols/sim/campaign.hpp"

using namespace bft::sim;

TEST_CASE("every seed of the regression list replays with its recorded outcome") {
  std::ifstream in(BFT_SIM_REGRESSION_FILE);
  REQUIRE_MESSAGE(in.good(), "cannot read " << BFT_SIM_REGRESSION_FILE);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::map<std::string, std::string> kv;
    for (std::string w; words >> w;) {
      auto eq = w.find('=');
      REQUIRE_MESSAGE(eq != std::string::npos, "malformed field '" << w << "'");
      kv[w.substr(0, eq)] = w.substr(eq + 1);
    }
    if (kv.empty()) continue;
    ++lines;
    auto proto = find_protocol(kv["protocol"]);
    REQUIRE_MESSAGE(proto.has_value(), "unknown protocol in: " << line);
    options o;
    o.protocol = *proto;
    if (kv.count("scenario")) {
      o.twins_scenario = static_cast<std::uint32_t>(std::stoul(kv["scenario"]));
      if (kv.count("rounds")) o.twins_rounds = static_cast<std::uint32_t>(std::stoul(kv["rounds"]));
      if (kv.count("schedule")) {
        auto plan = parse_twins_schedule(kv["schedule"]);
        REQUIRE_MESSAGE(plan.has_value(), "bad schedule in: " << line);
        o.twins_schedule = *plan;
      }
    } else {
      o.replicas = std::stoul(kv["replicas"]);
      o.seed = std::stoull(kv["seed"]);
      o.byzantine = kv.count("byzantine") ? std::stoul(kv["byzantine"]) : 0;
      auto f = parse_fault_mode(kv["faults"]);
      REQUIRE_MESSAGE(f.has_value(), "bad faults in: " << line);
      o.faults = *f;
      if (kv.count("amnesia")) {
        const bool known = kv["amnesia"] == "guarded" || kv["amnesia"] == "unguarded";
        REQUIRE_MESSAGE(known, "bad amnesia in: " << line);
        o.honest_amnesia = kv["amnesia"] == "guarded" ? options::amnesia_mode::guarded
                                                      : options::amnesia_mode::unguarded;
      }
      o.late_equivocation = kv.count("late") != 0 && kv["late"] == "1";
      o.pause = kv.count("pause") != 0 && kv["pause"] == "1";
    }
    if (kv.count("ticks")) o.ticks = std::stoull(kv["ticks"]);
    if (kv.count("mutant")) {
      for (const auto& m : o.protocol.mutants)
        if (m.name == kv["mutant"]) {
          o.mutant = m.name;
          o.mutant_bits = m.bits;
        }
      REQUIRE_MESSAGE(!o.mutant.empty(), "unknown mutant in: " << line);
    }
    const auto r = run_seed(o);
    const std::string got = r.passed() ? "pass" : r.violations.front().checker;
    INFO("replay: " << replay_command(o));
    INFO("detail: " << (r.passed() ? std::string("none") : r.violations.front().detail));
    CHECK_MESSAGE(got == kv["expect"], "expected " << kv["expect"] << ", got " << got);
  }
  CHECK(lines > 0);
}
