#include "protocols/sim/simulator.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <exception>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "crypto/fake_signer.hpp"
#include "protocols/common/codec.hpp"
#include "protocols/sim/app.hpp"
#include "protocols/sim/rng.hpp"

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

namespace {

constexpr std::uint64_t mix64(std::uint64_t x);

} // namespace

std::vector<twins_round> twins_plan(const options& o) {
  if (!o.twins_scenario) return {};
  if (!o.twins_schedule.empty()) return o.twins_schedule;
  const std::uint32_t s = *o.twins_scenario;
  std::vector<twins_round> out;
  if (o.twins_sample_rules) {
    // Sampled rules: per round, no partition half of the time (rules steer single messages
    // best when everyone is connected), else one of the 15; a leader among the 4 keys; and 0
    // to twins_max_sampled_rules rules, each withholding a non-empty set of the kinds p, v, n,
    // f from a non-empty set of sender instances to a non-empty set of receiver instances.
    rng draw(mix64(mix64(s) ^ (std::uint64_t{o.twins_rounds} << 40) ^ 0x5a3b'1e5eULL));
    for (std::uint32_t r = 0; r < o.twins_rounds; ++r) {
      twins_round x;
      x.partition =
          draw.chance(500) ? 0 : static_cast<std::uint32_t>(draw.between(1, twins_partitions));
      x.leader = static_cast<std::uint32_t>(draw.below(4));
      const auto rules = draw.below(twins_max_sampled_rules + 1);
      for (std::uint64_t k = 0; k < rules; ++k) {
        twins_drop d;
        d.kinds = static_cast<std::uint8_t>(draw.between(1, 15));
        d.from = static_cast<std::uint8_t>(draw.between(1, 31));
        d.to = static_cast<std::uint8_t>(draw.between(1, 31));
        x.drops.push_back(d);
      }
      out.push_back(std::move(x));
    }
    return out;
  }
  if (o.twins_rounds == twins_enumerated_rounds) {
    // The enumeration: scenario s is three base-15 digits, one partition per round; the
    // twinned replica leads every round.
    std::uint32_t rest = s;
    for (std::uint32_t r = 0; r < twins_enumerated_rounds; ++r) {
      out.push_back({rest % twins_partitions + 1, 0, {}});
      rest /= twins_partitions;
    }
    return out;
  }
  // Sampled deep Twins: the same choices per round (one of the 15 partitions) plus the leader
  // of the round (one of the 4 keys, 0 being the twins), drawn from the scenario number with
  // the simulator's own generator, so `--rounds R --scenario K` replays what the sample ran.
  rng draw(mix64(mix64(s) ^ (std::uint64_t{o.twins_rounds} << 40) ^ 0x7717'5eedULL));
  for (std::uint32_t r = 0; r < o.twins_rounds; ++r) {
    twins_round x;
    x.partition = static_cast<std::uint32_t>(draw.between(1, twins_partitions));
    x.leader = static_cast<std::uint32_t>(draw.below(4));
    out.push_back(x);
  }
  return out;
}

namespace {

constexpr std::string_view drop_kind_letters = "pvnf"; // bit k: frame_kind k + 1
constexpr std::uint8_t drop_other_bit = 0x80;

/// "KINDS FROM>TO" (see parse_twins_schedule) to a rule; nullopt if malformed.
std::optional<twins_drop> parse_drop(std::string_view s) {
  twins_drop d;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '*') {
      d.kinds = 0xff;
    } else if (c == 'o') {
      d.kinds |= drop_other_bit;
    } else if (auto k = drop_kind_letters.find(c); k != std::string_view::npos) {
      d.kinds |= static_cast<std::uint8_t>(1u << k);
    } else {
      break;
    }
  }
  auto set = [&](std::uint8_t& out) {
    const std::size_t start = i;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '4'; ++i)
      out |= static_cast<std::uint8_t>(1u << (s[i] - '0'));
    return i > start;
  };
  if (d.kinds == 0 || !set(d.from) || i >= s.size() || s[i] != '>') return std::nullopt;
  ++i;
  if (!set(d.to) || i != s.size()) return std::nullopt;
  return d;
}

std::string to_string(const twins_drop& d) {
  std::string out;
  if (d.kinds == 0xff) {
    out = "*";
  } else {
    for (std::size_t k = 0; k < drop_kind_letters.size(); ++k)
      if (d.kinds & (1u << k)) out += drop_kind_letters[k];
    if (d.kinds & drop_other_bit) out += 'o';
  }
  for (int i = 0; i < 5; ++i)
    if (d.from & (1u << i)) out += static_cast<char>('0' + i);
  out += '>';
  for (int i = 0; i < 5; ++i)
    if (d.to & (1u << i)) out += static_cast<char>('0' + i);
  return out;
}

} // namespace

std::optional<std::vector<twins_round>> parse_twins_schedule(std::string_view s) {
  std::vector<twins_round> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    auto item = s.substr(0, comma);
    std::vector<twins_drop> drops;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      auto rules = item.substr(slash + 1);
      item = item.substr(0, slash);
      while (true) {
        const auto next = rules.find('/');
        auto d = parse_drop(rules.substr(0, next));
        if (!d) return std::nullopt;
        drops.push_back(*d);
        if (next == std::string_view::npos) break;
        rules.remove_prefix(next + 1);
      }
    }
    const auto colon = item.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto number = [](std::string_view d) -> std::optional<std::uint32_t> {
      if (d.empty() || d.size() > 3) return std::nullopt;
      std::uint32_t v = 0;
      for (char c : d) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
      }
      return v;
    };
    auto mask = number(item.substr(0, colon));
    auto leader = number(item.substr(colon + 1));
    if (!mask || !leader || *mask > twins_partitions || *leader > 3) return std::nullopt;
    out.push_back({*mask, *leader, std::move(drops)});
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return std::nullopt; // a trailing comma
  }
  if (out.empty() || out.size() > twins_max_rounds) return std::nullopt;
  return out;
}

std::string to_string(const std::vector<twins_round>& rounds) {
  std::string out;
  for (const auto& r : rounds) {
    if (!out.empty()) out += ',';
    out += std::to_string(r.partition) + ":" + std::to_string(r.leader);
    for (const auto& d : r.drops) {
      out += '/';
      out += to_string(d);
    }
  }
  return out;
}

