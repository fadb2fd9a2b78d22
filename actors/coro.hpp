#pragma once
/// C++20 coroutines over CAF 0.17's `request(...).then(...)` and `delayed_send` (CAF has no
/// coroutine support).
///
///     task run(coro_scope&, caf::event_based_actor* self, client_actor c) {
///       auto gateway = client_ref{self, c};
///       auto receipt = co_await gateway.submit(txs);  // caf::expected<final_receipt>
///     }
///
/// What a coroutine can wait for:
/// - a reply: `co_await request_awaiter<T, ...>(self, dest, timeout, args...)` gives
///   `caf::expected<T>` (the reply, or the request's error: `request_timeout`, receiver down);
/// - a reply unless something else happens first: `co_await request_awaiter<...>(...)
///   .unless(trig)` gives `std::variant<caf::expected<T>, E>`, index 1 if `trig` fired first;
/// - an event a handler of the same actor announces: `co_await trig` on a `trigger<T>` kept in
///   the actor's state, resumed by `trig.fire(x)` from that handler;
/// - time: `co_await sleep_for(self, trig, d, msg...)` sends `msg...` to the actor itself
///   after `d`; the handler of that message calls `trig.fire({})`.
///
/// Rules:
/// - The actor keeps handling other messages while a coroutine waits (`.then`, not `.await`);
///   the coroutine resumes inside the actor's own handler, so it may touch actor state, but
///   anything may have changed across a `co_await`: check again.
/// - A `task` starts at once and frees itself when it finishes. If the actor terminates while
///   a coroutine waits, CAF never runs the handler: the `coro_scope` (kept in the actor's
///   state, declared last, passed as the coroutine's first argument) destroys such frames when
///   it goes. A reply or a `fire` that comes after its waiter was resumed by something else,
///   or after its frame was destroyed, finds nobody and does nothing (the waiter and its
///   resumers share a `detail::rendezvous`).
/// Single-threaded: a scope, its coroutines and their triggers belong to one actor.
/// g++ 12.2: an aggregate temporary built inside a `co_await` expression (`co_await
/// request_awaiter<...>(..., install_request{a, b, std::move(c)})`) is destroyed twice, a double
/// free (reproduced outside this project). Build such an awaiter in a named variable first and
/// `co_await` the variable.
#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <variant>

#include <caf/duration.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/timespan.hpp>
#include <caf/unit.hpp>

#include "actors/actors.hpp"
#include "protocols/common/assert.hpp"

