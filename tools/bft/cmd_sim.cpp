// bft sim: the deterministic simulator (protocols/sim). Campaigns over seeds, one seed's
// replay with its trace hash, and the exhaustive Twins enumeration.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>

#include "protocols/registry.hpp"
#include "protocols/sim/campaign.hpp"
#include "tools/bft/command.hpp"

namespace {

struct sim_args {
  std::string protocol;
  std::size_t replicas = 4;
  std::uint64_t seeds = 0; ///< 0: 100 seeds, or every Twins scenario
  std::uint64_t first_seed = 1;
  std::int64_t seed = -1;
  std::size_t byzantine = 0;
  std::string faults = "all";
  std::uint64_t ticks = 0;
  std::string mutant;
  bool twins = false;
  std::uint32_t rounds = 3;
  std::string schedule;
  bool rules = false;
  std::int64_t scenario = -1;
  bool verbose = false;
  std::string amnesia = "none";
  bool late = false;
  bool pause = false;
};

const char* checker_name(const std::string& id) {
  if (id == "K1") return "K1 agreement";
  if (id == "K2") return "K2 no rollback";
  if (id == "K3") return "K3 state agreement";
  if (id == "K4") return "K4 honest non-equivocation";
  if (id == "K6") return "K6 validity";
  if (id == "K7") return "K7 liveness after stabilisation";
  if (id == "K8") return "K8 evidence";
  return "engine contract";
}

void print_failure(const char* what, std::uint64_t which, const bft::sim::options& o,
                   const bft::sim::seed_result& r) {
  const auto& v = r.violations.front();
  std::printf("FAIL %s %" PRIu64 ": %s: %s | replay: %s\n", what, which, checker_name(v.checker),
              v.detail.c_str(), bft::sim::replay_command(o).c_str());
  std::fflush(stdout);
}

int run(const sim_args& a) {
  using namespace bft::sim;
  auto proto = find_protocol(a.protocol);
  if (!proto) {
    std::string known;
    for (const auto& n : protocol_names()) known += (known.empty() ? "" : ", ") + n;
    throw bft::cli::command_error{
        "bft sim: --protocol '" + a.protocol +
        "' is not built into this binary (known: " + (known.empty() ? "none" : known) + ")"};
  }
  options o;
  o.protocol = *proto;
  o.replicas = a.replicas;
  o.byzantine = a.byzantine;
  o.ticks = a.ticks;
  auto fm = parse_fault_mode(a.faults);
  if (!fm)
    throw bft::cli::command_error{"bft sim: --faults must be none, network, crash or all, not '" +
                                  a.faults + "'"};
  o.faults = *fm;
  o.late_equivocation = a.late;
  o.pause = a.pause;
  if (a.amnesia == "guarded")
    o.honest_amnesia = options::amnesia_mode::guarded;
  else if (a.amnesia == "unguarded")
    o.honest_amnesia = options::amnesia_mode::unguarded;
  else if (a.amnesia != "none")
    throw bft::cli::command_error{"bft sim: --amnesia must be none, guarded or unguarded, not '" +
                                  a.amnesia + "'"};
  if (a.replicas < 1 || a.replicas > 64)
    throw bft::cli::command_error{"bft sim: --replicas must be between 1 and 64"};
  if (!a.mutant.empty()) {
    auto bits = find_mutant(*proto, a.mutant);
    if (!bits) {
      std::string known;
      for (const auto& m : proto->mutants) known += (known.empty() ? "" : ", ") + m.name;
      throw bft::cli::command_error{"bft sim: --mutant '" + a.mutant + "' is not a mutant of " +
                                    a.protocol + " (known: " + known + ")"};
    }
    o.mutant = a.mutant;
    o.mutant_bits = *bits;
  }
  if (a.scenario >= 0 && !a.twins)
    throw bft::cli::command_error{"bft sim: --scenario needs --twins"};
  if ((a.rounds != twins_enumerated_rounds || !a.schedule.empty()) && !a.twins)
    throw bft::cli::command_error{"bft sim: --rounds and --schedule need --twins"};
  if (a.rules && !a.twins) throw bft::cli::command_error{"bft sim: --rules needs --twins"};
  if (a.rules && !a.schedule.empty())
    throw bft::cli::command_error{
        "bft sim: --rules draws the rounds of each scenario; --schedule gives them: use one"};
  if (a.rounds < twins_enumerated_rounds || a.rounds > twins_max_rounds)
    throw bft::cli::command_error{"bft sim: --rounds must be between 3 and 16"};
  if (!a.schedule.empty()) {
    auto plan = parse_twins_schedule(a.schedule);
    if (!plan)
      throw bft::cli::command_error{
          "bft sim: --schedule must be 1 to 16 rounds 'mask:leader[/rule...]' separated by "
          "commas, mask 0..15 (the instances of group 1, bit 0 twin A, bits 1-3 replicas 1-3; "
          "0: no partition), leader 0..3 (0: the twins), each rule KINDS FROM>TO with KINDS "
          "of p,v,n,f,o,* and FROM, TO sets of instances 0-4 (4: twin B), not '" +
          a.schedule + "'"};
    if (a.rounds != twins_enumerated_rounds && a.rounds != plan->size())
      throw bft::cli::command_error{"bft sim: --rounds disagrees with the rounds of --schedule"};
    o.twins_schedule = *plan;
  }
  o.twins_rounds = a.rounds;
  o.twins_sample_rules = a.rules;
  const bool enumerated = a.rounds == twins_enumerated_rounds && a.schedule.empty() && !a.rules;
  if (a.twins && enumerated && a.scenario >= static_cast<std::int64_t>(twins_scenarios))
    throw bft::cli::command_error{"bft sim: --scenario must be below 3375"};
  if (a.twins && a.scenario > static_cast<std::int64_t>(~std::uint32_t{0}))
    throw bft::cli::command_error{"bft sim: --scenario must be below 2^32"};

  // Replay of one seed or one Twins scenario: print its trace hash.
  if (a.seed >= 0 || a.scenario >= 0 || !a.schedule.empty()) {
    if (a.scenario >= 0 || !a.schedule.empty()) {
      o.twins_scenario = static_cast<std::uint32_t>(std::max<std::int64_t>(a.scenario, 0));
      std::printf("twins rounds (partition:leader) %s\n", to_string(twins_plan(o)).c_str());
    } else {
      o.seed = static_cast<std::uint64_t>(a.seed);
    }
    if (a.verbose) o.log = [](const std::string& line) { std::printf("%s\n", line.c_str()); };
    auto r = run_seed(o);
    std::printf("trace hash %016" PRIx64 "\n", r.trace_hash);
    std::printf("coverage: %s\n", r.cov.to_string().c_str());
    for (const auto& v : r.violations)
      std::printf("violation: %s: %s\n", checker_name(v.checker), v.detail.c_str());
    std::printf("%d passed, %d failed\n", r.passed() ? 1 : 0, r.passed() ? 0 : 1);
    return r.passed() ? 0 : 1;
  }

  const auto start = std::chrono::steady_clock::now();
  campaign_result res;
  if (a.twins) {
    // The enumeration has 3,375 scenarios; deep Twins samples --seeds of them (1,000 by
    // default), scenario K drawing its rounds from K.
    const std::uint64_t cap = enumerated ? twins_scenarios : ~std::uint32_t{0};
    const auto count = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        a.seeds == 0 ? (enumerated ? twins_scenarios : 1000) : a.seeds, cap));
    res = run_twins(o, 0, count, [](const options& fo, const seed_result& r) {
      print_failure("scenario", *fo.twins_scenario, fo, r);
    });
  } else {
    res = run_campaign(
        o, a.first_seed, a.seeds == 0 ? 100 : a.seeds,
        [](const options& fo, const seed_result& r) { print_failure("seed", fo.seed, fo, r); });
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto total = res.passed + res.failed;
  std::printf("coverage: %s\n", res.cov.to_string().c_str());
  std::printf("elapsed %.2f s, %.1f %s/s (%s, n=%zu, faults %s)\n", secs,
              secs > 0 ? static_cast<double>(total) / secs : 0.0, a.twins ? "scenarios" : "seeds",
              a.protocol.c_str(), a.twins ? 4 : a.replicas, a.twins ? "twins" : a.faults.c_str());
  bool ok = res.failed == 0;
  if (!res.saw_view_changes()) {
    std::printf("campaign failed: no seed saw a view change\n");
    ok = false;
  }
  std::printf("%" PRIu64 " passed, %" PRIu64 " failed\n", res.passed, res.failed);
  return ok ? 0 : 1;
}

