// The client gateway: admits signed client requests into the local replica's engine, answers
// with a receipt when the request executes, serves reads and status.
#include <chrono>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

namespace {

using clock_type = std::chrono::steady_clock;
using request_key = std::pair<public_key, std::uint64_t>;

struct pending_submit {
  std::vector<caf::typed_response_promise<frame>> promises;
  clock_type::time_point since{};
};

/// State of the gateway: the requests it admitted and who waits for them (the bounded
/// mempool of this replica). Owned by the actor.
struct gateway_state {
  static inline const char* name = "bft.gateway";
  gateway_config cfg;
  std::map<request_key, pending_submit> pending;
  std::unique_ptr<gateway_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("gateway");
  rate_limiter limiter;

  frame reply(const client_reply& r) const { return frame{cfg.id.self.value(), r.encode()}; }
  frame failure(const std::string& why) const {
    auto r = client_reply::failure(why);
    r.replica = cfg.id.self;
    return reply(r);
  }
  void update_probe() {
    if (probe) probe->on_mempool(pending.size());
  }
};

using gateway_self = gateway_actor::stateful_pointer<gateway_state>;

caf::result<frame> on_submit(gateway_self self, client_request req) {
  auto& st = self->state;
  if (!verify_request(req, *st.cfg.id.verifier, st.cfg.id.chain_id, st.cfg.id.epoch))
    return st.failure("request signature does not verify");
  request_key key{req.client, req.client_seq};
  auto it = st.pending.find(key);
  if (it == st.pending.end() && st.pending.size() >= st.cfg.max_pending)
    return st.failure("mempool full: " + std::to_string(st.cfg.max_pending) +
                      " requests await commit; retry later");
  auto rp = self->make_response_promise<frame>();
  if (it != st.pending.end()) { // a retry of a request we already admitted
    it->second.promises.push_back(rp);
    return rp;
  }
  self->request(st.cfg.state_machine, caf::infinite, session_atom::value, req.client)
      .then([self, rp, req = std::move(req)](session_answer& a) mutable {
        auto& gs = self->state;
        if (a.known && req.client_seq <= a.session.last_seq) {
          if (req.client_seq == a.session.last_seq) {
            client_reply r;
            r.what = client_reply::kind::receipt;
            r.replica = gs.cfg.id.self;
            r.client = req.client;
            r.client_seq = req.client_seq;
            r.duplicate = true;
            r.results = a.session.last_results;
            rp.deliver(gs.reply(r));
          } else {
            rp.deliver(gs.failure("client sequence number already used"));
          }
          return;
        }
        auto& p = gs.pending[request_key{req.client, req.client_seq}];
        p.promises.push_back(rp);
        if (p.promises.size() > 1) return; // admitted meanwhile
        p.since = clock_type::now();
        gs.update_probe();
        request_batch b;
        b.requests.push_back(std::move(req));
        self->send(gs.cfg.replica, submit_atom::value, std::move(b));
      });
  return rp;
}

caf::result<frame> on_status(gateway_self self) {
  auto rp = self->make_response_promise<frame>();
  auto& st = self->state;
  auto fail = [self, rp](caf::error& err) mutable {
    rp.deliver(self->state.failure("status unavailable: " + self->system().render(err)));
  };
  self->request(st.cfg.replica, std::chrono::seconds(5), status_atom::value)
      .then(
          [self, rp, fail](replica_status& rs) mutable {
            self->request(self->state.cfg.state_machine, std::chrono::seconds(5),
                          status_atom::value)
                .then(
                    [self, rp, rs, fail](state_status& ss) mutable {
                      self->request(self->state.cfg.monitor, std::chrono::seconds(5),
                                    health_atom::value)
                          .then(
                              [self, rp, rs, ss](health_report& h) mutable {
                                client_reply r;
                                r.what = client_reply::kind::status;
                                r.replica = self->state.cfg.id.self;
                                r.view = rs.engine.view.value();
                                r.height = ss.applied_index;
                                r.state_root = ss.state_root;
                                r.committed_txs = rs.committed_txs;
                                r.active = h.active;
                                r.total = h.total;
                                r.byzantine = h.byzantine;
                                r.validators = std::move(h.validators);
                                rp.deliver(self->state.reply(r));
                              },
                              fail);
                    },
                    fail);
          },
          fail);
  return rp;
}

gateway_actor::behavior_type gateway_fn(gateway_self self, gateway_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  if (init.cfg.id.probes != nullptr)
    init.probe = std::make_unique<gateway_probe>(*init.cfg.id.probes, init.cfg.id.self);
  self->send(init.cfg.state_machine, subscribe_atom::value, caf::actor_cast<gateway_actor>(self));
  self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
  return {
      [self](client_atom, frame& f) -> caf::result<frame> {
        auto& st = self->state;
        auto call = client_call::decode(f.data);
        if (!call) {
          std::uint64_t held = 0;
          if (st.limiter.allow("malformed", held))
            st.log->warn("gateway refuses malformed call node={} error=\"{}\" suppressed={}",
                         st.cfg.id.self.value(), call.error().message(), held);
          return st.failure("malformed call: " + call.error().message());
        }
        switch (call->what) {
        case client_call::kind::submit: return on_submit(self, std::move(call->request));
        case client_call::kind::read: {
          auto rp = self->make_response_promise<frame>();
          self->request(st.cfg.state_machine, std::chrono::seconds(5), read_atom::value, call->key)
              .then(
                  [self, rp](read_answer& a) mutable {
                    client_reply r;
                    r.what = client_reply::kind::read;
                    r.replica = self->state.cfg.id.self;
                    r.height = a.applied_index;
                    r.value = std::move(a.value);
                    rp.deliver(self->state.reply(r));
                  },
                  [self, rp](caf::error& err) mutable {
                    rp.deliver(self->state.failure("read failed: " + self->system().render(err)));
                  });
          return rp;
        }
        case client_call::kind::status: return on_status(self);
        }
        return st.failure("unknown call");
      },
      [self](outcome_atom, outcome_batch& b) {
        auto& st = self->state;
        auto now = clock_type::now();
        for (auto& o : b.outcomes) {
          auto it = st.pending.find(request_key{o.client, o.client_seq});
          if (it == st.pending.end()) continue;
          client_reply r;
          r.what = client_reply::kind::receipt;
          r.replica = st.cfg.id.self;
          r.height = b.index;
          r.client = o.client;
          r.client_seq = o.client_seq;
          r.duplicate = o.duplicate;
          r.results = o.results;
          r.commit_us = static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now - it->second.since)
                  .count());
          auto fr = st.reply(r);
          for (auto& p : it->second.promises) p.deliver(fr);
          if (st.probe)
            st.probe->on_commit_latency(
                std::chrono::duration<double>(now - it->second.since).count());
          st.pending.erase(it);
        }
        st.update_probe();
      },
      [self](sweep_atom) {
        auto& st = self->state;
        self->delayed_send(self, std::chrono::seconds(1), sweep_atom::value);
        auto now = clock_type::now();
        for (auto it = st.pending.begin(); it != st.pending.end();) {
          if (now - it->second.since > st.cfg.pending_timeout) {
            for (auto& p : it->second.promises)
              p.deliver(st.failure("request not committed in time; retry it"));
            it = st.pending.erase(it);
          } else {
            ++it;
          }
        }
        st.update_probe();
      },
  };
}

} // namespace

gateway_actor spawn_gateway(caf::actor_system& sys, gateway_config cfg) {
  return sys.spawn(gateway_fn, std::move(cfg));
}

} // namespace bft::actors