namespace {

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

std::uint64_t hash_bytes(byte_view b) {
  std::uint64_t h = 0x6a09e667f3bcc908ULL ^ b.size();
  std::size_t i = 0;
  for (; i + 8 <= b.size(); i += 8) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= std::uint64_t{b[i + k]} << (8 * k);
    h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
  }
  std::uint64_t tail = 0;
  for (int k = 0; i < b.size(); ++i, ++k) tail |= std::uint64_t{b[i]} << (8 * k);
  return mix64(h ^ tail);
}

std::string hex_short(const digest& d) { return to_hex(byte_view(d.data(), 6)); }

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
stmt_key key_of(const statement& s) { return {s.signer.value(), s.phase, s.view, s.seq}; }

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

  seed_result run() {
    setup();
    std::uint64_t t = 0;
    for (; t <= end_ && !stopped(); ++t) {
      now_ = t;
      if (t == stab_) stabilise();
      while (!queue_.empty() && queue_.top().time <= t && !stopped()) {
        sim_event e = queue_.top();
        queue_.pop();
        handle(e);
      }
      if (t % units_per_tick == 0 && !stopped()) {
        drive_clients();
        for (auto& in : inst_) {
          if (stopped()) break;
          if (!in->up || in->paused) continue;
          trace(0x71c, in->idx, t);
          feed(*in, ev::tick{});
        }
      }
    }
    if (!stopped()) final_checks();
    result_.trace_hash = trace_;
    return std::move(result_);
  }

