#include "protocols/sim/fault_plan.hpp"

#include <sstream>

namespace bft::sim {

namespace {

struct line {
  std::ostringstream os;
  explicit line(const char* group) { os << "fault plan: " << group << ":"; }
  line& operator()(const char* name, std::uint64_t v) {
    os << " " << name << "=" << v;
    return *this;
  }
  line& operator()(const char* name, const draw_range& r) {
    os << " " << name << "=" << r.lo << "-" << r.hi;
    return *this;
  }
};

} // namespace

std::vector<std::string> fault_plan::describe() const {
  std::vector<std::string> out;
  out.push_back(
      line("network")("delay_units", delay_units)("net_max_delay_units", net_max_delay_units)(
          "twins_delay_units", twins_delay_units)("loss_pm", loss_pm)("dup_pm", dup_pm)(
          "partition_windows", partition_windows)("partition_ticks", partition_ticks)
          .os.str());
  out.push_back(line("crashes")("crashes", crashes)("crash_margin_ticks", crash_margin_ticks)(
                    "crash_down_ticks", crash_down_ticks)("lose_unsynced_pm", lose_unsynced_pm)(
                    "sync_units", sync_units)
                    .os.str());
  out.push_back(line("clients")("client_first_ticks", client_first_ticks)("client_txs", client_txs)(
                    "client_think_ticks", client_think_ticks)(
                    "client_retransmit_ticks", client_retransmit_ticks)("fetch_timeout_ticks",
                                                                        fetch_timeout_ticks)
                    .os.str());
  out.push_back(
      line("byzantine")("equivocate_pm", equivocate_pm)("equivocate_each_pm", equivocate_each_pm)(
          "silent_pm", silent_pm)("replay_pm", replay_pm)("replay_history", replay_history)(
          "future_pm", future_pm)("future_views", future_views)("badsig_pm", badsig_pm)(
          "badsig_tail", badsig_tail)("forge_pm", forge_pm)(
          "byz_amnesia_down_ticks", byz_amnesia_down_ticks)("bad_snapshot_pm", bad_snapshot_pm)
          .os.str());
  out.push_back(line("byzantine, own streams")("fork_role_pm", fork_role_pm)("fork_pm", fork_pm)(
                    "fork_forged_qc_pm", fork_forged_qc_pm)("fork_candidates", fork_candidates)(
                    "fork_heard", fork_heard)("late_role_pm", late_role_pm)("late_pm", late_pm)(
                    "late_ticks", late_ticks)
                    .os.str());
  out.push_back(
      line("honest amnesia")("amnesia_earliest_ticks", amnesia_earliest_ticks)(
          "amnesia_margin_ticks", amnesia_margin_ticks)("amnesia_down_ticks", amnesia_down_ticks)
          .os.str());
  out.push_back(line("pauses")("pauses", pauses)("pause_leader_pm", pause_leader_pm)(
                    "pause_timeouts", pause_timeouts)("pause_earliest_ticks", pause_earliest_ticks)(
                    "pause_margin_ticks", pause_margin_ticks)("pause_owed_ticks", pause_owed_ticks)(
                    "pause_drain_timeouts", pause_drain_timeouts)
                    .os.str());
  return out;
}

} // namespace bft::sim