const bft::cli::command_registrar reg("sim", [](CLI::App& app, int& status) {
  auto args = std::make_shared<sim_args>();
  auto* cmd = app.add_subcommand("sim", "run the deterministic simulator over many seeds");
  cmd->add_option("--protocol", args->protocol, bft::protocol_names_text())
      ->required()
      ->check(CLI::IsMember(bft::protocol_names()));
  cmd->add_option("--replicas", args->replicas, "replicas n (default 4)");
  cmd->add_option("--seeds", args->seeds,
                  "seeds in the campaign (default 100); with --twins, the first S scenarios");
  cmd->add_option("--first-seed", args->first_seed, "first seed of the campaign (default 1)");
  cmd->add_option("--seed", args->seed, "replay one seed and print its trace hash");
  cmd->add_option("--byzantine", args->byzantine, "Byzantine replicas (default 0)");
  cmd->add_flag("--pause", args->pause,
                "freeze 1-2 honest replicas (often the leader) for 3-8 timeouts before "
                "stabilisation, like SIGSTOP; they must catch up (K7)");
  cmd->add_option("--amnesia", args->amnesia,
                  "none, guarded or unguarded: one honest replica restarts with its record "
                  "deleted, with or without the amnesia guard (default none)");
  cmd->add_flag("--late-equivocation", args->late,
                "a Byzantine replica may deliver a conflicting variant of what it signed "
                "5-40 ticks later, when a replica may have restarted meanwhile");
  cmd->add_option("--faults", args->faults, "none, network, crash or all (default all)");
  cmd->add_option("--ticks", args->ticks, "virtual ticks per seed (default 400; Twins 200)");
  cmd->add_option("--mutant", args->mutant, "switch on a seeded engine bug by name");
  cmd->add_flag("--twins", args->twins, "enumerate the 3,375 Twins scenarios (n = 4)");
  cmd->add_option("--rounds", args->rounds,
                  "with --twins: rounds per scenario (default 3, enumerated); 4..16 samples "
                  "--seeds scenarios (default 1000), each drawing a partition and a leader "
                  "per round");
  cmd->add_option("--schedule", args->schedule,
                  "with --twins: run one explicit scenario, 'mask:leader[/rule...]' per round "
                  "(rules: KINDS FROM>TO, see protocols/sim/README.md)");
  cmd->add_flag("--rules", args->rules,
                "with --twins: sample --seeds scenarios (default 1000) of --rounds rounds, each "
                "drawing per round a partition or none, a leader and up to 3 delivery rules; "
                "a failure replays as an explicit --schedule");
  cmd->add_option("--scenario", args->scenario,
                  "with --twins: replay one scenario (with --schedule: its seed)");
  cmd->add_flag("--verbose", args->verbose,
                "with --seed or --scenario: print the fault plan in effect, then log every "
                "notable event");
  cmd->callback([args, &status] { status = run(*args); });
});

} // namespace
