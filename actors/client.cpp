// The client actor: signs requests with the client's key, calls every replica, and answers
// once replicas holding more than f of the voting weight (f + 1 for equal weights) agree.
#include <deque>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace bft::actors {

namespace {

struct queued_submit {
  tx_list txs;
  caf::typed_response_promise<final_receipt> rp;
};

/// Replies gathered for one request.
struct round_state {
  std::uint64_t seq = 0;
  std::map<std::string, std::pair<std::uint64_t, client_reply>> votes; ///< results -> weight, reply
  std::size_t answered = 0;
  std::string last_error;
  bool done = false;
};

/// State of a client actor: its next sequence number and the submissions waiting their turn
/// (one in flight, so requests execute in sequence-number order). Owned by the actor.
struct client_state {
  static inline const char* name = "bft.client";
  client_config cfg;
  std::uint64_t next_seq = 1;
  std::deque<queued_submit> queue;
  bool busy = false;
  std::shared_ptr<spdlog::logger> log = component_logger("client");
};

using client_self = client_actor::stateful_pointer<client_state>;

std::string results_key(const client_reply& r) {
  codec::writer w;
  w.u64(r.client_seq);
  w.count(r.results.size(), client_request::max_txs);
  for (const auto& x : r.results) w.blob(x.encode(), smr::max_value_bytes + 16);
  return std::string(w.data().begin(), w.data().end());
}

void start_next(client_self self);

void finish(client_self self, const std::shared_ptr<round_state>& round, final_receipt fr) {
  round->done = true;
  auto q = std::move(self->state.queue.front());
  self->state.queue.pop_front();
  self->state.busy = false;
  q.rp.deliver(std::move(fr));
  start_next(self);
}

void on_answer(client_self self, const std::shared_ptr<round_state>& round, std::size_t i,
               caf::expected<frame> answer) {
  auto& st = self->state;
  if (round->done) return;
  ++round->answered;
  if (answer) {
    auto r = client_reply::decode(answer->data);
    if (!r) {
      round->last_error = "undecodable reply: " + r.error().message();
    } else if (r->what == client_reply::kind::error) {
      round->last_error = "replica " + std::to_string(r->replica.value()) + ": " + r->message;
    } else if (r->what == client_reply::kind::receipt && r->client_seq == round->seq &&
               r->client == st.cfg.signer->key()) {
      const auto& member = st.cfg.validators.members().at(i);
      auto& v = round->votes[results_key(*r)];
      v.first += member.weight;
      if (v.first == member.weight) v.second = *r;
      if (v.first >= st.cfg.validators.one_honest_weight()) {
        final_receipt fr;
        fr.ok = true;
        fr.reply = v.second;
        fr.matching = static_cast<std::uint32_t>(v.first); // matching voting weight
        finish(self, round, std::move(fr));
        return;
      }
    } else {
      round->last_error = "unexpected reply";
    }
  } else {
    round->last_error = self->system().render(answer.error());
  }
  if (round->answered == st.cfg.replicas.size()) {
    final_receipt fr;
    fr.ok = false;
    fr.error = "no f + 1 replicas agreed on the result; last error: " + round->last_error;
    finish(self, round, std::move(fr));
  }
}

void start_next(client_self self) {
  auto& st = self->state;
  if (st.busy || st.queue.empty()) return;
  st.busy = true;
  client_call call;
  call.what = client_call::kind::submit;
  call.request.client_seq = st.next_seq++;
  call.request.txs = std::move(st.queue.front().txs.txs); // the queue keeps only the promise
  sign_request(call.request, *st.cfg.signer, st.cfg.chain_id, st.cfg.epoch);
  auto round = std::make_shared<round_state>();
  round->seq = call.request.client_seq;
  frame f{0, call.encode()};
  call = client_call{}; // the frame holds the bytes now
  const auto n = self->state.cfg.replicas.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!self->state.cfg.replicas[i]) { // not connected: counts as an answer with an error
      on_answer(self, round, i, caf::make_error(caf::sec::invalid_argument, "unreachable"));
      continue;
    }
    // The last replica takes the frame's bytes; the others get copies.
    self->request(self->state.cfg.replicas[i], self->state.cfg.timeout, client_atom::value,
                  i + 1 == n ? std::move(f) : f)
        .then([self, round, i](frame& reply) { on_answer(self, round, i, std::move(reply)); },
              [self, round, i](caf::error& err) { on_answer(self, round, i, std::move(err)); });
  }
}

client_actor::behavior_type client_fn(client_self self, client_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  init.next_seq = std::max<std::uint64_t>(1, init.cfg.first_seq);
  return {
      [self](submit_atom, tx_list& txs) -> caf::result<final_receipt> {
        auto& st = self->state;
        if (st.cfg.replicas.size() != st.cfg.validators.size()) {
          final_receipt fr;
          fr.error = "client has no handle for every validator";
          return fr;
        }
        auto rp = self->make_response_promise<final_receipt>();
        st.queue.push_back(queued_submit{std::move(txs), rp});
        start_next(self);
        return rp;
      },
      [self](status_atom) -> caf::result<cluster_status> {
        auto& st = self->state;
        auto rp = self->make_response_promise<cluster_status>();
        auto out = std::make_shared<cluster_status>();
        auto left = std::make_shared<std::size_t>(st.cfg.replicas.size());
        out->replies.resize(st.cfg.replicas.size());
        out->errors.resize(st.cfg.replicas.size());
        if (*left == 0) {
          rp.deliver(*out);
          return rp;
        }
        client_call call;
        call.what = client_call::kind::status;
        frame f{0, call.encode()};
        for (std::size_t i = 0; i < st.cfg.replicas.size(); ++i) {
          auto done = [rp, out, left]() mutable {
            if (--*left == 0) rp.deliver(*out);
          };
          if (!st.cfg.replicas[i]) {
            out->errors[i] = "unreachable";
            done();
            continue;
          }
          self->request(st.cfg.replicas[i], st.cfg.timeout, client_atom::value, f)
              .then(
                  [out, i, done](frame& reply) mutable {
                    auto r = client_reply::decode(reply.data);
                    if (r && r->what == client_reply::kind::status)
                      out->replies[i] = std::move(*r);
                    else if (r)
                      out->errors[i] = r->message;
                    else
                      out->errors[i] = "undecodable reply";
                    done();
                  },
                  [self, out, i, done](caf::error& err) mutable {
                    out->errors[i] = self->system().render(err);
                    done();
                  });
        }
        return rp;
      },
  };
}

} // namespace

client_actor spawn_client(caf::actor_system& sys, client_config cfg) {
  return sys.spawn(client_fn, std::move(cfg));
}

} // namespace bft::actors
