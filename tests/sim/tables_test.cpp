// The simulator's tables: the Byzantine roles (roles.hpp), the checkers (checkers.hpp) and the
// fault plan (fault_plan.hpp) keep the invariants that let a role or a checker be added as one
// entry without renumbering the recorded seeds.
#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocols/sim/checkers.hpp"
#include "protocols/sim/fault_plan.hpp"
#include "protocols/sim/roles.hpp"
#include "protocols/sim/simulation.hpp"

using namespace bft::sim;
using namespace bft::sim::detail;

TEST_CASE("roles: one entry each, with a unique name, a description and a hook") {
  std::set<std::string_view> names;
  for (const auto& r : byzantine_roles) {
    CHECK_MESSAGE(names.insert(r.name).second, "duplicate role " << r.name);
    CHECK(!r.description.empty());
    const bool hooked =
        r.at_setup || r.before_send || r.after_send || r.on_receive || r.on_snapshot;
    CHECK(hooked);
    if (r.draw == role_draw::own_stream) {
      CHECK_MESSAGE(r.role_pm != nullptr, r.name << " has no odds in the fault plan");
    } else {
      const bool always = r.enabled == nullptr; // a shared-mask role is drawn in every run
      CHECK(always);
    }
  }
}

TEST_CASE("roles: the legacy roles keep the 8 bits of the shared mask, once each") {
  CHECK(shared_role_mask() == 0xffu);
  std::set<std::uint32_t> bits;
  for (const auto& r : byzantine_roles)
    if (r.draw == role_draw::shared_mask) CHECK(bits.insert(r.mask_bit).second);
  CHECK(bits.size() == 8);
  // Every shared bit maps to one role, and the full mask to all of them.
  std::uint32_t all = 0;
  for (std::uint32_t b = 0; b < 8; ++b) {
    const auto roles = roles_of_mask(1u << b);
    CHECK(roles != 0);
    CHECK((roles & (roles - 1)) == 0); // one role
    all |= roles;
  }
  CHECK(roles_of_mask(0xff) == all);
  CHECK(role_names(all) == "silent,forge,badsig,equivocate,future,replay,amnesia,bad_snapshot");
}

TEST_CASE("roles: a new role's stream is derived from the seed and its name; the legacy "
          "streams keep their salts") {
  byz_role fresh{.name = "new_role", .description = "a role added later"};
  CHECK(role_stream_seed(fresh, 7) == mix64(7 ^ name_salt("new_role")));
  CHECK(role_stream_seed(fresh, 7) != role_stream_seed(fresh, 8));
  byz_role other{.name = "other_role", .description = "another"};
  CHECK(role_stream_seed(fresh, 7) != role_stream_seed(other, 7));
  for (const auto& r : byzantine_roles) {
    if (r.name == "fork") CHECK(role_stream_seed(r, 7) == mix64(7 ^ 0xf04c'0000ULL));
    if (r.name == "late") CHECK(role_stream_seed(r, 7) == mix64(7 ^ 0x1a7e'0000ULL));
  }
}

namespace {

/// A world of four honest keys (the checkers' view of it), recording failures.
struct fake_world final : check_host {
  std::vector<std::string> failures;
  options o;
  void fail(std::string checker, std::string) override { failures.push_back(checker); }
  const options& opts() const override { return o; }
  std::size_t instance_count() const override { return 0; }
  const instance& at(std::size_t) const override { throw std::logic_error("no instances"); }
  std::size_t n() const override { return 4; }
  std::size_t f() const override { return 1; }
  std::uint64_t now() const override { return 0; }
  std::uint64_t stabilisation() const override { return 0; }
  std::uint64_t end() const override { return 0; }
  bool honest_key(bft::replica_id id) const override { return id.value() < 3; }
  std::optional<submission> submitted(const bft::public_key&, std::uint64_t) const override {
    return std::nullopt;
  }
  std::optional<bft::statement> statement_of(const instance&, bft::byte_view) const override {
    return std::nullopt;
  }
  void count_evidence() override {}
};

wire signed_by(std::uint32_t signer, std::uint64_t seq, std::uint8_t content) {
  wire w;
  bft::statement s;
  s.signer = bft::replica_id{signer};
  s.phase = 1;
  s.view = 2;
  s.seq = seq;
  s.content[0] = content;
  w.stmt = s;
  return w;
}

} // namespace

TEST_CASE("checkers: one list, in the order violations of one step are reported") {
  std::string ids;
  for (const auto& c : make_checkers()) ids += std::string(c->id()) + " ";
  CHECK(ids == "K2 K1 K6 K7 K3 K4 K8 ");
}

TEST_CASE("checkers: K4 (equivocation_log) flags an honest key's second statement for a slot") {
  auto list = make_checkers();
  checker* k4 = nullptr;
  for (auto& c : list)
    if (c->id() == "K4") k4 = c.get();
  REQUIRE(k4 != nullptr);
  fake_world w;
  k4->on_frame(w, signed_by(1, 5, 0xaa));
  k4->on_frame(w, signed_by(1, 5, 0xaa)); // the same statement again (a relay): fine
  k4->on_frame(w, signed_by(1, 6, 0xbb)); // another slot: fine
  k4->on_frame(w, signed_by(3, 5, 0xaa)); // a Byzantine key may equivocate...
  k4->on_frame(w, signed_by(3, 5, 0xbb)); // ...unchecked
  CHECK(w.failures.empty());
  k4->on_frame(w, signed_by(1, 5, 0xbb));
  REQUIRE(w.failures.size() == 1);
  CHECK(w.failures[0] == "K4");
}

TEST_CASE("fault plan: --verbose prints every group, ranges as lo-hi") {
  const auto lines = default_fault_plan.describe();
  CHECK(lines.size() == 7);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  CHECK(all.find("loss_pm=0-150") != std::string::npos);
  CHECK(all.find("silent_pm=700") != std::string::npos);
  CHECK(all.find("late_ticks=5-40") != std::string::npos);
  CHECK(all.find("pause_timeouts=3-8") != std::string::npos);
}
