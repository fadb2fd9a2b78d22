#include "protocols/sim/app.hpp"

#include "crypto/sha3.hpp"
#include "protocols/common/codec.hpp"

namespace bft::sim {

digest app_snapshot::root() const {
  codec::writer w;
  w.raw(chain);
  w.u64(last_seq.size());
  for (const auto& [client, seq] : last_seq) {
    w.raw(client);
    w.u64(seq);
  }
  return crypto::sha3_256(w.data());
}

application::application(std::uint64_t snapshot_interval)
    : interval_(snapshot_interval == 0 ? 1 : snapshot_interval) {
  root_ = state_.root();
  roots_[0] = root_;
  snapshots_[0] = state_;
}

std::optional<digest> application::root_at(std::uint64_t index) const {
  auto it = roots_.find(index);
  if (it == roots_.end()) return std::nullopt;
  return it->second;
}

const app_snapshot* application::snapshot_at(std::uint64_t index) const {
  auto it = snapshots_.find(index);
  return it == snapshots_.end() ? nullptr : &it->second;
}

apply_result application::apply(const committed_entry& e) {
  apply_result out;
  for (const auto& req : e.requests) {
    auto it = state_.last_seq.find(req.client);
    if (it != state_.last_seq.end() && req.client_seq <= it->second) {
      ++out.skipped;
      continue;
    }
    state_.last_seq[req.client] = req.client_seq;
    auto body = req.body();
    state_.chain = crypto::sha3_256({byte_view(state_.chain), byte_view(body)});
    out.executed.push_back(&req);
  }
  state_.index = e.index;
  if (!out.executed.empty()) root_ = state_.root();
  roots_[e.index] = root_;
  if (e.index % interval_ == 0) snapshots_[e.index] = state_;
  return out;
}

void application::install(const app_snapshot& s) {
  state_ = s;
  root_ = state_.root();
  roots_[s.index] = root_;
  if (s.index % interval_ == 0) snapshots_[s.index] = state_;
}

} // namespace bft::sim