namespace bft::actors {

/// Owns the frames of an actor's unfinished coroutines.
class coro_scope {
public:
  coro_scope() = default;
  coro_scope(const coro_scope&) = delete;
  coro_scope& operator=(const coro_scope&) = delete;
  ~coro_scope() {
    auto live = std::move(live_);
    live_.clear();
    for (void* p : live) std::coroutine_handle<>::from_address(p).destroy();
  }
  void add(std::coroutine_handle<> h) { live_.insert(h.address()); }
  void remove(std::coroutine_handle<> h) { live_.erase(h.address()); }
  [[nodiscard]] std::size_t size() const { return live_.size(); }

private:
  std::set<void*> live_;
};

/// A fire-and-forget coroutine bound to a `coro_scope` (its first parameter, or its second
/// after the object of a member function or lambda).
struct task {
  struct promise_type {
    coro_scope* scope = nullptr;
    template <class... Args>
    explicit promise_type(coro_scope& s, Args&&...) : scope(&s) {}
    template <class Obj, class... Args>
    promise_type(Obj&&, coro_scope& s, Args&&...) : scope(&s) {}
    ~promise_type() {
      if (scope != nullptr) scope->remove(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    task get_return_object() {
      scope->add(std::coroutine_handle<promise_type>::from_promise(*this));
      return {};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

namespace detail {

/// Where one suspended coroutine meets whoever may resume it (a reply handler, a trigger).
/// Shared by the awaiter and its resumers: the first `deliver` resumes the coroutine; a later
/// one, or one after the awaiter is gone (resumed otherwise, or its frame destroyed), finds
/// no waiter and does nothing.
struct rendezvous_base {
  std::coroutine_handle<> waiter;
};

template <class T>
struct rendezvous : rendezvous_base {
  std::optional<T> value;
  bool deliver(T x) {
    if (!waiter) return false;
    value.emplace(std::move(x));
    std::exchange(waiter, {}).resume();
    return true;
  }
};

/// The awaiter's end of a rendezvous: made when the coroutine suspends, abandoned (no waiter
/// any more) when the awaiter is destroyed, which a destroyed frame does too.
template <class T>
class waiting {
public:
  waiting() = default;
  waiting(const waiting&) = delete;
  waiting& operator=(const waiting&) = delete;
  waiting(waiting&& other) noexcept : r_(std::move(other.r_)) {}
  waiting& operator=(waiting&&) = delete;
  ~waiting() {
    if (r_) r_->waiter = {};
  }
  const std::shared_ptr<rendezvous<T>>& arm(std::coroutine_handle<> h) {
    r_ = std::make_shared<rendezvous<T>>();
    r_->waiter = h;
    return r_;
  }
  T take() {
    BFT_ASSERT(r_ && r_->value, "a coroutine resumes only with a delivered value");
    return std::move(*r_->value);
  }

private:
  std::shared_ptr<rendezvous<T>> r_;
};

} // namespace detail

/// An event that a handler announces to the one coroutine (at most) that awaits it:
/// `auto x = co_await trig;` in the coroutine, `trig.fire(x)` in the handler. Kept in the
/// actor's state. Not latched: a `fire` while nobody waits does nothing and returns false.
template <class T>
class trigger {
public:
  /// Resumes the waiting coroutine with `x` (it runs until its next `co_await` before `fire`
  /// returns); false if nobody waits.
  bool fire(T x) {
    if (!awaited()) {
      who_.reset();
      put_ = nullptr;
      return false;
    }
    auto put = std::exchange(put_, nullptr);
    who_.reset();
    put(std::move(x));
    return true;
  }
  [[nodiscard]] bool awaited() const { return who_ && who_->waiter; }

  /// Makes `r` the waiter (replacing an earlier one, which then never hears of this trigger);
  /// `put` delivers a fired value to it. For awaiters.
  template <class R, class F>
  void listen(const std::shared_ptr<detail::rendezvous<R>>& r, F put) {
    who_ = r;
    put_ = [r, put = std::move(put)](T&& x) { put(*r, std::move(x)); };
  }

  class awaiter {
  public:
    explicit awaiter(trigger& t) : t_(&t) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      t_->listen(w_.arm(h), [](detail::rendezvous<T>& r, T&& x) { r.deliver(std::move(x)); });
    }
    T await_resume() { return w_.take(); }

  private:
    trigger* t_;
    detail::waiting<T> w_;
  };
  awaiter operator co_await() { return awaiter{*this}; }

private:
  std::shared_ptr<detail::rendezvous_base> who_;
  std::function<void(T&&)> put_;
};

/// Awaits the single-value reply `T` of `self->request(dest, timeout, args...)`.
template <class T, class Self, class Dest, class... Args>
class request_awaiter {
public:
  request_awaiter(Self* self, Dest dest, std::chrono::milliseconds timeout, Args... args)
      : self_(self), dest_(std::move(dest)), timeout_(timeout), args_(std::move(args)...) {}
  request_awaiter(Self* self, Dest dest, caf::infinite_t, Args... args)
      : self_(self), dest_(std::move(dest)), timeout_(caf::infinite), args_(std::move(args)...) {}

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    issue(w_.arm(h), [](auto& r, caf::expected<T>&& x) { r.deliver(std::move(x)); });
  }
  caf::expected<T> await_resume() { return w_.take(); }

  /// The same request, but the coroutine resumes as soon as `t` fires if that comes first
  /// (the reply is then ignored): `std::variant<caf::expected<T>, E>`, index 1 for `t`.
  template <class E>
  class raced {
  public:
    using result = std::variant<caf::expected<T>, E>;
    raced(request_awaiter req, trigger<E>& t) : req_(std::move(req)), t_(&t) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      const auto& r = w_.arm(h);
      t_->listen(r, [](detail::rendezvous<result>& rv, E&& e) {
        rv.deliver(result{std::in_place_index<1>, std::move(e)});
      });
      req_.issue(r, [](detail::rendezvous<result>& rv, caf::expected<T>&& x) {
        rv.deliver(result{std::in_place_index<0>, std::move(x)});
      });
    }
    result await_resume() { return w_.take(); }

  private:
    request_awaiter req_;
    trigger<E>* t_;
    detail::waiting<result> w_;
  };
  template <class E>
  raced<E> unless(trigger<E>& t) && {
    return raced<E>{std::move(*this), t};
  }

private:
  /// Sends the request; its reply or error goes to `r` through `put` (a no-op if the awaiter
  /// was resumed otherwise or destroyed meanwhile).
  template <class R, class Put>
  void issue(const std::shared_ptr<detail::rendezvous<R>>& r, Put put) {
    std::apply(
        [&](auto&... xs) {
          self_->request(dest_, timeout_, std::move(xs)...)
              .then([r, put](T& x) { put(*r, caf::expected<T>{std::move(x)}); },
                    [r, put](caf::error& e) { put(*r, caf::expected<T>{std::move(e)}); });
        },
        args_);
  }

  Self* self_;
  Dest dest_;
  caf::duration timeout_;
  std::tuple<Args...> args_;
  detail::waiting<caf::expected<T>> w_;
};

/// Awaits `d`: sends `msg...` to `self` after `d` (`delayed_send`); the actor's handler of
/// that message must call `wake.fire({})`. One sleeper per trigger; a coroutine destroyed
/// while it sleeps leaves a timer whose `fire` finds nobody (so give a trigger that another
/// coroutine may reuse a token in `msg...`, or destroy sleepers only with their actor).
template <class Self, class... Msg>
class sleep_awaiter {
public:
  sleep_awaiter(Self* self, trigger<caf::unit_t>& wake, caf::timespan d, Msg... msg)
      : self_(self), inner_(wake), d_(d), msg_(std::move(msg)...) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    inner_.await_suspend(h);
    std::apply([&](auto&... xs) { self_->delayed_send(self_, d_, std::move(xs)...); }, msg_);
  }
  void await_resume() { (void)inner_.await_resume(); }

private:
  Self* self_;
  trigger<caf::unit_t>::awaiter inner_;
  caf::timespan d_;
  std::tuple<Msg...> msg_;
};

template <class Self, class Rep, class Period, class... Msg>
sleep_awaiter<Self, Msg...> sleep_for(Self* self, trigger<caf::unit_t>& wake,
                                      std::chrono::duration<Rep, Period> d, Msg... msg) {
  return {self, wake, std::chrono::duration_cast<caf::timespan>(d), std::move(msg)...};
}

/// A client actor seen from a coroutine: `co_await ref.submit(txs)`.
template <class Self>
struct client_ref {
  Self* self;
  client_actor dest;
  std::chrono::milliseconds timeout{30000};

  auto submit(tx_list txs) const {
    return request_awaiter<final_receipt, Self, client_actor, submit_atom, tx_list>(
        self, dest, timeout, submit_atom::value, std::move(txs));
  }
  auto status() const {
    return request_awaiter<cluster_status, Self, client_actor, status_atom>(self, dest, timeout,
                                                                            status_atom::value);
  }
};

} // namespace bft::actors