private:
  // ----------------------------------------------------------------------------- setup
  void setup() {
    const bool twins = o_.twins_scenario.has_value();
    n_ = twins ? 4 : o_.replicas;
    f_ = max_byzantine_tolerance(n_);
    if (twins) rounds_ = twins_plan(o_);
    // More Twins rounds need proportionally more time before and after stabilisation.
    const std::uint64_t twins_ticks =
        default_twins_ticks * std::max<std::size_t>(rounds_.size(), twins_enumerated_rounds) /
        twins_enumerated_rounds;
    std::uint64_t ticks = o_.ticks != 0 ? o_.ticks : (twins ? twins_ticks : default_campaign_ticks);
    end_ = ticks * units_per_tick;
    stab_ = twins ? (ticks / 3) * units_per_tick : (ticks / 2) * units_per_tick;

    std::vector<public_key> keys;
    for (std::size_t i = 0; i < n_; ++i) keys.push_back(crypto::fake_public_key(i + 1));
    vs_ = validator_set::equal_weights(keys);

    const std::size_t count = twins ? 5 : n_;
    for (std::size_t i = 0; i < count; ++i) {
      auto in = std::make_unique<instance>(o_.checkpoint_interval);
      in->idx = i;
      in->id = replica_id{static_cast<std::uint32_t>(i < n_ ? i : 0)};
      in->signer = std::make_unique<crypto::fake_signer>(in->id.value() + 1);
      engine_config c;
      c.chain_id = "sim";
      c.epoch = epoch{0};
      c.self = in->id;
      c.validators = vs_;
      c.batch_size = o_.batch_size;
      c.batch_delay_ticks = 1;
      c.base_timeout_ticks = o_.base_timeout_ticks;
      c.checkpoint_interval = o_.checkpoint_interval;
      c.mutants = o_.mutant_bits;
      in->cfg = c;
      inst_.push_back(std::move(in));
    }

    if (twins) {
      setup_twins();
    } else {
      draw_faults();
    }
    for (auto& in : inst_) {
      if (!build_engine(*in)) return;
    }
    first_view_ = inst_[0]->last.view.value();

    for (std::size_t c = 0; c < o_.clients; ++c) {
      client_state cs;
      cs.signer = std::make_unique<crypto::fake_signer>(client_secret_base + c);
      cs.next_submit = rng_.between(0, 3) * units_per_tick;
      if (twins) {
        // Client 0 reaches twin A, client 1 twin B, the others everyone: the two twins see
        // different requests, so they propose different batches (equivocation).
        for (std::size_t i = 0; i < inst_.size(); ++i) {
          if (c == 0 && i == 4) continue;
          if (c == 1 && i == 0) continue;
          cs.targets.push_back(i);
        }
      } else if (split_brain_ && c < 2) {
        for (std::size_t i = 0; i < inst_.size(); ++i)
          if (group_[i] == c) cs.targets.push_back(i);
      } else {
        for (std::size_t i = 0; i < inst_.size(); ++i) cs.targets.push_back(i);
      }
      clients_.push_back(std::move(cs));
    }
  }

  void setup_twins() {
    inst_[0]->twin = inst_[4]->twin = true;
    inst_[0]->honest = inst_[4]->honest = false;
    // Probe the first view so the schedule pins the leader of each round's view.
    {
      persisted_state empty;
      std::uint64_t v0 = 0;
      try {
        auto probe = o_.protocol.make_engine(inst_[1]->cfg, *inst_[1]->signer, verifier_, empty);
        v0 = probe->status().view.value();
      } catch (const std::exception& ex) {
        fail("C", std::string("the engine could not start: ") + ex.what());
      }
      std::vector<replica_id> sched(static_cast<std::size_t>(v0 + rounds_.size()), replica_id{0});
      // Views before the first keep the engine's own leader (unused).
      for (std::uint64_t v = 0; v < v0; ++v)
        sched[v] = replica_id{static_cast<std::uint32_t>(v % n_)};
      for (std::size_t r = 0; r < rounds_.size(); ++r)
        sched[v0 + r] = replica_id{rounds_[r].leader};
      for (auto& in : inst_) in->cfg.leader_schedule = sched;
    }
    min_delay_ = max_delay_ = 2;
    post_min_delay_ = post_max_delay_ = 2;
  }

  void draw_faults() {
    const bool net = o_.faults == fault_mode::network || o_.faults == fault_mode::all;
    const bool crash = o_.faults == fault_mode::crash || o_.faults == fault_mode::all;
    min_delay_ = 1;
    max_delay_ = 4;
    post_min_delay_ = 1;
    post_max_delay_ = 4;
    if (net) {
      loss_pm_ = rng_.between(0, 150);
      dup_pm_ = rng_.between(0, 100);
      max_delay_ = rng_.between(2, 12);
      const auto windows = rng_.between(0, 3);
      for (std::uint64_t w = 0; w < windows; ++w) {
        partition_window p;
        p.start = rng_.below(stab_);
        p.end = std::min(stab_, p.start + rng_.between(5, 50) * units_per_tick);
        switch (rng_.below(3)) {
        case 0: p.kind = partition_window::shape::halves; break;
        case 1: p.kind = partition_window::shape::one_node; break;
        default: p.kind = partition_window::shape::one_way; break;
        }
        p.group_mask = rng_.between(1, (std::uint64_t{1} << n_) - 2);
        p.node = rng_.below(n_);
        partitions_.push_back(p);
      }
    }
    // Byzantine replicas and their behaviours.
    std::vector<std::size_t> ids(n_);
    for (std::size_t i = 0; i < n_; ++i) ids[i] = i;
    for (std::size_t i = 0; i + 1 < n_; ++i) std::swap(ids[i], ids[i + rng_.below(n_ - i)]);
    const std::size_t k = std::min(o_.byzantine, n_);
    // Beyond f (positive controls) the Byzantine replicas collude as split brains: each runs
    // two honest instances with its key, one beside each half of the honest replicas, which
    // a permanent partition keeps apart, so both halves can gather quorums on their own.
    split_brain_ = k > f_ && k < n_;
    if (split_brain_) {
      group_.assign(n_, 0);
      for (std::size_t b = k; b < n_; ++b) group_[ids[b]] = (b - k) % 2;
      for (std::size_t b = 0; b < k; ++b) {
        auto& orig = *inst_[ids[b]];
        orig.honest = false;
        auto in = std::make_unique<instance>(o_.checkpoint_interval);
        in->idx = inst_.size();
        in->id = orig.id;
        in->signer = std::make_unique<crypto::fake_signer>(in->id.value() + 1);
        in->cfg = orig.cfg;
        in->honest = false;
        group_.push_back(1);
        inst_.push_back(std::move(in));
      }
    }
    for (std::size_t b = 0; b < k && !split_brain_; ++b) {
      auto& in = *inst_[ids[b]];
      in.honest = false;
      while (in.byz == 0) in.byz = static_cast<std::uint32_t>(rng_.next()) & byz_all;
      if (fork_rng_.chance(500)) in.byz |= byz_fork;
      if (o_.late_equivocation && late_rng_.chance(500)) in.byz |= byz_late;
      note("replica ", in.idx, " is Byzantine, behaviours 0x", std::hex, in.byz, std::dec);
      if (in.byz & byz_amnesia) {
        const auto at = rng_.between(units_per_tick, stab_ > 1 ? stab_ - 1 : 1);
        push(at, ev_kind::crash, in.idx, 0, 1);
        push(at + rng_.between(1, 20) * units_per_tick, ev_kind::restart, in.idx, 0, 1);
      }
    }
    if (o_.honest_amnesia != options::amnesia_mode::none && k < n_) {
      // One honest replica loses its data directory: crash, wipe, restart before stabilisation.
      auto& in = *inst_[ids[k + amnesia_rng_.below(n_ - k)]];
      in.amnesiac = true;
      in.cfg.recovering = o_.honest_amnesia == options::amnesia_mode::guarded;
      const auto span = stab_ > 40 * units_per_tick ? stab_ - 40 * units_per_tick : 1;
      const auto at = 10 * units_per_tick + amnesia_rng_.below(span);
      push(at, ev_kind::crash, in.idx, 0, 0);
      push(at + amnesia_rng_.between(1, 20) * units_per_tick, ev_kind::restart, in.idx, 0, 1);
      note("replica ", in.idx, " will restart with a deleted record (",
           in.cfg.recovering ? "guarded" : "unguarded", ")");
    }
    if (o_.pause)
      draw_pauses(k < n_ ? std::vector<std::size_t>(ids.begin() + k, ids.end())
                         : std::vector<std::size_t>{});
    if (crash) {
      async_sync_ = true;
      const auto crashes = rng_.between(1, 3);
      for (std::uint64_t c = 0; c < crashes; ++c) {
        const auto who = rng_.below(n_);
        const auto at = rng_.below(stab_ > 20 * units_per_tick ? stab_ - 20 * units_per_tick : 1);
        const auto back = at + rng_.between(2, 30) * units_per_tick;
        push(at, ev_kind::crash, who, 0, rng_.chance(500) ? 2 : 0);
        push(std::min(back, stab_), ev_kind::restart, who, 0, 0);
      }
    }
  }

  // ------------------------------------------------------------------------ event queue
  void push(std::uint64_t time, ev_kind k, std::size_t target, std::size_t source,
            std::uint64_t aux, std::shared_ptr<const wire> msg = nullptr,
            std::shared_ptr<const client_request> req = nullptr,
            std::shared_ptr<const app_snapshot> snap = nullptr) {
    sim_event e;
    e.time = time;
    e.order = order_++;
    e.kind = k;
    e.target = target;
    e.source = source;
    e.aux = aux;
    e.msg = std::move(msg);
    e.request = std::move(req);
    e.snapshot = std::move(snap);
    queue_.push(std::move(e));
  }

  void trace(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d = 0) {
    trace_ = mix64(trace_ ^ mix64(a ^ mix64(b ^ mix64(c ^ mix64(d)))));
  }

  template <class... A>
  void note(const A&... parts) {
    if (!o_.log) return;
    std::ostringstream os;
    os << "t=" << now_ / units_per_tick << "." << now_ % units_per_tick << " ";
    (os << ... << parts);
    o_.log(os.str());
  }

  [[nodiscard]] bool stopped() const { return !result_.violations.empty(); }

  void fail(std::string checker, std::string detail) {
    if (stopped()) return;
    std::ostringstream os;
    os << "t=" << now_ / units_per_tick << " " << detail;
    result_.violations.push_back({std::move(checker), os.str()});
  }

  // ------------------------------------------------------------------------- handlers
  void handle(const sim_event& e) {
    auto& in = *inst_[e.target];
    if (in.paused && e.kind != ev_kind::crash && e.kind != ev_kind::restart &&
        e.kind != ev_kind::pause && e.kind != ev_kind::resume) {
      in.inbox.push_back(e); // frozen: it waits, in arrival order
      return;
    }
    switch (e.kind) {
    case ev_kind::deliver: {
      if (!in.up) return;
      trace(0xde1, e.target, e.source, e.msg->hash);
      ++result_.cov.messages;
      note_received(in, *e.msg);
      if ((in.byz & byz_fork) && e.msg->stmt) {
        if (in.heard.size() >= 32) in.heard.erase(in.heard.begin());
        in.heard.push_back(e.msg);
      }
      feed(in, ev::received{inst_[e.source]->id, e.msg->frame});
      return;
    }
    case ev_kind::client: {
      if (!in.up) return;
      trace(0xc11, e.target, e.request->client_seq, hash_bytes(e.request->client));
      feed(in, ev::client_requests{{*e.request}});
      return;
    }
    case ev_kind::sync:
      if (!in.up || e.aux != in.generation) return;
      in.sync_scheduled = false;
      flush(in);
      return;
    case ev_kind::fetch_request: {
      if (!in.up) return;
      const app_snapshot* s = in.app.snapshot_at(e.aux);
      if (s == nullptr) return;
      auto snap = std::make_shared<app_snapshot>(*s);
      if ((in.byz & byz_bad_snapshot) && rng_.chance(700)) snap->chain[0] ^= 0x5a;
      route_raw(in.idx, e.source, ev_kind::fetch_reply, e.aux, nullptr, std::move(snap));
      return;
    }
    case ev_kind::fetch_reply: {
      if (!in.up || !in.transfer || in.transfer->index != e.aux) return;
      const auto& s = *e.snapshot;
      if (s.index != in.transfer->index || s.root() != in.transfer->state_root) {
        trace(0xbad5, in.idx, e.aux);
        next_fetch(in); // a wrong snapshot: ask the next source
        return;
      }
      if (in.app.applied() >= s.index) { // caught up meanwhile
        const auto r = in.app.root_at(s.index);
        if (r && *r != s.root())
          fail("K3", "replica " + std::to_string(in.id.value()) + " holds a root at " +
                         std::to_string(s.index) + " that differs from the certified snapshot");
      } else {
        in.app.install(s);
      }
      in.transfer.reset();
      ++in.transfer_gen;
      ++result_.cov.state_transfers;
      trace(0x57a7e, in.idx, s.index);
      note("state installed at ", in.idx, " index ", s.index);
      feed(in, ev::state_installed{s.index, s.root(), {s.last_seq.begin(), s.last_seq.end()}});
      return;
    }
    case ev_kind::fetch_timeout:
      if (!in.up || !in.transfer || e.aux != in.transfer_gen) return;
      next_fetch(in);
      return;
    case ev_kind::crash: crash(in, e.aux); return;
    case ev_kind::restart: restart(in, e.aux == 1); return;
    case ev_kind::pause: pause(in, e.aux == 1); return;
    case ev_kind::resume: resume(in, e.aux); return;
    }
  }

  // --pause: a replica frozen like a process under SIGSTOP (options::pause).
  void draw_pauses(const std::vector<std::size_t>& honest) {
    if (honest.empty()) return;
    const std::uint64_t timeout = std::max<std::uint64_t>(1, o_.base_timeout_ticks);
    const auto count = pause_rng_.between(1, 2);
    for (std::uint64_t p = 0; p < count; ++p) {
      const auto who = honest[pause_rng_.below(honest.size())];
      const bool leader = pause_rng_.chance(500);
      const auto length = pause_rng_.between(3, 8) * timeout * units_per_tick;
      const auto room =
          stab_ > length + 20 * units_per_tick ? stab_ - length - 20 * units_per_tick : 1;
      const auto at = 10 * units_per_tick + pause_rng_.below(room);
      push(at, ev_kind::pause, who, 0, leader ? 1 : 0);
      push(std::min(at + length, stab_), ev_kind::resume, who, 0, pause_rng_.between(0, 2));
    }
  }

  void pause(instance& target, bool leader) {
    instance* in = &target;
    if (leader) { // the leader of the highest view an honest replica is in, if honest and up
      const instance* best = nullptr;
      for (const auto& x : inst_)
        if (x->honest && x->up && (!best || x->last.view > best->last.view)) best = x.get();
      if (best)
        for (auto& x : inst_)
          if (x->id == best->last.leader && x->honest && !x->twin) in = x.get();
    }
    if (!in->up || in->paused) return;
    trace(0x9a05e, in->idx, now_);
    note("pause ", in->idx, " view=", in->last.view.value(),
         " committed=", in->last.committed_index);
    in->paused = true;
    paused_.push_back(in->idx);
  }

  void resume(instance& target, std::uint64_t owed) {
    // The resume event names the drawn replica; a leader pause froze another one: resume the
    // longest-paused.
    instance* in = &target;
    if (!in->paused) {
      if (paused_.empty()) return;
      in = inst_[paused_.front()].get();
    }
    paused_.erase(std::find(paused_.begin(), paused_.end(), in->idx));
    const std::uint64_t timeout = std::max<std::uint64_t>(1, o_.base_timeout_ticks);
    const auto span = pause_rng_.between(0, 2 * timeout) * units_per_tick;
    trace(0x4e5e, in->idx, owed, span);
    note("resume ", in->idx, " inbox=", in->inbox.size(), " owed ticks=", owed, " drain over ",
         span / units_per_tick, " ticks");
    in->paused = false;
    for (std::uint64_t t = 0; t < owed && in->up && !stopped(); ++t) feed(*in, ev::tick{});
    auto inbox = std::move(in->inbox);
    in->inbox.clear();
    for (std::size_t i = 0; i < inbox.size(); ++i) {
      auto e = std::move(inbox[i]);
      e.time = now_ + 1 + (inbox.size() > 1 ? span * i / (inbox.size() - 1) : 0);
      e.order = order_++;
      queue_.push(std::move(e));
    }
  }

  void crash(instance& in, std::uint64_t flags) {
    if (!in.up) return;
    if (in.paused) { // a frozen process killed: its inbox is gone with it
      in.paused = false;
      in.inbox.clear();
      paused_.erase(std::find(paused_.begin(), paused_.end(), in.idx));
    }
    trace(0xc4a5, in.idx, flags);
    note("crash ", in.idx, (flags & 2) ? " losing unsynced writes" : "",
         " pending=", in.pending.size());
    in.up = false;
    ++in.generation;
    ++result_.cov.crashes;
    const bool lose = (flags & 2) != 0;
    if (lose) {
      result_.cov.lost_writes += in.pending.size();
      in.pending.clear();
    } else {
      flush_writes(in);
    }
    in.held.clear();
    in.sync_scheduled = false;
    in.eng.reset();
    in.transfer.reset();
    ++in.transfer_gen;
    in.have_last = false;
  }

  void restart(instance& in, bool amnesia) {
    if (in.up) return;
    trace(0x4e57, in.idx, amnesia ? 1 : 0);
    note("restart ", in.idx, amnesia ? " with amnesia" : "", " app at ", in.app.applied());
    if (amnesia) in.durable.clear();
    if (!build_engine(in)) return;
    in.up = true;
    ++result_.cov.restarts;
    note("restarted ", in.idx, " view=", in.last.view.value(),
         " committed=", in.last.committed_index, " stable=", in.last.stable_index);
  }

  bool build_engine(instance& in) {
    if (in.cfg.recovering) in.cfg.recovery_nonce = amnesia_rng_.next(); // fresh per start
    try {
      in.eng = o_.protocol.make_engine(in.cfg, *in.signer, verifier_, in.durable);
    } catch (const std::exception& ex) {
      fail("C", "replica " + std::to_string(in.id.value()) +
                    " could not start from its persisted records: " + ex.what());
      return false;
    }
    in.last = in.eng->status();
    in.have_last = true;
    return true;
  }

  // ------------------------------------------------------------------ feeding an engine
  void feed(instance& in, event first) {
    std::deque<event> q;
    q.push_back(std::move(first));
    while (!q.empty() && !stopped() && in.up) {
      event e = std::move(q.front());
      q.pop_front();
      ready r = in.eng->step(e);
      apply_ready(in, r, q);
      observe(in);
    }
  }

  void apply_ready(instance& in, ready& r, std::deque<event>& q) {
    // 1. persist (into the unsynced buffer; durable at the next sync point)
    for (auto& op : r.persist) {
      trace(0x9e4, in.idx, hash_bytes(as_bytes(op.key)), op.erase ? 1 : hash_bytes(op.value));
      in.pending.push_back(std::move(op));
    }
    // 2. messages leave only once everything persisted before them is durable
    if (!in.pending.empty() && !async_sync_) flush_writes(in);
    if (!r.messages.empty()) {
      if (in.pending.empty() && in.held.empty()) {
        release(in, r.messages);
      } else {
        in.held.push_back(std::move(r.messages));
      }
    }
    if (!in.pending.empty() && !in.sync_scheduled) {
      in.sync_scheduled = true;
      push(now_ + rng_.between(1, 4), ev_kind::sync, in.idx, in.idx, in.generation);
    }
    // 3. committed entries, in index order, into the application
    for (const auto& entry : r.committed) {
      apply_committed(in, entry, q);
      if (stopped()) return;
    }
    if (o_.log)
      for (const auto& rj : r.rejected) note("rejected by ", in.idx, ": ", rj.reason);
    // 4. evidence
    for (const auto& ev : r.evidence) check_evidence(in, ev);
    // 5. state transfer
    if (r.state_transfer) start_transfer(in, *r.state_transfer, q);
  }

  void flush_writes(instance& in) {
    for (auto& op : in.pending) {
      if (op.erase) {
        in.durable.erase(op.key);
      } else {
        in.durable[op.key] = std::move(op.value);
      }
    }
    in.pending.clear();
  }

  void flush(instance& in) {
    flush_writes(in);
    while (!in.held.empty() && in.up && !stopped()) {
      auto msgs = std::move(in.held.front());
      in.held.pop_front();
      release(in, msgs);
    }
  }

  // ---------------------------------------------------------------------- sending
  std::shared_ptr<const wire> make_wire(const instance& in, bytes frame) {
    auto w = std::make_shared<wire>();
    w->frame = std::move(frame);
    w->hash = hash_bytes(w->frame);
    w->stmt = o_.protocol.inspector->statement_of(w->frame, vs_, verifier_, in.cfg);
    if (o_.protocol.classify) w->kind = o_.protocol.classify(w->frame);
    return w;
  }

  std::vector<std::size_t> recipients(const instance& in, const std::optional<replica_id>& to) {
    std::vector<std::size_t> out;
    for (const auto& other : inst_) {
      if (other->id == in.id) continue;
      if (to && other->id != *to) continue;
      out.push_back(other->idx);
    }
    return out;
  }

  void release(instance& in, std::vector<outbound>& msgs) {
    for (auto& m : msgs) {
      if (stopped()) return;
      auto rcpt = recipients(in, m.to);
      auto w = make_wire(in, std::move(m.frame));
      trace(0x5e0d, in.idx, w->hash, m.to ? m.to->value() + 1 : 0);
      check_honest_statement(*w);
      if (in.byz != 0) {
        byzantine_send(in, w, rcpt);
      } else {
        for (auto d : rcpt) route(in.idx, d, w);
      }
    }
  }

  void byzantine_send(instance& in, const std::shared_ptr<const wire>& w,
                      const std::vector<std::size_t>& rcpt) {
    const auto& insp = *o_.protocol.inspector;
    auto variant = [&](std::optional<bytes> b) -> std::shared_ptr<const wire> {
      if (!b) return nullptr;
      ++result_.cov.byzantine_frames;
      auto v = make_wire(in, std::move(*b));
      check_honest_statement(*v);
      return v;
    };
    if (in.history.size() < 64) {
      in.history.push_back(w);
    } else {
      in.history[rng_.below(in.history.size())] = w;
    }
    if ((in.byz & byz_silent) && rng_.chance(700)) return;
    std::shared_ptr<const wire> main = w;
    if ((in.byz & byz_forge) && rng_.chance(400)) {
      if (auto f =
              variant(insp.forged_certificate_variant(w->frame, *in.signer, in.cfg, rng_.next())))
        main = f;
    }
    if ((in.byz & byz_badsig) && rng_.chance(300) && main->frame.size() >= 64) {
      bytes b = main->frame;
      b[b.size() - 1 - rng_.below(64)] ^= static_cast<std::uint8_t>(rng_.between(1, 255));
      main = variant(std::move(b));
    }
    std::shared_ptr<const wire> other;
    if ((in.byz & byz_equivocate) && rng_.chance(600))
      other = variant(insp.conflicting_variant(w->frame, *in.signer, in.cfg, rng_.next()));
    // byz_fork: one recipient gets the honest proposal, the others a fork on an older block
    // (one of the newest ones found), with the forger's vote for it.
    std::vector<std::shared_ptr<const wire>> fork;
    std::size_t keep_honest = rcpt.size();
    if ((in.byz & byz_fork) && rcpt.size() > 1 && fork_rng_.chance(600)) {
      const bool forge_qc = fork_rng_.chance(400);
      std::vector<std::vector<bytes>> found;
      for (auto it = in.heard.rbegin(); it != in.heard.rend() && found.size() < 4; ++it) {
        auto v = insp.fork_variant(w->frame, (*it)->frame, *in.signer, in.cfg, forge_qc);
        if (!v.empty()) found.push_back(std::move(v));
      }
      if (!found.empty()) {
        for (auto& b : found[fork_rng_.below(found.size())])
          if (auto v = variant(std::move(b))) fork.push_back(v);
        keep_honest = fork_rng_.below(rcpt.size());
        note("replica ", in.idx, " forks", forge_qc ? " with a forged QC" : "",
             ", the honest proposal only to ", rcpt[keep_honest]);
      }
    }
    for (auto d : rcpt) {
      if (!fork.empty() && d != rcpt[keep_honest]) {
        for (const auto& f : fork) route(in.idx, d, f);
      } else if (other && rcpt.size() == 1) { // double vote to the one recipient
        route(in.idx, d, main);
        route(in.idx, d, other);
      } else if (other && rng_.chance(500)) {
        route(in.idx, d, other);
      } else {
        route(in.idx, d, main);
      }
    }
    if ((in.byz & byz_late) && late_rng_.chance(300)) {
      // Sign the conflicting variant now, deliver it to the others later (byz_late).
      if (auto lv =
              variant(insp.conflicting_variant(w->frame, *in.signer, in.cfg, late_rng_.next())))
        in.late.emplace_back(now_ + late_rng_.between(5, 40) * units_per_tick, lv);
    }
    while ((in.byz & byz_late) && !in.late.empty() && in.late.front().first <= now_) {
      auto lv = in.late.front().second;
      in.late.erase(in.late.begin());
      for (auto d : recipients(in, std::nullopt)) route(in.idx, d, lv);
    }
    if ((in.byz & byz_future) && rng_.chance(250)) {
      if (auto fv =
              variant(insp.future_view_variant(w->frame, *in.signer, in.cfg, rng_.between(1, 3))))
        for (auto d : rcpt) route(in.idx, d, fv);
    }
    if ((in.byz & byz_replay) && rng_.chance(250) && !in.history.empty()) {
      auto old = in.history[rng_.below(in.history.size())];
      auto all = recipients(in, std::nullopt);
      if (!all.empty()) route(in.idx, all[rng_.below(all.size())], old);
    }
  }

  [[nodiscard]] bool honest_key(replica_id id) const {
    for (const auto& x : inst_)
      if (x->id == id && !x->honest) return false;
    return id.value() < n_;
  }

  /// The Twins round a frame of instance `from` belongs to: the round of the view the sender is
  /// in when it sends (after the step, so a proposal made on entering a view belongs to that
  /// view's round); views after the last round keep the last one.
  [[nodiscard]] const twins_round& round_of(std::size_t from) const {
    const auto v = inst_[from]->eng->status().view.value();
    const auto round =
        std::min<std::uint64_t>(v >= first_view_ ? v - first_view_ : 0, rounds_.size() - 1);
    return rounds_[round];
  }

  /// A delivery rule of the sender's Twins round holds back this frame.
  [[nodiscard]] bool twins_dropped(std::size_t from, std::size_t to, frame_kind k) const {
    if (!o_.twins_scenario || now_ >= stab_) return false;
    const std::uint8_t bit = k == frame_kind::other
                                 ? drop_other_bit
                                 : static_cast<std::uint8_t>(1u << (static_cast<int>(k) - 1));
    for (const auto& d : round_of(from).drops)
      if ((d.kinds & bit) && ((d.from >> from) & 1) && ((d.to >> to) & 1)) return true;
    return false;
  }

  [[nodiscard]] bool link_open(std::size_t from, std::size_t to) const {
    if (o_.twins_scenario) {
      if (now_ >= stab_) return true;
      const auto mask = round_of(from).partition;
      return ((mask >> from) & 1) == ((mask >> to) & 1);
    }
    if (split_brain_) return group_[from] == group_[to];
    for (const auto& p : partitions_) {
      if (now_ < p.start || now_ >= p.end) continue;
      switch (p.kind) {
      case partition_window::shape::halves:
        if (((p.group_mask >> from) & 1) != ((p.group_mask >> to) & 1)) return false;
        break;
      case partition_window::shape::one_node:
        if ((from == p.node) != (to == p.node)) return false;
        break;
      case partition_window::shape::one_way:
        if (((p.group_mask >> from) & 1) && !((p.group_mask >> to) & 1)) return false;
        break;
      }
    }
    return true;
  }

  std::uint64_t draw_delay() {
    return now_ >= stab_ ? rng_.between(post_min_delay_, post_max_delay_)
                         : rng_.between(min_delay_, max_delay_);
  }

  void route(std::size_t from, std::size_t to, const std::shared_ptr<const wire>& w) {
    if (!link_open(from, to) || twins_dropped(from, to, w->kind)) return;
    const bool faulty = now_ < stab_;
    if (faulty && loss_pm_ > 0 && rng_.chance(loss_pm_)) return;
    push(now_ + draw_delay(), ev_kind::deliver, to, from, 0, w);
    if (faulty && dup_pm_ > 0 && rng_.chance(dup_pm_))
      push(now_ + draw_delay(), ev_kind::deliver, to, from, 0, w);
  }

  void route_raw(std::size_t from, std::size_t to, ev_kind k, std::uint64_t aux,
                 std::shared_ptr<const client_request> req,
                 std::shared_ptr<const app_snapshot> snap) {
    if (!link_open(from, to)) return;
    if ((k == ev_kind::fetch_request || k == ev_kind::fetch_reply) &&
        twins_dropped(from, to, frame_kind::fetch))
      return; // snapshot transfer is catch-up traffic too
    if (now_ < stab_ && loss_pm_ > 0 && rng_.chance(loss_pm_)) return;
    push(now_ + draw_delay(), k, to, from, aux, nullptr, std::move(req), std::move(snap));
  }

  // ----------------------------------------------------------------------- clients
  void drive_clients() {
    if (o_.twins_scenario && now_ >= stab_) inst_[4]->up = false; // silence twin B
    for (std::size_t c = 0; c < clients_.size(); ++c) {
      auto& cs = clients_[c];
      if (!cs.outstanding && now_ >= cs.next_submit) {
        client_request r;
        r.client = cs.signer->key();
        r.client_seq = cs.next_seq++;
        const auto txs = rng_.between(1, 3);
        for (std::uint64_t i = 0; i < txs; ++i) {
          bytes tx(8);
          const auto v = rng_.next();
          for (int k = 0; k < 8; ++k) tx[k] = static_cast<std::uint8_t>(v >> (8 * k));
          r.txs.push_back(std::move(tx));
        }
        const auto body = r.body();
        r.sig = cs.signer->sign(codec::signing_bytes(
            client_request::sign_tag, inst_[0]->cfg.chain_id, inst_[0]->cfg.epoch, body));
        cs.outstanding = std::make_shared<const client_request>(std::move(r));
        cs.submitted_at = now_;
        cs.executed_by.clear();
        submitted_[{cs.outstanding->client, cs.outstanding->client_seq}] = {cs.outstanding, now_};
        note("client ", c, " submits seq ", cs.outstanding->client_seq);
        send_request(cs);
      } else if (cs.outstanding && now_ - cs.last_sent >= client_retransmit_units) {
        send_request(cs);
      }
    }
  }

  void send_request(client_state& cs) {
    cs.last_sent = now_;
    for (auto i : cs.targets) {
      if (now_ < stab_ && loss_pm_ > 0 && rng_.chance(loss_pm_)) continue;
      push(now_ + draw_delay(), ev_kind::client, i, i, 0, nullptr, cs.outstanding);
    }
  }

  void client_saw_execution(const instance& in, const client_request& r) {
    for (auto& cs : clients_) {
      if (!cs.outstanding || cs.outstanding->client != r.client ||
          cs.outstanding->client_seq != r.client_seq)
        continue;
      cs.executed_by.insert(in.id.value());
      if (cs.executed_by.size() >= f_ + 1) {
        cs.outstanding.reset();
        cs.next_submit = now_ + rng_.between(0, 4) * units_per_tick;
      }
    }
  }

  // ------------------------------------------------------------------ commits, checks
  void apply_committed(instance& in, const committed_entry& e, std::deque<event>& q) {
    const auto rid = std::to_string(in.id.value());
    trace(0xc0, in.idx, e.index, hash_bytes(e.id));
    note("commit ", in.idx, " index ", e.index, " ", hex_short(e.id), " requests ",
         e.requests.size(), " app at ", in.app.applied());
    if (in.honest) {
      // K2: the committed prefix only grows; an index once committed never changes.
      auto [it, fresh] = in.committed_ids.emplace(e.index, e.id);
      if (!fresh && it->second != e.id) {
        fail("K2", "replica " + rid + " re-committed index " + std::to_string(e.index) + " as " +
                       hex_short(e.id) + " after " + hex_short(it->second));
        return;
      }
      // K1: no two honest replicas commit different values at one index.
      auto [g, gfresh] = agreed_.emplace(e.index, std::make_pair(e.id, in.id.value()));
      if (!gfresh && g->second.first != e.id) {
        fail("K1", "replicas " + std::to_string(g->second.second) + " and " + rid +
                       " committed different entries at index " + std::to_string(e.index) + ": " +
                       hex_short(g->second.first) + " vs " + hex_short(e.id));
        return;
      }
    }
    const auto applied = in.app.applied();
    if (e.index <= applied) { // already applied before a crash or state transfer
      if (auto root = in.app.root_at(e.index)) q.push_back(ev::executed{e.index, *root});
      return;
    }
    if (e.index != applied + 1) {
      fail("C", "replica " + rid + " committed index " + std::to_string(e.index) +
                    " while its application is at " + std::to_string(applied) +
                    " (a gap without state transfer)");
      return;
    }
    if (in.honest) {
      // K6: every committed request was submitted by a client, as signed.
      for (const auto& r : e.requests) {
        auto s = submitted_.find({r.client, r.client_seq});
        if (s == submitted_.end() || !(*s->second.first == r)) {
          fail("K6", "replica " + rid + " committed a request never submitted by a client" +
                         " (client_seq " + std::to_string(r.client_seq) + ") at index " +
                         std::to_string(e.index));
          return;
        }
      }
    }
    auto res = in.app.apply(e);
    if (in.honest) {
      ++result_.cov.commits;
      for (const auto* r : res.executed) {
        ++result_.cov.requests;
        if (!in.executed.insert({r->client, r->client_seq}).second) {
          fail("K6", "replica " + rid + " executed client_seq " + std::to_string(r->client_seq) +
                         " twice");
          return;
        }
        if (submitted_[{r->client, r->client_seq}].second >= stab_)
          fresh_index_ = std::min(fresh_index_, e.index);
      }
      // K3: equal state roots at every committed index.
      auto [g, gfresh] = roots_.emplace(e.index, std::make_pair(in.app.root(), in.id.value()));
      if (!gfresh && g->second.first != in.app.root()) {
        fail("K3", "replicas " + std::to_string(g->second.second) + " and " + rid +
                       " have different state roots at index " + std::to_string(e.index));
        return;
      }
    }
    for (const auto* r : res.executed) client_saw_execution(in, *r);
    q.push_back(ev::executed{e.index, in.app.root()});
  }

  /// K4 on every frame that leaves any replica: a statement signed by an honest key (sent by
  /// its owner or relayed by another replica) must not conflict with an earlier one.
  void check_honest_statement(const wire& w) {
    if (!w.stmt) return;
    const auto& s = *w.stmt;
    if (!honest_key(s.signer)) return;
    auto [it, fresh] = honest_said_.emplace(key_of(s), s.content);
    if (!fresh && it->second != s.content) {
      fail("K4", "honest replica " + std::to_string(s.signer.value()) +
                     " signed two conflicting statements for phase " + std::to_string(s.phase) +
                     " view " + std::to_string(s.view) + " seq " + std::to_string(s.seq) + ": " +
                     hex_short(it->second) + " vs " + hex_short(s.content));
    }
  }

  void note_received(instance& in, const wire& w) {
    if (!o_.twins_scenario || !in.honest || !w.stmt) return;
    const auto& s = *w.stmt;
    if (s.signer == in.id) return;
    auto [it, fresh] = in.received.emplace(key_of(s), s.content);
    // Reached: the receiver was not past the statement's view nor its sequence number's
    // stable checkpoint, where an engine may drop messages unread.
    if (!fresh && it->second != s.content && in.last.view.value() <= s.view &&
        (s.seq == 0 || s.seq > in.last.stable_index)) {
      std::ostringstream os;
      os << "replica " << in.id.value() << " received phase " << int{s.phase} << " view " << s.view
         << " seq " << s.seq << " at t=" << now_ / units_per_tick << " while in view "
         << in.last.view.value();
      equivocation_reached_.emplace(s.signer.value(), os.str());
    }
  }

  void check_evidence(const instance& in, const evidence& ev) {
    if (!in.honest && !in.twin) return;
    const auto& insp = *o_.protocol.inspector;
    auto a = insp.statement_of(ev.first, vs_, verifier_, in.cfg);
    auto b = insp.statement_of(ev.second, vs_, verifier_, in.cfg);
    const auto rid = std::to_string(in.id.value());
    const auto culprit = std::to_string(ev.culprit.value());
    if (!a || !b || a->signer != ev.culprit || b->signer != ev.culprit ||
        key_of(*a) != key_of(*b) || a->content == b->content) {
      fail("K8", "replica " + rid + " reported invalid evidence against " + culprit);
      return;
    }
    const auto& accused = *inst_[ev.culprit.value() < n_ ? ev.culprit.value() : 0];
    bool culprit_honest = false;
    for (const auto& x : inst_)
      if (x->id == ev.culprit && x->honest) culprit_honest = true;
    if (culprit_honest) {
      fail("K8", "replica " + rid + " accused honest replica " + culprit);
      return;
    }
    (void)accused;
    if (in.honest) {
      ++result_.cov.evidence;
      accused_.insert(ev.culprit.value());
    }
  }

  // ------------------------------------------------------------------ state transfer
  void start_transfer(instance& in, const state_transfer_request& req, std::deque<event>& q) {
    trace(0x57a, in.idx, req.index, hash_bytes(req.state_root));
    note("state transfer asked by ", in.idx, " index ", req.index, " app at ", in.app.applied());
    if (in.app.applied() >= req.index) {
      auto r = in.app.root_at(req.index);
      if (r && *r == req.state_root) {
        q.push_back(ev::state_installed{req.index, req.state_root, {}});
        return;
      }
      if (r && in.honest) {
        fail("K3", "replica " + std::to_string(in.id.value()) + " applied index " +
                       std::to_string(req.index) + " with a root other than the certified one");
        return;
      }
    }
    in.transfer = req;
    in.transfer_attempt = 0;
    ++in.transfer_gen;
    send_fetch(in);
  }

  void send_fetch(instance& in) {
    const auto& src = in.transfer->sources;
    std::vector<std::size_t> cands;
    for (const auto& s : src)
      for (const auto& x : inst_)
        if (x->id == s && x->id != in.id) cands.push_back(x->idx);
    if (!cands.empty()) {
      const auto target = cands[in.transfer_attempt % cands.size()];
      route_raw(in.idx, target, ev_kind::fetch_request, in.transfer->index, nullptr, nullptr);
    }
    push(now_ + fetch_timeout_units, ev_kind::fetch_timeout, in.idx, in.idx, in.transfer_gen);
  }

  void next_fetch(instance& in) {
    ++in.transfer_attempt;
    ++in.transfer_gen;
    send_fetch(in);
  }

  // ---------------------------------------------------------------------- coverage
  void observe(instance& in) {
    if (!in.up) return;
    const auto s = in.eng->status();
    if (in.have_last && (s.view != in.last.view || s.view_changing != in.last.view_changing ||
                         s.stable_index != in.last.stable_index))
      note("status ", in.idx, " view=", s.view.value(), s.view_changing ? " changing" : "",
           " committed=", s.committed_index, " stable=", s.stable_index);
    if (in.honest && in.have_last) {
      if (s.view_changing && !in.last.view_changing) ++result_.cov.view_changes;
      if (s.view > in.last.view && s.view.value() > first_view_ &&
          s.view.value() > max_view_seen_) {
        max_view_seen_ = s.view.value();
        ++result_.cov.new_views;
      }
      if (s.stable_index > max_stable_) {
        max_stable_ = s.stable_index;
        ++result_.cov.checkpoints;
      }
    }
    in.last = s;
    in.have_last = true;
  }

  // --------------------------------------------------------------- stabilisation, end
  void stabilise() {
    trace(0x57ab, now_, 0);
    note("stabilisation: faults stop");
    for (auto& in : inst_) {
      if (!in->up && !(o_.twins_scenario && in->idx == 4)) restart(*in, false);
    }
  }

  void final_checks() {
    const std::size_t faulty = std::count_if(inst_.begin(), inst_.end(), [](const auto& in) {
      return (!in->honest && !in->twin) || in->amnesiac;
    });
    const bool live_expected = o_.twins_scenario || faulty <= f_;
    if (live_expected) {
      // Every honest replica's committed state must cover an entry holding a request that
      // was submitted after stabilisation, executed itself or installed from a certified
      // snapshot (a replica may catch up through state transfer).
      for (const auto& in : inst_) {
        if (!in->honest) continue;
        if (in->app.applied() < fresh_index_) {
          std::ostringstream os;
          os << "replica " << in->id.value()
             << " committed no entry holding a request submitted after stabilisation at t="
             << stab_ / units_per_tick << " within the bound of " << (end_ - stab_) / units_per_tick
             << " ticks (first such entry: "
             << (fresh_index_ == ~std::uint64_t{0} ? std::string("none")
                                                   : std::to_string(fresh_index_))
             << "; application at index " << in->app.applied() << ", view " << in->last.view.value()
             << (in->last.view_changing ? ", view-changing" : "") << ")";
          fail("K7", os.str());
          return;
        }
      }
    }
    if (o_.twins_scenario) {
      for (const auto& [culprit, where] : equivocation_reached_) {
        if (!accused_.count(culprit)) {
          fail("K8", "conflicting statements of replica " + std::to_string(culprit) +
                         " reached an honest replica (" + where +
                         ") but no honest replica reported evidence");
          return;
        }
      }
    }
  }

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

} // namespace

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
  simulation s(o);
  return s.run();
}

} // namespace bft::sim
