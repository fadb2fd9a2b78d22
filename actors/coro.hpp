#pragma once
/// C++20 coroutines over CAF 0.17's `request(...).then(...)` (CAF has no coroutine support).
///
///     task run(coro_scope&, caf::event_based_actor* self, client_actor c) {
///       auto gateway = client_ref{self, c};
///       auto receipt = co_await gateway.submit(txs);  // caf::expected<final_receipt>
///     }
///
/// - The actor keeps handling other messages while a coroutine waits (`.then`, not `.await`);
///   the coroutine resumes inside the actor's own handler, so it may touch actor state, but
///   anything may have changed across a `co_await`.
/// - A `task` starts at once and frees itself when it finishes. If the actor terminates while
///   a coroutine waits, CAF never runs the handler: the `coro_scope` (kept in the actor's
///   state, passed as the coroutine's first argument) destroys such frames when it goes.
/// Single-threaded: a scope and its coroutines belong to one actor.
#include <chrono>
#include <coroutine>
#include <exception>
#include <set>
#include <tuple>
#include <utility>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "actors/actors.hpp"

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

/// Awaits the single-value reply `T` of `self->request(dest, timeout, args...)`.
template <class T, class Self, class Dest, class... Args>
class request_awaiter {
public:
  request_awaiter(Self* self, Dest dest, std::chrono::milliseconds timeout, Args... args)
      : self_(self), dest_(std::move(dest)), timeout_(timeout), args_(std::move(args)...) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    std::apply(
        [&](auto&... xs) {
          self_->request(dest_, timeout_, std::move(xs)...)
              .then(
                  [this, h](T& x) {
                    result_ = std::move(x);
                    h.resume();
                  },
                  [this, h](caf::error& e) {
                    result_ = std::move(e);
                    h.resume();
                  });
        },
        args_);
  }
  caf::expected<T> await_resume() { return std::move(result_); }

private:
  Self* self_;
  Dest dest_;
  std::chrono::milliseconds timeout_;
  std::tuple<Args...> args_;
  caf::expected<T> result_{caf::error{}};
};

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
