// The coroutine plumbing of actors/coro.hpp: triggers, the request timeout, the timer, a
// reply that loses a race, and frames destroyed with their actor, on CAF's test coordinator
// (time moves only when a test fires the timers).
#include <doctest/doctest.h>

#include "tests/actors/caf_doctest.hpp"

#include "actors/coro.hpp"

using namespace bft;
using namespace bft::actors;

namespace {

using poke_atom = caf::atom_constant<caf::atom("poke")>;
using answer_atom = caf::atom_constant<caf::atom("answer")>;

/// Counts live instances, to see coroutine frames being destroyed.
struct witness {
  std::shared_ptr<int> live;
  explicit witness(std::shared_ptr<int> l) : live(std::move(l)) { ++*live; }
  witness(const witness&) = delete;
  witness& operator=(const witness&) = delete;
  ~witness() { --*live; }
};

/// What a test coroutine did, step by step; shared with the test.
struct journal {
  std::vector<std::string> steps;
  int live = 0;
};

task await_twice(coro_scope&, trigger<int>& t, std::shared_ptr<journal> j) {
  auto x = co_await t;
  j->steps.push_back("got " + std::to_string(x));
  auto y = co_await t;
  j->steps.push_back("got " + std::to_string(y));
}

/// Answers `poke` requests only when told to (`answer`): until then they stay unanswered.
struct mute_state {
  std::vector<caf::typed_response_promise<std::string>> held;
};
caf::behavior mute(caf::stateful_actor<mute_state>* self) {
  return {
      [self](poke_atom) -> caf::result<std::string> {
        auto rp = self->make_response_promise<std::string>();
        self->state.held.push_back(rp);
        return rp;
      },
      [self](answer_atom) {
        for (auto& rp : self->state.held) rp.deliver(std::string("late"));
        self->state.held.clear();
      },
  };
}

/// An actor whose coroutine (chosen by `what`) records its steps into a journal; `poke` fires
/// its trigger, `reconnect` its timer's trigger.
struct runner_state {
  static inline const char* name = "test.coro_runner";
  trigger<std::string> poked;
  trigger<caf::unit_t> wake;
  coro_scope scope; // last
};
using runner_self = caf::stateful_actor<runner_state>*;

task ask(coro_scope&, runner_self self, caf::actor dest, std::shared_ptr<journal> j) {
  witness w(std::shared_ptr<int>(j, &j->live));
  auto r = co_await request_awaiter<std::string, caf::event_based_actor, caf::actor, poke_atom>(
      self, dest, std::chrono::milliseconds(100), poke_atom::value);
  if (r)
    j->steps.push_back("reply " + *r);
  else
    j->steps.push_back(r.error() == caf::sec::request_timeout ? "timeout" : "other error");
}

task sleep_then_log(coro_scope&, runner_self self, std::shared_ptr<journal> j) {
  witness w(std::shared_ptr<int>(j, &j->live));
  j->steps.push_back("sleeps");
  co_await sleep_for(self, self->state.wake, std::chrono::milliseconds(50), reconnect_atom::value);
  j->steps.push_back("woke");
}

task race(coro_scope&, runner_self self, caf::actor dest, std::shared_ptr<journal> j) {
  witness w(std::shared_ptr<int>(j, &j->live));
  auto r = co_await request_awaiter<std::string, caf::event_based_actor, caf::actor, poke_atom>(
               self, dest, caf::infinite, poke_atom::value)
               .unless(self->state.poked);
  if (auto* why = std::get_if<1>(&r))
    j->steps.push_back("interrupted " + *why);
  else
    j->steps.push_back("reply first");
  // Waits again: the late reply of the request above must not resume this wait.
  auto again = co_await self->state.poked;
  j->steps.push_back("poked " + again);
}

caf::behavior runner(runner_self self, std::string what, caf::actor dest,
                     std::shared_ptr<journal> j) {
  if (what == "ask") ask(self->state.scope, self, dest, j);
  if (what == "sleep") sleep_then_log(self->state.scope, self, j);
  if (what == "race") race(self->state.scope, self, dest, j);
  return {
      [self](poke_atom, std::string& s) { self->state.poked.fire(std::move(s)); },
      [self](reconnect_atom) { self->state.wake.fire({}); },
  };
}

using fixture = test_coordinator_fixture<caf::actor_system_config>;
using steps = std::vector<std::string>;

} // namespace

