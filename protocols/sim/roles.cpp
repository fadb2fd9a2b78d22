#include "protocols/sim/roles.hpp"

#include <sstream>

#include "protocols/sim/simulation.hpp"

// The Byzantine roles: one entry each, in the order their hooks run.
namespace bft::sim::detail {

namespace {

void silent_before(role_ctx& c, byz_send& s) {
  if (c.draw.chance(c.plan.silent_pm)) s.dropped = true;
}

void forge_before(role_ctx& c, byz_send& s) {
  if (!c.draw.chance(c.plan.forge_pm)) return;
  if (auto f = c.host.variant(s.in, c.host.inspector().forged_certificate_variant(
                                        s.honest->frame, *s.in.signer, s.in.cfg, c.draw.next())))
    s.main = f;
}

void badsig_before(role_ctx& c, byz_send& s) {
  if (!c.draw.chance(c.plan.badsig_pm) || s.main->frame.size() < c.plan.badsig_tail) return;
  bytes b = s.main->frame;
  b[b.size() - 1 - c.draw.below(c.plan.badsig_tail)] ^=
      static_cast<std::uint8_t>(c.draw.between(1, 255));
  s.main = c.host.variant(s.in, std::move(b));
}

void equivocate_before(role_ctx& c, byz_send& s) {
  if (!c.draw.chance(c.plan.equivocate_pm)) return;
  s.other = c.host.variant(s.in, c.host.inspector().conflicting_variant(
                                     s.honest->frame, *s.in.signer, s.in.cfg, c.draw.next()));
}

// One recipient gets the honest proposal, the others a fork on an older block (one of the
// newest ones found), with the forger's vote for it.
void fork_before(role_ctx& c, byz_send& s) {
  if (s.rcpt.size() <= 1 || !c.draw.chance(c.plan.fork_pm)) return;
  const bool forge_qc = c.draw.chance(c.plan.fork_forged_qc_pm);
  std::vector<std::vector<bytes>> found;
  for (auto it = s.in.heard.rbegin();
       it != s.in.heard.rend() && found.size() < c.plan.fork_candidates; ++it) {
    auto v = c.host.inspector().fork_variant(s.honest->frame, (*it)->frame, *s.in.signer, s.in.cfg,
                                             forge_qc);
    if (!v.empty()) found.push_back(std::move(v));
  }
  if (found.empty()) return;
  for (auto& b : found[c.draw.below(found.size())])
    if (auto v = c.host.variant(s.in, std::move(b))) s.fork.push_back(v);
  s.keep_honest = c.draw.below(s.rcpt.size());
  std::ostringstream os;
  os << "replica " << s.in.idx << " forks" << (forge_qc ? " with a forged QC" : "")
     << ", the honest proposal only to " << s.rcpt[s.keep_honest];
  c.host.log_line(os.str());
}

void fork_receive(role_ctx& c, instance& in, const wire_ptr& w) {
  if (!w->stmt) return;
  if (in.heard.size() >= c.plan.fork_heard) in.heard.erase(in.heard.begin());
  in.heard.push_back(w);
}

// Sign the conflicting variant now, deliver it to the others later; deliver what is due.
void late_after(role_ctx& c, byz_send& s) {
  auto& in = s.in;
  if (c.draw.chance(c.plan.late_pm)) {
    if (auto lv = c.host.variant(in, c.host.inspector().conflicting_variant(
                                         s.honest->frame, *in.signer, in.cfg, c.draw.next())))
      in.late.emplace_back(c.host.now() +
                               c.draw.between(c.plan.late_ticks.lo, c.plan.late_ticks.hi) *
                                   units_per_tick,
                           lv);
  }
  while (!in.late.empty() && in.late.front().first <= c.host.now()) {
    auto lv = in.late.front().second;
    in.late.erase(in.late.begin());
    for (auto d : c.host.everyone_else(in)) c.host.send_to(in.idx, d, lv);
  }
}

void future_after(role_ctx& c, byz_send& s) {
  if (!c.draw.chance(c.plan.future_pm)) return;
  if (auto fv =
          c.host.variant(s.in, c.host.inspector().future_view_variant(
                                   s.honest->frame, *s.in.signer, s.in.cfg,
                                   c.draw.between(c.plan.future_views.lo, c.plan.future_views.hi))))
    for (auto d : s.rcpt) c.host.send_to(s.in.idx, d, fv);
}

void replay_after(role_ctx& c, byz_send& s) {
  if (!c.draw.chance(c.plan.replay_pm) || s.in.history.empty()) return;
  auto old = s.in.history[c.draw.below(s.in.history.size())];
  auto all = c.host.everyone_else(s.in);
  if (!all.empty()) c.host.send_to(s.in.idx, all[c.draw.below(all.size())], old);
}

// Crash once before stabilisation and restart with the safety record wiped.
void amnesia_setup(role_ctx& c, instance& in) {
  const auto stab = c.host.stabilisation();
  const auto at = c.draw.between(units_per_tick, stab > 1 ? stab - 1 : 1);
  c.host.schedule_crash(at, in.idx, 1);
  c.host.schedule_restart(
      at + c.draw.between(c.plan.byz_amnesia_down_ticks.lo, c.plan.byz_amnesia_down_ticks.hi) *
               units_per_tick,
      in.idx, true);
}

void bad_snapshot_serve(role_ctx& c, instance&, app_snapshot& snap) {
  if (c.draw.chance(c.plan.bad_snapshot_pm)) snap.chain[0] ^= 0x5a;
}

bool late_enabled(const options& o) { return o.late_equivocation; }

} // namespace

const std::array<byz_role, 10> byzantine_roles{{
    {.name = "silent",
     .description = "drops frames it sends",
     .draw = role_draw::shared_mask,
     .mask_bit = 1,
     .before_send = silent_before},
    {.name = "forge",
     .description = "sends a variant with a forged certificate instead",
     .draw = role_draw::shared_mask,
     .mask_bit = 5,
     .before_send = forge_before},
    {.name = "badsig",
     .description = "flips a byte in a frame's last bytes (a bad signature)",
     .draw = role_draw::shared_mask,
     .mask_bit = 4,
     .before_send = badsig_before},
    {.name = "equivocate",
     .description = "signs a conflicting variant, to some recipients or both to the only one",
     .draw = role_draw::shared_mask,
     .mask_bit = 0,
     .before_send = equivocate_before},
    {.name = "fork",
     .description = "as leader, proposes to all but one recipient a fork on an older block",
     .draw = role_draw::own_stream,
     .salt = 0xf04c'0000ULL,
     .role_pm = &fault_plan::fork_role_pm,
     .before_send = fork_before,
     .on_receive = fork_receive},
    {.name = "late",
     .description = "signs a conflicting variant and delivers it to everyone ticks later",
     .draw = role_draw::own_stream,
     .salt = 0x1a7e'0000ULL,
     .role_pm = &fault_plan::late_role_pm,
     .enabled = late_enabled,
     .after_send = late_after},
    {.name = "future",
     .description = "also sends a variant of a frame for a later view",
     .draw = role_draw::shared_mask,
     .mask_bit = 3,
     .after_send = future_after},
    {.name = "replay",
     .description = "resends an old frame of its own to one replica",
     .draw = role_draw::shared_mask,
     .mask_bit = 2,
     .after_send = replay_after},
    {.name = "amnesia",
     .description = "crashes once and restarts with its safety record wiped",
     .draw = role_draw::shared_mask,
     .mask_bit = 6,
     .at_setup = amnesia_setup},
    {.name = "bad_snapshot",
     .description = "serves corrupted snapshots to state transfer",
     .draw = role_draw::shared_mask,
     .mask_bit = 7,
     .on_snapshot = bad_snapshot_serve},
}};

std::uint32_t shared_role_mask() {
  std::uint32_t m = 0;
  for (const auto& r : byzantine_roles)
    if (r.draw == role_draw::shared_mask) m |= 1u << r.mask_bit;
  return m;
}

std::uint32_t roles_of_mask(std::uint32_t mask) {
  std::uint32_t roles = 0;
  for (std::size_t i = 0; i < byzantine_roles.size(); ++i) {
    const auto& r = byzantine_roles[i];
    if (r.draw == role_draw::shared_mask && ((mask >> r.mask_bit) & 1)) roles |= 1u << i;
  }
  return roles;
}

std::string role_names(std::uint32_t roles) {
  std::string out;
  for (std::size_t i = 0; i < byzantine_roles.size(); ++i)
    if ((roles >> i) & 1) {
      if (!out.empty()) out += ',';
      out += byzantine_roles[i].name;
    }
  return out;
}

std::uint64_t role_stream_seed(const byz_role& r, std::uint64_t run_seed) {
  return mix64(run_seed ^ (r.salt != 0 ? r.salt : name_salt(r.name)));
}

} // namespace bft::sim::detail
