#include "protocols/smr/kv_state_machine.hpp"

#include "protocols/common/codec.hpp"

namespace bft::smr {

namespace {
// Tree keys: "d" + user key for data, "s" + 32 key bytes for client sessions.
std::string data_key(const std::string& k) { return "d" + k; }
std::string session_key(const public_key& c) {
  return "s" + std::string(reinterpret_cast<const char*>(c.data()), c.size());
}
constexpr std::size_t max_results_bytes = client_request::max_txs * (max_value_bytes + 16);
} // namespace

bytes encode_session(const client_session& s) {
  codec::writer w;
  w.u64(s.last_seq);
  w.count(s.last_results.size(), client_request::max_txs);
  for (const auto& r : s.last_results) w.blob(r.encode(), max_value_bytes + 16);
  return w.take();
}

void kv_state_machine::set_data(const std::string& key, std::string value) {
  dirty_data_.insert(key);
  data_.insert_or_assign(key, std::move(value));
}

void kv_state_machine::erase_data(const std::string& key) {
  dirty_data_.insert(key);
  data_.erase(key);
}

void kv_state_machine::set_session(const public_key& client, client_session s) {
  dirty_sessions_.insert(client);
  sessions_.insert_or_assign(client, std::move(s));
}

kv_result kv_state_machine::execute(const bytes& raw_tx) {
  auto tx = kv_tx::decode(raw_tx);
  if (!tx) return {kv_status::malformed, std::nullopt};
  auto it = data_.find(tx->key);
  switch (tx->op) {
  case kv_op::put: set_data(tx->key, std::move(tx->value)); return {kv_status::ok, std::nullopt};
  case kv_op::get:
    if (it == data_.end()) return {kv_status::not_found, std::nullopt};
    return {kv_status::ok, it->second};
  case kv_op::del:
    if (it == data_.end()) return {kv_status::not_found, std::nullopt};
    erase_data(tx->key);
    return {kv_status::ok, std::nullopt};
  case kv_op::cas: {
    std::optional<std::string> current;
    if (it != data_.end()) current = it->second;
    if (current != tx->expected) return {kv_status::cas_mismatch, current};
    set_data(tx->key, std::move(tx->value));
    return {kv_status::ok, std::nullopt};
  }
  }
  return {kv_status::malformed, std::nullopt};
}

std::vector<request_outcome> kv_state_machine::apply(const committed_entry& entry) {
  std::vector<request_outcome> out;
  if (entry.index <= applied_index_) return out;
  applied_index_ = entry.index;
  out.reserve(entry.requests.size());
  for (const auto& req : entry.requests) {
    request_outcome o;
    o.client = req.client;
    o.client_seq = req.client_seq;
    auto s = sessions_.find(req.client);
    if (s != sessions_.end() && req.client_seq <= s->second.last_seq) {
      o.duplicate = true;
      if (req.client_seq == s->second.last_seq) o.results = s->second.last_results;
      out.push_back(std::move(o));
      continue;
    }
    o.results.reserve(req.txs.size());
    for (const auto& tx : req.txs) o.results.push_back(execute(tx));
    set_session(req.client, client_session{req.client_seq, o.results});
    out.push_back(std::move(o));
  }
  return out;
}

std::optional<std::string> kv_state_machine::read(const std::string& key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<public_key, std::uint64_t>> kv_state_machine::client_seqs() const {
  std::vector<std::pair<public_key, std::uint64_t>> out;
  out.reserve(sessions_.size());
  for (const auto& [client, s] : sessions_) out.emplace_back(client, s.last_seq);
  return out;
}

const client_session* kv_state_machine::session(const public_key& client) const {
  auto it = sessions_.find(client);
  return it == sessions_.end() ? nullptr : &it->second;
}

digest kv_state_machine::state_root() {
  for (const auto& key : dirty_data_) {
    auto it = data_.find(key);
    if (it == data_.end())
      tree_.erase(data_key(key));
    else
      tree_.put(data_key(key), leaf_digest(data_key(key), as_bytes(it->second)));
  }
  dirty_data_.clear();
  for (const auto& client : dirty_sessions_) {
    auto it = sessions_.find(client);
    if (it == sessions_.end())
      tree_.erase(session_key(client));
    else
      tree_.put(session_key(client), leaf_digest(session_key(client), encode_session(it->second)));
  }
  dirty_sessions_.clear();
  return tree_.root();
}

bytes kv_state_machine::snapshot() {
  codec::writer w;
  w.header({snapshot_type, 1});
  w.u64(applied_index_);
  w.count(data_.size(), max_entries);
  for (const auto& [k, v] : data_) {
    w.str(k, max_key_bytes);
    w.str(v, max_value_bytes);
  }
  w.count(sessions_.size(), max_entries);
  for (const auto& [c, s] : sessions_) {
    w.raw(c);
    w.blob(encode_session(s), max_results_bytes);
  }
  w.raw(state_root());
  return w.take();
}

result<void> kv_state_machine::restore(byte_view snap, const digest& expected_root) {
  codec::reader r(snap);
  r.expect({snapshot_type, 1});
  kv_state_machine fresh;
  fresh.applied_index_ = r.u64();
  auto n = r.count(max_entries, 8);
  std::string prev;
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    auto k = r.str(max_key_bytes);
    auto v = r.str(max_value_bytes);
    if (r.ok() && i > 0 && k <= prev) return error{errc::malformed, "snapshot keys not sorted"};
    prev = k;
    if (r.ok()) fresh.set_data(k, std::move(v));
  }
  auto m = r.count(max_entries, 36);
  for (std::size_t i = 0; i < m && r.ok(); ++i) {
    public_key c = r.fixed<32>();
    auto raw = r.blob_view(max_results_bytes);
    if (!r.ok()) break;
    if (fresh.sessions_.count(c) > 0) return error{errc::malformed, "duplicate session"};
    codec::reader sr(raw);
    client_session s;
    s.last_seq = sr.u64();
    auto nr = sr.count(client_request::max_txs, 4);
    for (std::size_t j = 0; j < nr && sr.ok(); ++j) {
      auto res = kv_result::decode(sr.blob_view(max_value_bytes + 16));
      if (!res) return error{errc::malformed, "bad result in snapshot session"};
      s.last_results.push_back(std::move(*res));
    }
    if (auto f = sr.finish(); !f) return f.error();
    fresh.set_session(c, std::move(s));
  }
  digest carried = r.fixed<32>();
  if (auto f = r.finish(); !f) return f.error();
  auto root = fresh.state_root();
  if (root != expected_root || root != carried)
    return error{errc::malformed, "snapshot state root does not match"};
  *this = std::move(fresh);
  return {};
}

} // namespace bft::smr