TEST_CASE("a trigger resumes the coroutine that awaits it, and nothing when nobody waits") {
  auto j = std::make_shared<journal>();
  trigger<int> t;
  CHECK_FALSE(t.fire(0)); // nobody waits: nothing happens, nothing is kept
  coro_scope scope;
  await_twice(scope, t, j);
  CHECK(scope.size() == 1);
  CHECK(t.awaited());
  CHECK(t.fire(1));
  CHECK(j->steps == steps{"got 1"});
  CHECK(t.fire(2));
  CHECK(j->steps == steps{"got 1", "got 2"});
  CHECK(scope.size() == 0); // finished: the frame freed itself
  CHECK_FALSE(t.awaited());
  CHECK_FALSE(t.fire(3));
  CHECK(j->steps.size() == 2);
}

TEST_CASE("a coroutine destroyed with its scope no longer hears its trigger") {
  auto j = std::make_shared<journal>();
  trigger<int> t;
  {
    coro_scope scope;
    await_twice(scope, t, j);
    CHECK(t.awaited());
  }
  CHECK_FALSE(t.awaited());
  CHECK_FALSE(t.fire(1));
  CHECK(j->steps.empty());
}

TEST_CASE_FIXTURE(fixture, "an unanswered request resumes its coroutine with request_timeout") {
  auto j = std::make_shared<journal>();
  auto silent = sys.spawn(mute);
  auto r = sys.spawn(runner, std::string("ask"), caf::actor{silent}, j);
  consume_messages();
  CHECK(j->steps.empty()); // waits: no reply, the timeout has not fired
  CHECK(j->live == 1);
  sched.trigger_timeouts();
  consume_messages();
  REQUIRE(j->steps.size() == 1);
  CHECK(j->steps[0] == "timeout");
  CHECK(j->live == 0);
  // The reply that comes after the timeout finds nobody.
  caf::anon_send(silent, answer_atom::value);
  consume_messages();
  CHECK(j->steps.size() == 1);
  caf::anon_send_exit(r, caf::exit_reason::kill);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
  consume_messages();
}

TEST_CASE_FIXTURE(fixture, "a sleeping coroutine resumes when its timer fires, not before") {
  auto j = std::make_shared<journal>();
  auto r = sys.spawn(runner, std::string("sleep"), caf::actor{}, j);
  consume_messages();
  CHECK(j->steps == steps{"sleeps"});
  CHECK(j->live == 1);
  caf::anon_send_exit(r, caf::exit_reason::kill); // the actor stops while its coroutine sleeps
  consume_messages();
  CHECK(j->live == 0); // the frame is destroyed (its locals' destructors ran), never resumed
  CHECK(j->steps == steps{"sleeps"});
  sched.trigger_timeouts(); // the timer's message goes to an actor that is gone
  consume_messages();
  CHECK(j->steps == steps{"sleeps"});

  auto k = std::make_shared<journal>();
  auto r2 = sys.spawn(runner, std::string("sleep"), caf::actor{}, k);
  consume_messages();
  CHECK(k->steps == steps{"sleeps"});
  sched.trigger_timeouts();
  consume_messages();
  CHECK(k->steps == steps{"sleeps", "woke"});
  CHECK(k->live == 0);
  caf::anon_send_exit(r2, caf::exit_reason::kill);
  consume_messages();
}

TEST_CASE_FIXTURE(fixture, "a trigger that fires first wins the race and the late reply is "
                           "ignored") {
  auto j = std::make_shared<journal>();
  auto silent = sys.spawn(mute);
  auto r = sys.spawn(runner, std::string("race"), caf::actor{silent}, j);
  consume_messages();
  CHECK(j->steps.empty());
  caf::anon_send(r, poke_atom::value, std::string("first"));
  consume_messages();
  CHECK(j->steps == steps{"interrupted first"});
  // The request's reply comes now: the coroutine waits on the trigger again and must not be
  // resumed by it.
  caf::anon_send(silent, answer_atom::value);
  consume_messages();
  CHECK(j->steps == steps{"interrupted first"});
  caf::anon_send(r, poke_atom::value, std::string("second"));
  consume_messages();
  CHECK(j->steps == steps{"interrupted first", "poked second"});
  CHECK(j->live == 0);
  caf::anon_send_exit(r, caf::exit_reason::kill);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
  consume_messages();
}

TEST_CASE_FIXTURE(fixture, "a reply that comes first wins the race") {
  auto j = std::make_shared<journal>();
  auto silent = sys.spawn(mute);
  auto r = sys.spawn(runner, std::string("race"), caf::actor{silent}, j);
  consume_messages();
  caf::anon_send(silent, answer_atom::value);
  consume_messages();
  CHECK(j->steps == steps{"reply first"});
  caf::anon_send(r, poke_atom::value, std::string("then"));
  consume_messages();
  CHECK(j->steps == steps{"reply first", "poked then"});
  caf::anon_send_exit(r, caf::exit_reason::kill);
  caf::anon_send_exit(silent, caf::exit_reason::kill);
  consume_messages();
}
