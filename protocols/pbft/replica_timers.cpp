#include <algorithm>
#include <set>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/pbft/log_record.hpp"
#include "protocols/pbft/replica.hpp"
#include "protocols/pbft/replica_detail.hpp"

// The PBFT replica's timers and retransmission: ticks, the view-change timer's expiry (P20,
// P28), late relays (P5), resending its own frames, fetching and serving batches. The rest of
// the replica is in replica.cpp.
namespace bft::pbft {

using namespace detail;

// ---- timers and retransmission ------------------------------------------------------------

void replica::on_tick(ready& out) {
  ++now_;
  relay_late(out);
  if (view_deadline_ && now_ >= *view_deadline_) {
    view_deadline_.reset();
    on_timer_expired(out); // P31: asks where the others are, then P20 / P28
  }
  propose(out, false);
  if (now_ - last_resend_ >= resend_interval_) resend(out);
  if (probe_due()) send_probe(out);
  // A guarded replica keeps asking: reports bound it first, then bring the new-views that
  // move it along while it may not join view changes.
  if (guarded() && now_ - last_status_request_ >= timeout_) send_status_request(out);
}

void replica::time_out(ready& out) {
  if (view_changing_) timeout_ = std::min(timeout_ * 2, max_timeout_ticks); // P28
  start_view_change(out, view_number{view_.value() + 1});
}

void replica::relay_late(ready& out) {
  constexpr std::size_t per_frame = 64; // requests per relay frame
  std::vector<client_request> late;
  while (!relay_due_.empty() && relay_due_.front().first <= now_) {
    auto key = relay_due_.front().second;
    relay_due_.pop_front();
    auto it = pending_.find(key);
    if (it == pending_.end() || in_flight_.contains(key) || is_primary()) continue;
    late.push_back(it->second.req);
    if (late.size() == per_frame)
      send(out, std::nullopt, encode(request_relay{std::exchange(late, {})}));
  }
  if (!late.empty()) send(out, std::nullopt, encode(request_relay{std::move(late)}));
}

void replica::resend(ready& out) {
  last_resend_ = now_;
  if (view_changing_) {
    if (!own_vc_.empty()) send(out, std::nullopt, own_vc_);
  } else if (last_executed_ == executed_at_last_resend_) {
    for (auto it = log_.upper_bound(last_executed_); it != log_.end(); ++it) {
      const slot& s = it->second;
      if (s.votes_view != view_) continue;
      if (!s.own_pp.empty() && s.pp_view == view_) send(out, std::nullopt, s.own_pp);
      if (!s.own_vote.empty()) send(out, std::nullopt, s.own_vote);
      if (!s.own_commit.empty()) send(out, std::nullopt, s.own_commit);
    }
  }
  executed_at_last_resend_ = last_executed_;
  // The latest checkpoint goes out again, so a replica that missed it learns that it is
  // behind (P30) even when the cluster is idle.
  if (!own_ckpt_.empty()) send(out, std::nullopt, own_ckpt_);
  fetch_missing(out);
}

void replica::fetch_missing(ready& out) {
  std::set<digest> asked;
  for (auto it = log_.upper_bound(last_executed_); it != log_.end(); ++it) {
    const slot& s = it->second;
    if (s.has_pp && s.pp_view == view_ && !s.requests && s.d != null_digest &&
        asked.insert(s.d).second)
      send(out, std::nullopt, encode(fetch_batch{s.d}));
  }
}

void replica::on_fetch(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_fetch_batch(frame);
  if (!m) {
    reject(out, from, "malformed batch fetch: " + err_text(m.error()));
    return;
  }
  if (auto b = find_batch(m->d); b && m->d != null_digest)
    send(out, from, encode(batch_reply{m->d, b}));
}

void replica::on_batch_reply(ready& out, replica_id from, const bytes& frame) {
  auto m = decode_batch_reply(frame);
  if (!m) {
    reject(out, from, "malformed batch reply: " + err_text(m.error()));
    return;
  }
  bool wanted = false;
  for (const auto& [n, s] : log_)
    if (s.has_pp && !s.requests && s.d == m->d) wanted = true;
  if (!wanted) return;
  auto enc = encode_batch(*m->requests);
  if (m->requests->empty() || crypto::sha3_256(enc) != m->d) {
    reject(out, from, "batch reply does not match its digest");
    return;
  }
  for (auto& [n, s] : log_)
    if (s.has_pp && !s.requests && s.d == m->d) {
      s.requests = m->requests;
      keep_batch(m->d, s.requests, n);
    }
  persist(out, batch_key(m->d), std::move(enc));
  try_execute(out);
}

} // namespace bft::pbft
