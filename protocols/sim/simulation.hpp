#pragma once
/// Internal to the simulator (protocols/sim): the world of one seeded run, `simulation`, with
/// its instances, wire frames and events. Its member functions live in simulation.cpp (set-up,
/// events, crashes, pauses, feeding the engines), simulation_network.cpp (sending, partitions,
/// routing), simulation_clients.cpp (the clients) and simulation_checks.cpp (commits through
/// the checkers, state transfer, coverage). What it draws with is the fault plan
/// (fault_plan.hpp); the Byzantine roles are one table (roles.hpp), the checkers one list
/// (checkers.hpp). The public interface is simulator.hpp.
#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "crypto/fake_signer.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/sim/app.hpp"
#include "protocols/sim/checkers.hpp"
#include "protocols/sim/fault_plan.hpp"
#include "protocols/sim/rng.hpp"
#include "protocols/sim/roles.hpp"
#include "protocols/sim/simulator.hpp"
#include "protocols/sim/twins_schedule.hpp"

namespace bft::sim::detail {

constexpr std::uint64_t units_per_tick = 4;
constexpr std::uint64_t client_secret_base = 1'000'000;

inline std::uint64_t hash_bytes(byte_view b) {
  std::uint64_t h = 0x6a09e667f3bcc908ULL ^ b.size();
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= std::uint64_t{b[i + k]} << (8 * k);
    h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t tail = 0;
  for (int k = 0; i < b.size() && k < 8; ++i, ++k) tail |= std::uint64_t{b[i]} << (8 * k);
  return mix64(h ^ tail);
}

inline std::string hex_short(const digest& d) { return to_hex(byte_view(d.data(), 6)); }

/// One frame on the wire, shared by every copy of a broadcast.
struct wire {
  bytes frame;
  std::optional<statement> stmt; ///< what it commits its signer to (nullopt: nothing)
  frame_kind kind = frame_kind::other;
  std::uint64_t hash = 0;
};

enum class ev_kind : std::uint8_t {
  deliver,
  client,
  sync,
  fetch_request,
  fetch_reply,
  fetch_timeout,
  crash,
  restart,
  pause,  ///< --pause: freeze the target (aux 1: the leader of the moment instead)
  resume, ///< --pause: unfreeze, aux = owed ticks, then drain the inbox
};

struct sim_event {
  std::uint64_t time = 0;
  std::uint64_t order = 0;
  ev_kind kind = ev_kind::deliver;
  std::size_t target = 0; ///< instance index
  std::size_t source = 0; ///< instance index of the sender (deliver / fetch)
  std::shared_ptr<const wire> msg;
  std::shared_ptr<const client_request> request;
  std::shared_ptr<const app_snapshot> snapshot;
  std::uint64_t aux = 0; ///< generation, index or flag, by kind
};

struct later {
  bool operator()(const sim_event& a, const sim_event& b) const {
    return std::tie(a.time, a.order) > std::tie(b.time, b.order);
  }
};

using stmt_key = std::tuple<std::uint32_t, std::uint8_t, std::uint64_t, std::uint64_t>;
inline stmt_key key_of(const statement& s) { return {s.signer.value(), s.phase, s.view, s.seq}; }

struct partition_window {
  std::uint64_t start = 0, end = 0; ///< in units
  enum class shape : std::uint8_t { halves, one_node, one_way } kind = shape::halves;
  std::uint64_t group_mask = 0; ///< instances in group 1 (halves, one_way source side)
  std::size_t node = 0;         ///< isolated node (one_node)
};

struct instance {
  std::size_t idx = 0;
  replica_id id{0};
  std::unique_ptr<crypto::fake_signer> signer;
  engine_config cfg;
  std::unique_ptr<engine> eng;
  bool up = true;
  bool honest = true;    ///< an honest key: checked by K1–K4, K6, K7
  bool twin = false;     ///< one of the two Twins instances
  bool amnesiac = false; ///< honest, but restarts once with its record deleted (--amnesia)
  bool paused = false;   ///< --pause: frozen; events addressed to it wait in `inbox`
  std::vector<sim_event> inbox;
  std::uint32_t byz = 0; ///< bit i: role i of `byzantine_roles`
  persisted_state durable;
  std::vector<persist_op> pending;
  std::deque<std::vector<outbound>> held;
  bool sync_scheduled = false;
  std::uint64_t generation = 0;
  application app;
  engine_status last{};
  bool have_last = false;
  std::optional<state_transfer_request> transfer;
  std::size_t transfer_attempt = 0;
  std::uint64_t transfer_gen = 0;
  std::vector<std::shared_ptr<const wire>> history; ///< sent frames, for replay
  std::vector<std::shared_ptr<const wire>> heard;   ///< fork role: received statements
  /// late role: conflicting variants signed, with the time they are to be delivered.
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const wire>>> late;
  explicit instance(std::uint64_t interval) : app(interval) {}
};

struct client_state {
  std::unique_ptr<crypto::fake_signer> signer;
  std::uint64_t next_seq = 1;
  std::shared_ptr<const client_request> outstanding;
  std::uint64_t submitted_at = 0;
  std::uint64_t last_sent = 0;
  std::uint64_t next_submit = 0;
  std::set<std::uint32_t> executed_by;
  std::vector<std::size_t> targets; ///< instances this client submits to
};

class simulation final : private role_host, private check_host {
public:
  /// A Twins scenario is its own seed, so `--twins --scenario S` replays exactly what the
  /// enumeration ran. Each random stream is the run seed mixed with its salt.
  explicit simulation(const options& o)
      : o_(o), seed_(o.twins_scenario ? *o.twins_scenario : o.seed),
        rng_(mix64(seed_ ^ 0x5157'0000ULL)), amnesia_rng_(mix64(seed_ ^ 0xa3e5'0000ULL)),
        pause_rng_(mix64(seed_ ^ 0x9a05'0000ULL)), checkers_(make_checkers()) {
    for (const auto& r : byzantine_roles) role_rng_.emplace_back(role_stream_seed(r, seed_));
  }
  seed_result run();

private:
  // ----------------------------------------------------------------------------- setup
  void setup();
  void setup_twins();
  void draw_faults();
  void draw_roles(instance& in);

  // ------------------------------------------------------------------------ event queue
  void push(std::uint64_t time, ev_kind k, std::size_t target, std::size_t source,
            std::uint64_t aux, std::shared_ptr<const wire> msg = nullptr,
            std::shared_ptr<const client_request> req = nullptr,
            std::shared_ptr<const app_snapshot> snap = nullptr);
  void trace(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d = 0);
  template <class... A>
  void note(const A&... parts) {
    if (!o_.log) return;
    std::ostringstream os;
    os << "t=" << now_ / units_per_tick << "." << now_ % units_per_tick << " ";
    (os << ... << parts);
    o_.log(os.str());
  }
  [[nodiscard]] bool stopped() const;

  /// Runs `hook` on every checker in list order until one fails.
  template <class Hook>
  void check(Hook&& hook) {
    for (auto& c : checkers_) {
      if (stopped()) return;
      hook(*c);
    }
  }
  /// The random stream of role i: the shared one, or its own.
  rng& role_stream(std::size_t i) {
    return byzantine_roles[i].draw == role_draw::shared_mask ? rng_ : role_rng_[i];
  }
  /// Runs the hook of each role instance `in` has, in table order, with its stream.
  template <class Hook>
  void each_role(const instance& in, Hook&& hook) {
    for (std::size_t i = 0; i < byzantine_roles.size(); ++i) {
      if (!((in.byz >> i) & 1)) continue;
      role_ctx c{*this, role_stream(i), plan_};
      hook(byzantine_roles[i], c);
    }
  }

  // ------------------------------------------------------------------------- handlers
  void handle(const sim_event& e);
  // --pause: a replica frozen like a process under SIGSTOP (options::pause).
  void draw_pauses(const std::vector<std::size_t>& honest);
  void pause(instance& target, bool leader);
  void resume(instance& target, std::uint64_t owed);
  void crash(instance& in, std::uint64_t flags);
  void restart(instance& in, bool amnesia);
  bool build_engine(instance& in);

  // ------------------------------------------------------------------ feeding an engine
  void feed(instance& in, event first);
  void apply_ready(instance& in, ready& r, std::deque<event>& q);
  void flush_writes(instance& in);
  void flush(instance& in);

  // ---------------------------------------------------------------------- sending
  std::shared_ptr<const wire> make_wire(const instance& in, bytes frame);
  std::vector<std::size_t> recipients(const instance& in, const std::optional<replica_id>& to);
  void release(instance& in, std::vector<outbound>& msgs);
  void byzantine_send(instance& in, const std::shared_ptr<const wire>& w,
                      const std::vector<std::size_t>& rcpt);
  /// The Twins round a frame of instance `from` belongs to: the round of the view the sender is
  /// in when it sends (after the step, so a proposal made on entering a view belongs to that
  /// view's round); views after the last round keep the last one.
  [[nodiscard]] const twins_round& round_of(std::size_t from) const;
  /// A delivery rule of the sender's Twins round holds back this frame.
  [[nodiscard]] bool twins_dropped(std::size_t from, std::size_t to, frame_kind k) const;
  [[nodiscard]] bool link_open(std::size_t from, std::size_t to) const;
  std::uint64_t draw_delay();
  void route(std::size_t from, std::size_t to, const std::shared_ptr<const wire>& w);
  void route_raw(std::size_t from, std::size_t to, ev_kind k, std::uint64_t aux,
                 std::shared_ptr<const client_request> req,
                 std::shared_ptr<const app_snapshot> snap);

  // ----------------------------------------------------------------------- clients
  // simulation_clients.cpp: clients sign requests, submit them to their targets, retransmit,
  // and move on once f + 1 replicas executed them; `submitted_` is what K6 checks against.
  void drive_clients();
  void send_request(client_state& cs);
  void client_saw_execution(const instance& in, const client_request& r);

  // ------------------------------------------------------------------ commits, checks
  void apply_committed(instance& in, const committed_entry& e, std::deque<event>& q);

  // ------------------------------------------------------------------ state transfer
  void start_transfer(instance& in, const state_transfer_request& req, std::deque<event>& q);
  void send_fetch(instance& in);
  void next_fetch(instance& in);

  // ---------------------------------------------------------------------- coverage
  void observe(instance& in);

  // --------------------------------------------------------------- stabilisation, end
  void stabilise();

  // ------------------------------------------------ role_host, check_host (roles, checkers)
  wire_ptr variant(instance& in, std::optional<bytes> frame) override;
  void send_to(std::size_t from, std::size_t to, const wire_ptr& w) override { route(from, to, w); }
  std::vector<std::size_t> everyone_else(const instance& in) override {
    return recipients(in, std::nullopt);
  }
  void schedule_crash(std::uint64_t time, std::size_t idx, std::uint64_t flags) override {
    push(time, ev_kind::crash, idx, 0, flags);
  }
  void schedule_restart(std::uint64_t time, std::size_t idx, bool amnesia) override {
    push(time, ev_kind::restart, idx, 0, amnesia ? 1 : 0);
  }
  [[nodiscard]] std::uint64_t now() const override { return now_; }
  [[nodiscard]] std::uint64_t stabilisation() const override { return stab_; }
  [[nodiscard]] const protocol_inspector& inspector() const override {
    return *o_.protocol.inspector;
  }
  void log_line(const std::string& line) override { note(line); }
  void fail(std::string checker, std::string detail) override;
  [[nodiscard]] const options& opts() const override { return o_; }
  [[nodiscard]] std::size_t instance_count() const override { return inst_.size(); }
  [[nodiscard]] const instance& at(std::size_t idx) const override { return *inst_[idx]; }
  [[nodiscard]] std::size_t n() const override { return n_; }
  [[nodiscard]] std::size_t f() const override { return f_; }
  [[nodiscard]] std::uint64_t end() const override { return end_; }
  [[nodiscard]] bool honest_key(replica_id id) const override;
  [[nodiscard]] std::optional<submission> submitted(const public_key& client,
                                                    std::uint64_t seq) const override;
  [[nodiscard]] std::optional<statement> statement_of(const instance& in,
                                                      byte_view frame) const override {
    return o_.protocol.inspector->statement_of(frame, vs_, verifier_, in.cfg);
  }
  void count_evidence() override { ++result_.cov.evidence; }

  const options& o_;
  const fault_plan& plan_ = default_fault_plan;
  std::uint64_t seed_;        ///< the run's seed (a Twins scenario's number)
  rng rng_;                   ///< the shared stream: network, crashes, clients, legacy roles
  rng amnesia_rng_;           ///< honest amnesia draws and recovery nonces only
  rng pause_rng_;             ///< --pause draws only
  std::vector<rng> role_rng_; ///< role i's own stream (unused for shared-stream roles)
  std::vector<std::unique_ptr<checker>> checkers_;
  std::vector<std::size_t> paused_; ///< --pause: frozen instances, in pause order
  crypto::fake_verifier verifier_;
  validator_set vs_;
  std::size_t n_ = 0, f_ = 0;
  std::uint64_t now_ = 0, end_ = 0, stab_ = 0, order_ = 0;
  std::uint64_t first_view_ = 0;
  std::vector<std::unique_ptr<instance>> inst_;
  std::vector<client_state> clients_;
  std::priority_queue<sim_event, std::vector<sim_event>, later> queue_;
  // faults
  std::uint64_t loss_pm_ = 0, dup_pm_ = 0;
  std::uint64_t min_delay_ = 1, max_delay_ = 4, post_min_delay_ = 1, post_max_delay_ = 4;
  bool async_sync_ = false;
  std::vector<partition_window> partitions_;
  std::vector<twins_round> rounds_; ///< Twins: partition and leader per round
  bool split_brain_ = false;
  std::vector<std::uint8_t> group_; ///< split brain: the side of each instance
  std::map<std::pair<public_key, std::uint64_t>,
           std::pair<std::shared_ptr<const client_request>, std::uint64_t>>
      submitted_; ///< every request a client signed, and when (units)
  std::uint64_t max_view_seen_ = 0, max_stable_ = 0;
  std::uint64_t trace_ = 0x243f6a8885a308d3ULL;
  seed_result result_;
};

} // namespace bft::sim::detail
