#pragma once
/// Internal to the simulator: the checkers of reliability.md (K1-K4, K6-K8; K9, determinism,
/// is the replay test of tests/sim) as classes with hooks, registered in one list
/// (`make_checkers`, checkers.cpp). Adding a checker is one class and one entry there
/// (protocols/sim/README.md). Each hook runs for every checker in list order, until one
/// fails: the order is the one recorded seeds report their first violation in.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/common/engine.hpp"
#include "protocols/common/protocol_inspector.hpp"

namespace bft::sim {
struct options;
}

namespace bft::sim::detail {

struct instance;
struct wire;

/// What the checkers see of the world and how they report (the simulation implements it).
class check_host {
public:
  virtual void fail(std::string checker, std::string detail) = 0;
  [[nodiscard]] virtual const options& opts() const = 0;
  [[nodiscard]] virtual std::size_t instance_count() const = 0;
  [[nodiscard]] virtual const instance& at(std::size_t idx) const = 0;
  [[nodiscard]] virtual std::size_t n() const = 0;
  [[nodiscard]] virtual std::size_t f() const = 0;
  [[nodiscard]] virtual std::uint64_t now() const = 0;
  [[nodiscard]] virtual std::uint64_t stabilisation() const = 0;
  [[nodiscard]] virtual std::uint64_t end() const = 0;
  /// Whether `id` is an honest key (no Byzantine or twin instance holds it).
  [[nodiscard]] virtual bool honest_key(replica_id id) const = 0;
  /// The request a client submitted as (client, seq) and when (units); nullopt if none.
  struct submission {
    const client_request* request = nullptr;
    std::uint64_t at = 0;
  };
  [[nodiscard]] virtual std::optional<submission> submitted(const public_key& client,
                                                            std::uint64_t seq) const = 0;
  /// The statement a frame commits its signer to, as instance `in` would read it.
  [[nodiscard]] virtual std::optional<statement> statement_of(const instance& in,
                                                              byte_view frame) const = 0;
  /// Counts evidence reported by honest replicas (coverage).
  virtual void count_evidence() = 0;

protected:
  ~check_host() = default;
};

class checker {
public:
  virtual ~checker() = default;
  /// "K1", "K2", ...: the id its violations carry.
  [[nodiscard]] virtual std::string_view id() const = 0;
  /// A frame leaves a replica (sent by its engine, or made up by a Byzantine role).
  virtual void on_frame(check_host&, const wire&) {}
  /// A frame is delivered to `in`.
  virtual void on_received(check_host&, const instance&, const wire&) {}
  /// `in`'s engine commits `e` (before the application sees it).
  virtual void on_commit(check_host&, const instance&, const committed_entry&) {}
  /// `e` is next for `in`'s application (no gap, not a replay).
  virtual void on_apply(check_host&, const instance&, const committed_entry&) {}
  /// `in`'s application applied `e`, executing `executed` (a request at most once).
  virtual void on_applied(check_host&, const instance&, const committed_entry&,
                          const std::vector<const client_request*>&) {}
  /// `in` holds index `index` while a certificate says its root is `certified`; `from_snapshot`:
  /// a fetched snapshot of that root arrived (else the engine asked for a transfer).
  virtual void on_certified_root(check_host&, const instance&, std::uint64_t /*index*/,
                                 const digest& /*certified*/, bool /*from_snapshot*/) {}
  /// `in`'s engine raises a safety alarm (ready::alarms).
  virtual void on_alarm(check_host&, const instance&, const std::string& /*alarm*/) {}
  /// `in`'s engine reports evidence.
  virtual void on_evidence(check_host&, const instance&, const evidence&) {}
  /// The run reached its end without a violation.
  virtual void at_end(check_host&) {}
};

/// The checkers of one run, in the order their hooks run.
[[nodiscard]] std::vector<std::unique_ptr<checker>> make_checkers();

} // namespace bft::sim::detail
