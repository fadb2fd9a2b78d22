#include "protocols/sim/campaign.hpp"

#include <algorithm>

// An engine is linked in only when its target exists and its factory and inspector headers
// are there (engines land in steps).
#if defined(BFT_SIM_HAVE_PBFT) && __has_include("protocols/pbft/factory.hpp") &&                   \
                                                __has_include("protocols/pbft/inspector.hpp")
#define BFT_SIM_PBFT 1
#include "protocols/pbft/factory.hpp"
#include "protocols/pbft/inspector.hpp"
#include "protocols/pbft/messages.hpp"
#include "protocols/pbft/mutants.hpp"
#endif
#if defined(BFT_SIM_HAVE_HOTSTUFF) && __has_include(                                               \
                                          "protocols/hotstuff/factory.hpp") &&                     \
                                          __has_include("protocols/hotstuff/inspector.hpp")
#define BFT_SIM_HOTSTUFF 1
#include "protocols/hotstuff/block.hpp"
#include "protocols/hotstuff/factory.hpp"
#include "protocols/hotstuff/inspector.hpp"
#include "protocols/hotstuff/mutants.hpp"
#endif

namespace bft::sim {
namespace {

/// The envelope type at the front of every frame (little endian), or 0.
[[maybe_unused]] std::uint16_t envelope_type(byte_view frame) {
  if (frame.size() < 2) return 0;
  return static_cast<std::uint16_t>(frame[0] | (frame[1] << 8));
}

} // namespace

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
    p.classify = [](byte_view f) {
      using t = pbft::msg_type;
      switch (static_cast<t>(envelope_type(f))) {
      case t::pre_prepare: return frame_kind::proposal;
      case t::prepare:
      case t::commit: return frame_kind::vote;
      case t::view_change:
      case t::new_view: return frame_kind::view_change;
      case t::fetch_batch:
      case t::batch_reply: return frame_kind::fetch;
      case t::checkpoint:
      case t::request_relay: return frame_kind::other;
      }
      return frame_kind::other;
    };
    for (const auto& m : pbft::mutant_names)
      p.mutants.push_back({std::string(m.name), static_cast<std::uint64_t>(m.bit)});
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
    p.classify = [](byte_view f) {
      using t = hotstuff::msg_type;
      switch (static_cast<t>(envelope_type(f))) {
      case t::proposal: return frame_kind::proposal;
      case t::vote: return frame_kind::vote;
      case t::new_view: return frame_kind::view_change;
      case t::block_request:
      case t::block_response: return frame_kind::fetch;
      }
      return frame_kind::other;
    };
    for (const auto& m : hotstuff::mutant_names)
      p.mutants.push_back({std::string(m.name), static_cast<std::uint64_t>(m.bit)});
    return p;
  }
#endif
  (void)name;
  return std::nullopt;
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
