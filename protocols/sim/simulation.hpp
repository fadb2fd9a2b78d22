#pragma once
/// Internal to the simulator (protocols/sim): the world of one seeded run, `simulation`, with
/// its instances, wire frames and events. Its member functions live in simulation.cpp (set-up,
/// events, crashes, pauses, feeding the engines), simulation_network.cpp (sending, Byzantine
/// behaviours, partitions, routing) and simulation_checks.cpp (clients, the checkers K1-K9,
/// state transfer, coverage). The public interface is simulator.hpp.
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
#include "protocols/sim/rng.hpp"
#include "protocols/sim/simulator.hpp"

namespace bft::sim::detail {

/// Twins delivery rules: bit k of twins_drop::kinds is frame_kind k + 1 (letters p, v, n, f);
/// this bit is every other kind (letter o).
constexpr std::string_view drop_kind_letters = "pvnf";
constexpr std::uint8_t drop_other_bit = 0x80;

constexpr std::uint64_t units_per_tick = 4;
constexpr std::uint64_t client_secret_base = 1'000'000;
constexpr std::uint64_t fetch_timeout_units = 8 * units_per_tick;
constexpr std::uint64_t client_retransmit_units = 12 * units_per_tick;

/// 64-bit mixing hash for the trace (not cryptographic; cheap and platform independent).
constexpr std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

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

// Byzantine behaviours (bit set per Byzantine replica).
enum byz_bit : std::uint32_t {
  byz_equivocate = 1u << 0,
  byz_silent = 1u << 1,
  byz_replay = 1u << 2,
  byz_future = 1u << 3,
  byz_badsig = 1u << 4,
  byz_forge = 1u << 5,
  byz_amnesia = 1u << 6,
  byz_bad_snapshot = 1u << 7,
  byz_all = (1u << 8) - 1,
  /// Drawn apart from byz_all (from the fork stream, so seeds without it replay as before):
  /// as leader, propose to some replicas a fork on an older certified block it received
  /// (`protocol_inspector::fork_variant`), sometimes with a forged QC on top.
  byz_fork = 1u << 8,
  /// Drawn apart too (from the late stream): sign a conflicting variant of a frame it sends
  /// and deliver it, to every other replica, only some ticks later, as one would to a replica
  /// that restarted meanwhile. A restarted replica that forgot what it signed is caught (K4)
  /// voting twice, which a crash-only world with honest leaders cannot show (H24).
  byz_late = 1u << 9,
};

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
  std::uint32_t byz = 0;
  persisted_state durable;
  std::vector<persist_op> pending;
  std::deque<std::vector<outbound>> held;
  bool sync_scheduled = false;
  std::uint64_t generation = 0;
  application app;
  std::map<std::uint64_t, digest> committed_ids;
  std::set<std::pair<public_key, std::uint64_t>> executed;
  engine_status last{};
  bool have_last = false;
  std::optional<state_transfer_request> transfer;
  std::size_t transfer_attempt = 0;
  std::uint64_t transfer_gen = 0;
  std::vector<std::shared_ptr<const wire>> history; ///< sent frames, for replay
  std::vector<std::shared_ptr<const wire>> heard;   ///< byz_fork: received statements
  /// byz_late: conflicting variants signed, with the time they are to be delivered.
  std::vector<std::pair<std::uint64_t, std::shared_ptr<const wire>>> late;
  std::map<stmt_key, digest> received; ///< K8: statements seen
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

class simulation {
public:
  /// A Twins scenario is its own seed, so `--twins --scenario S` replays exactly what the
  /// enumeration ran.
  explicit simulation(const options& o)
      : o_(o), rng_(mix64((o.twins_scenario ? *o.twins_scenario : o.seed) ^ 0x5157'0000ULL)),
        fork_rng_(mix64((o.twins_scenario ? *o.twins_scenario : o.seed) ^ 0xf04c'0000ULL)),
        amnesia_rng_(mix64((o.twins_scenario ? *o.twins_scenario : o.seed) ^ 0xa3e5'0000ULL)),
        late_rng_(mix64((o.twins_scenario ? *o.twins_scenario : o.seed) ^ 0x1a7e'0000ULL)),
        pause_rng_(mix64((o.twins_scenario ? *o.twins_scenario : o.seed) ^ 0x9a05'0000ULL)) {}
  seed_result run();

private:
  // ----------------------------------------------------------------------------- setup
  void setup();
  void setup_twins();
  void draw_faults();

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
  void fail(std::string checker, std::string detail);

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
  [[nodiscard]] bool honest_key(replica_id id) const;
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
  void drive_clients();
  void send_request(client_state& cs);
  void client_saw_execution(const instance& in, const client_request& r);

  // ------------------------------------------------------------------ commits, checks
  void apply_committed(instance& in, const committed_entry& e, std::deque<event>& q);
  /// K4 on every frame that leaves any replica: a statement signed by an honest key (sent by
  /// its owner or relayed by another replica) must not conflict with an earlier one.
  void check_honest_statement(const wire& w);
  void note_received(instance& in, const wire& w);
  void check_evidence(const instance& in, const evidence& ev);

  // ------------------------------------------------------------------ state transfer
  void start_transfer(instance& in, const state_transfer_request& req, std::deque<event>& q);
  void send_fetch(instance& in);
  void next_fetch(instance& in);

  // ---------------------------------------------------------------------- coverage
  void observe(instance& in);

  // --------------------------------------------------------------- stabilisation, end
  void stabilise();
  void final_checks();
  const options& o_;
  rng rng_;
  rng fork_rng_;                    ///< byz_fork decisions only, so other seeds keep their draws
  rng amnesia_rng_;                 ///< honest amnesia draws and recovery nonces only
  rng late_rng_;                    ///< byz_late decisions only (--late-equivocation)
  rng pause_rng_;                   ///< --pause draws only
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
  // checker state
  std::map<std::uint64_t, std::pair<digest, std::uint32_t>> agreed_;
  std::map<std::uint64_t, std::pair<digest, std::uint32_t>> roots_;
  std::map<stmt_key, digest> honest_said_;
  std::map<std::pair<public_key, std::uint64_t>,
           std::pair<std::shared_ptr<const client_request>, std::uint64_t>>
      submitted_;
  std::map<std::uint32_t, std::string> equivocation_reached_; ///< culprit -> first seen
  std::set<std::uint32_t> accused_;
  std::uint64_t max_view_seen_ = 0, max_stable_ = 0;
  std::uint64_t fresh_index_ = ~std::uint64_t{0}; ///< K7: first entry with a fresh request
  std::uint64_t trace_ = 0x243f6a8885a308d3ULL;
  seed_result result_;
};

} // namespace bft::sim::detail
