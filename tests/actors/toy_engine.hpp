#pragma once
// A tiny engine for actor tests: every received frame yields a persist of "vote" and a
// broadcast of "vote:<frame>"; client requests commit at once. It has no protocol at all; it
// only lets the tests watch the replica actor apply `ready` values.
#include <memory>
#include <string>
#include <vector>

#include "protocols/common/engine.hpp"

namespace bft::test {

/// What the toy engine saw. Shared with the test; read only after the actors ran.
struct toy_log {
  std::vector<std::string> received;
  std::vector<std::uint64_t> executed;
  std::size_t ticks = 0;
};

/// Not thread-safe; one owner (the replica actor) calls `step`.
class toy_engine final : public engine {
public:
  explicit toy_engine(std::shared_ptr<toy_log> log) : log_(std::move(log)) {}
  ready step(const event& e) override {
    ready r;
    if (const auto* m = std::get_if<ev::received>(&e)) {
      std::string body(m->frame.begin(), m->frame.end());
      log_->received.push_back(body);
      r.persist.push_back(persist_op{"vote", bytes(m->frame.begin(), m->frame.end()), false});
      std::string out = "vote:" + body;
      r.messages.push_back(outbound{std::nullopt, bytes(out.begin(), out.end())});
    } else if (const auto* c = std::get_if<ev::client_requests>(&e)) {
      r.committed.push_back(committed_entry{++index_, digest{}, c->requests});
    } else if (const auto* x = std::get_if<ev::executed>(&e)) {
      log_->executed.push_back(x->index);
    } else if (std::holds_alternative<ev::tick>(e)) {
      ++log_->ticks;
    }
    return r;
  }
  [[nodiscard]] engine_status status() const override {
    engine_status s;
    s.committed_index = index_;
    return s;
  }

private:
  std::shared_ptr<toy_log> log_;
  std::uint64_t index_ = 0;
};

} // namespace bft::test
