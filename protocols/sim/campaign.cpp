#include "protocols/sim/campaign.hpp"

// An engine is linked in only when its target exists and its factory and inspector headers
// are there (engines land in steps).
#if defined(BFT_SIM_HAVE_PBFT) && __has_include("protocols/pbft/factory.hpp") &&                   \
                                                __has_include("protocols/pbft/inspector.hpp")
#define BFT_SIM_PBFT 1
#include "protocols/pbft/factory.hpp"
#include "protocols/pbft/inspector.hpp"
#include "protocols/pbft/mutants.hpp"
#endif
#if defined(BFT_SIM_HAVE_HOTSTUFF) && __has_include(                                               \
                                          "protocols/hotstuff/factory.hpp") &&                     \
                                          __has_include("protocols/hotstuff/inspector.hpp")
#define BFT_SIM_HOTSTUFF 1
#include "protocols/hotstuff/factory.hpp"
#include "protocols/hotstuff/inspector.hpp"
#include "protocols/hotstuff/mutants.hpp"
#endif

namespace bft::sim {

std::vector<std::string> protocol_names() {
  std::vector<std::string> out;
#if defined(BFT_SIM_PBFT)
  out.emplace_back("pbft");
#endif
#if defined(BFT_SIM_HOTSTUFF)
  out.emplace_back("hotstuff");
#endif
  return out;
}

std::optional<protocol_spec> find_protocol(std::string_view name) {
#if defined(BFT_SIM_PBFT)
  if (name == "pbft") {
    protocol_spec p;
    p.name = "pbft";
    p.make_engine = [](const engine_config& c, const crypto::signer& s, const crypto::verifier& v,
                       const persisted_state& st) {
      return std::unique_ptr<engine>(pbft::make_engine(c, s, v, st));
    };
    p.inspector = pbft::make_inspector();
    using m = pbft::mutant;
    p.mutants = {
        {"view_change_drops_prepared", m::view_change_drops_prepared},
        {"accept_outside_watermarks", m::accept_outside_watermarks},
        {"commit_after_2f", m::commit_after_2f},
        {"forget_log_on_restart", m::forget_log_on_restart},
        {"skip_certificate_check", m::skip_certificate_check},
        {"new_view_not_recomputed", m::new_view_not_recomputed},
    };
    return p;
  }
#endif
#if defined(BFT_SIM_HOTSTUFF)
  if (name == "hotstuff") {
    protocol_spec p;
    p.name = "hotstuff";
    p.make_engine = [](const engine_config& c, const crypto::signer& s, const crypto::verifier& v,
                       const persisted_state& st) {
      return std::unique_ptr<engine>(hotstuff::make_engine(c, s, v, st));
    };
    p.inspector = hotstuff::make_inspector();
    using m = hotstuff::mutant;
    auto bit = [](m x) { return static_cast<std::uint64_t>(x); };
    p.mutants = {
        {"vote_without_lock_check", bit(m::vote_without_lock_check)},
        {"commit_on_two_chain", bit(m::commit_on_two_chain)},
        {"accept_qc_with_duplicate_signer", bit(m::accept_qc_with_duplicate_signer)},
        {"vote_before_persist", bit(m::vote_before_persist)},
        {"commit_gapped_chain", bit(m::commit_gapped_chain)},
        {"count_duplicate_votes", bit(m::count_duplicate_votes)},
    };
    return p;
  }
#endif
  (void)name;
  return std::nullopt;
}

// The mutant names mirror the enumerators of each engine's mutants.hpp (which has no name
// table); a new mutant there needs one line here.
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
  for (std::uint32_t s = first; s < first + count && s < twins_scenarios; ++s) {
    o.twins_scenario = s;
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
