#pragma once
/// Internal to the simulator: the Byzantine roles, one table (`byzantine_roles`, roles.cpp).
/// A Byzantine replica runs an honest engine; each role it has changes what it does around
/// that engine through hooks: at set-up, on each frame it sends (before the frame is delivered
/// to its recipients, and after), on each frame it receives, on each snapshot it serves.
/// Adding a role is one entry in the table (protocols/sim/README.md).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/protocol_inspector.hpp"
#include "protocols/sim/fault_plan.hpp"
#include "protocols/sim/rng.hpp"

namespace bft::sim {
struct app_snapshot;
struct options;
} // namespace bft::sim

namespace bft::sim::detail {

struct instance;
struct wire;
using wire_ptr = std::shared_ptr<const wire>;

/// FNV-1a over a role's name: the salt of a new role's own random stream.
constexpr std::uint64_t name_salt(std::string_view name) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

/// What the roles act through (the simulation implements it).
class role_host {
public:
  /// A frame the Byzantine replica `in` made up (nullptr if none): counted, checked by K4.
  virtual wire_ptr variant(instance& in, std::optional<bytes> frame) = 0;
  virtual void send_to(std::size_t from, std::size_t to, const wire_ptr& w) = 0;
  /// Every other instance (any key but the sender's).
  virtual std::vector<std::size_t> everyone_else(const instance& in) = 0;
  /// A crash (restart: amnesia) of instance `idx` at `time` units, flags as simulation::crash.
  virtual void schedule_crash(std::uint64_t time, std::size_t idx, std::uint64_t flags) = 0;
  virtual void schedule_restart(std::uint64_t time, std::size_t idx, bool amnesia) = 0;
  [[nodiscard]] virtual std::uint64_t now() const = 0;
  [[nodiscard]] virtual std::uint64_t stabilisation() const = 0;
  [[nodiscard]] virtual const protocol_inspector& inspector() const = 0;
  virtual void log_line(const std::string& line) = 0;

protected:
  ~role_host() = default;
};

/// One frame a Byzantine replica's engine sends, as the roles reshape it.
struct byz_send {
  instance& in;
  const wire_ptr& honest;               ///< what the engine produced
  const std::vector<std::size_t>& rcpt; ///< its recipients
  wire_ptr main;                        ///< what the recipients get (forge, badsig replace it)
  wire_ptr other;                       ///< equivocate: a conflicting variant
  std::vector<wire_ptr> fork;           ///< fork: what all but rcpt[keep_honest] get instead
  std::size_t keep_honest = 0;
  bool dropped = false; ///< silent: nothing is sent
};

/// What a hook gets: the world, the role's own random stream, the fault plan.
struct role_ctx {
  role_host& host;
  rng& draw;
  const fault_plan& plan;
};

/// How a Byzantine replica comes to have a role.
enum class role_draw : std::uint8_t {
  /// Legacy: one bit of the mask drawn from the shared stream for every Byzantine replica
  /// (`rng::next() & mask`, redrawn while zero); the role's hooks draw from the shared stream.
  shared_mask,
  /// With odds `role_pm` per Byzantine replica, drawn from the role's own stream, seeded with
  /// mix64(seed ^ salt); the role's hooks draw from that stream too, so every other role and
  /// fault keeps its draws whether it is in the table or not.
  own_stream,
};

struct byz_role {
  std::string_view name;
  std::string_view description;
  role_draw draw = role_draw::own_stream;
  /// shared_mask: the role's bit in the drawn mask.
  std::uint32_t mask_bit = 0;
  /// own_stream: the stream's salt; 0 = name_salt(name) (every new role). The fork and late
  /// roles keep the constants their streams had before the table, so recorded seeds replay.
  std::uint64_t salt = 0;
  /// own_stream: the odds (per mille) a Byzantine replica has the role.
  std::uint64_t fault_plan::*role_pm = nullptr;
  /// own_stream: whether the run allows the role (nullptr: always).
  bool (*enabled)(const options& o) = nullptr;
  /// Once, when the replica becomes Byzantine (after all its roles are drawn).
  void (*at_setup)(role_ctx& c, instance& in) = nullptr;
  /// Before the frame goes out, in table order; a hook that sets `dropped` ends the send.
  void (*before_send)(role_ctx& c, byz_send& s) = nullptr;
  /// After it went out, in table order: extra frames.
  void (*after_send)(role_ctx& c, byz_send& s) = nullptr;
  /// On every frame the replica receives.
  void (*on_receive)(role_ctx& c, instance& in, const wire_ptr& w) = nullptr;
  /// On every snapshot it serves.
  void (*on_snapshot)(role_ctx& c, instance& in, app_snapshot& snap) = nullptr;
};

/// The roles, in the order their hooks run (the order of draws recorded seeds depend on).
/// Bit i of `instance::byz` is role i.
extern const std::array<byz_role, 10> byzantine_roles;

/// The bits of the roles drawn in the shared mask, as they are drawn (bit `mask_bit`).
[[nodiscard]] std::uint32_t shared_role_mask();
/// The roles (`instance::byz` bits) that a drawn shared mask gives.
[[nodiscard]] std::uint32_t roles_of_mask(std::uint32_t mask);
/// "silent,forge,..." for a role set.
[[nodiscard]] std::string role_names(std::uint32_t roles);
/// The role's own stream's seed for a run seed.
[[nodiscard]] std::uint64_t role_stream_seed(const byz_role& r, std::uint64_t run_seed);

} // namespace bft::sim::detail
