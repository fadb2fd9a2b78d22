#include "actors/catchup.hpp"

#include <algorithm>

#include "crypto/sha3.hpp"
#include "protocols/common/codec.hpp"

namespace bft::actors {

namespace {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace

bool is_sync_frame(byte_view frame) {
  auto env = codec::peek_envelope(frame);
  return env && env->type >= sync_request_type && env->type <= sync_unavailable_type;
}

bytes encode_sync(const sync_message& m) {
  codec::writer w;
  std::visit(overloaded{
                 [&](const sync_request& r) {
                   w.header({sync_request_type, 1});
                   w.u64(r.index);
                   w.u32(r.chunk);
                 },
                 [&](const sync_manifest& r) {
                   w.header({sync_manifest_type, 1});
                   w.u64(r.index);
                   w.raw(r.root);
                   w.u64(r.total_bytes);
                   w.u32(r.chunk_bytes);
                   w.count(r.chunks.size(), max_chunks);
                   for (const auto& d : r.chunks) w.raw(d);
                 },
                 [&](const sync_chunk& r) {
                   w.header({sync_chunk_type, 1});
                   w.u64(r.index);
                   w.u32(r.chunk);
                   w.blob(r.data, max_chunk_bytes);
                 },
                 [&](const sync_unavailable& r) {
                   w.header({sync_unavailable_type, 1});
                   w.u64(r.index);
                 },
             },
             m);
  return w.take();
}

result<sync_message> decode_sync(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return error{errc::malformed, "sync frame too large"};
  auto env = codec::peek_envelope(frame);
  if (!env) return env.error();
  codec::reader r(frame);
  sync_message out;
  switch (env->type) {
  case sync_request_type: {
    r.expect({sync_request_type, 1});
    sync_request m;
    m.index = r.u64();
    m.chunk = r.u32();
    out = m;
    break;
  }
  case sync_manifest_type: {
    r.expect({sync_manifest_type, 1});
    sync_manifest m;
    m.index = r.u64();
    m.root = r.fixed<32>();
    m.total_bytes = r.u64();
    m.chunk_bytes = r.u32();
    auto n = r.count(max_chunks, 32);
    m.chunks.reserve(n);
    for (std::size_t i = 0; i < n && r.ok(); ++i) m.chunks.push_back(r.fixed<32>());
    out = std::move(m);
    break;
  }
  case sync_chunk_type: {
    r.expect({sync_chunk_type, 1});
    sync_chunk m;
    m.index = r.u64();
    m.chunk = r.u32();
    m.data = r.blob(max_chunk_bytes);
    out = std::move(m);
    break;
  }
  case sync_unavailable_type: {
    r.expect({sync_unavailable_type, 1});
    sync_unavailable m;
    m.index = r.u64();
    out = m;
    break;
  }
  default: return error{errc::malformed, "not a sync frame"};
  }
  if (auto f = r.finish(); !f) return f.error();
  return out;
}

served_snapshot make_served(std::uint64_t index, const digest& root,
                            std::shared_ptr<const bytes> data, std::uint32_t chunk_bytes) {
  served_snapshot s;
  s.index = index;
  s.manifest.index = index;
  s.manifest.root = root;
  s.manifest.chunk_bytes = std::clamp<std::uint32_t>(chunk_bytes, 1, max_chunk_bytes);
  s.manifest.total_bytes = data ? data->size() : 0;
  if (data) {
    for (std::size_t off = 0; off < data->size(); off += s.manifest.chunk_bytes) {
      auto len = std::min<std::size_t>(s.manifest.chunk_bytes, data->size() - off);
      s.manifest.chunks.push_back(crypto::sha3_256(byte_view(data->data() + off, len)));
    }
  }
  s.data = std::move(data);
  return s;
}

sync_message answer(const served_snapshot* snap, const sync_request& req) {
  if (snap == nullptr || !snap->data || snap->index != req.index)
    return sync_unavailable{req.index};
  if (req.chunk == manifest_chunk) return snap->manifest;
  if (req.chunk >= snap->manifest.chunks.size()) return sync_unavailable{req.index};
  const std::size_t off = std::size_t{req.chunk} * snap->manifest.chunk_bytes;
  const std::size_t len =
      std::min<std::size_t>(snap->manifest.chunk_bytes, snap->data->size() - off);
  sync_chunk c;
  c.index = req.index;
  c.chunk = req.chunk;
  c.data.assign(snap->data->begin() + static_cast<std::ptrdiff_t>(off),
                snap->data->begin() + static_cast<std::ptrdiff_t>(off + len));
  return c;
}

// ---- fetcher -----------------------------------------------------------------------------

snapshot_fetcher::snapshot_fetcher(std::size_t window, std::uint64_t patience)
    : window_(std::max<std::size_t>(window, 1)), patience_(std::max<std::uint64_t>(patience, 1)) {}

void snapshot_fetcher::reset_transfer() {
  manifest_.reset();
  chunks_.clear();
  in_flight_.clear();
  installing_ = false;
}

void snapshot_fetcher::cancel() {
  active_ = false;
  reset_transfer();
  sources_.clear();
  faulty_.clear();
}

fetch_output snapshot_fetcher::start(const state_transfer_request& req,
                                     const std::vector<replica_id>& peers) {
  cancel();
  active_ = true;
  index_ = req.index;
  root_ = req.state_root;
  for (auto p : req.sources)
    if (std::find(sources_.begin(), sources_.end(), p) == sources_.end()) sources_.push_back(p);
  for (auto p : peers)
    if (std::find(sources_.begin(), sources_.end(), p) == sources_.end()) sources_.push_back(p);
  cursor_ = 0;
  idle_ticks_ = 0;
  unavailable_in_row_ = 0;
  fetch_output out;
  if (!sources_.empty()) ask_manifest(out);
  return out;
}

bool snapshot_fetcher::next_source() {
  for (std::size_t i = 1; i <= sources_.size(); ++i) {
    auto c = (cursor_ + i) % sources_.size();
    if (faulty_.count(sources_[c]) == 0) {
      cursor_ = c;
      return true;
    }
  }
  return false;
}

void snapshot_fetcher::fault(fetch_output& out, replica_id peer, const char* reason, bool faulty) {
  out.faults.push_back(fetch_fault{peer, reason});
  if (faulty) faulty_.insert(peer);
}

void snapshot_fetcher::ask_manifest(fetch_output& out) {
  if (sources_.empty() || faulty_.count(sources_[cursor_]) != 0) return;
  out.send.emplace_back(sources_[cursor_], encode_sync(sync_request{index_, manifest_chunk}));
}

void snapshot_fetcher::request_chunks(fetch_output& out) {
  if (!manifest_ || sources_.empty()) return;
  const auto peer = sources_[cursor_];
  if (faulty_.count(peer) != 0) return;
  for (std::uint32_t k = 0; k < chunks_.size() && in_flight_.size() < window_; ++k) {
    if (chunks_[k] || in_flight_.count(k) != 0) continue;
    in_flight_[k] = peer;
    out.send.emplace_back(peer, encode_sync(sync_request{index_, k}));
  }
}

fetch_output snapshot_fetcher::on_message(replica_id from, const sync_message& m) {
  fetch_output out;
  if (!active_ || installing_ || sources_.empty()) return out;
  if (const auto* man = std::get_if<sync_manifest>(&m)) {
    // Only the manifest asked for, from the source asked.
    if (manifest_ || man->index != index_ || from != sources_[cursor_]) return out;
    if (man->root != root_) {
      fault(out, from, "wrong_root", true);
    } else if (man->chunk_bytes == 0 || man->chunk_bytes > max_chunk_bytes ||
               man->total_bytes == 0 ||
               // Bounded first, so the chunk count below cannot wrap around to 0 chunks.
               man->total_bytes > std::uint64_t{max_chunks} * max_chunk_bytes ||
               man->chunks.size() != (man->total_bytes + man->chunk_bytes - 1) / man->chunk_bytes) {
      fault(out, from, "malformed", true);
    } else {
      manifest_ = *man;
      manifest_from_ = from;
      chunks_.assign(man->chunks.size(), std::nullopt);
      idle_ticks_ = 0;
      unavailable_in_row_ = 0;
      request_chunks(out);
      return out;
    }
    if (next_source()) ask_manifest(out);
    return out;
  }
  if (const auto* c = std::get_if<sync_chunk>(&m)) {
    if (!manifest_ || c->index != index_ || c->chunk >= chunks_.size()) return out;
    auto it = in_flight_.find(c->chunk);
    if (it == in_flight_.end() || it->second != from) return out; // not asked from this peer
    in_flight_.erase(it);
    const auto& want = manifest_->chunks[c->chunk];
    const bool last = c->chunk + 1 == chunks_.size();
    const std::size_t expect_len =
        last ? manifest_->total_bytes - std::size_t{c->chunk} * manifest_->chunk_bytes
             : manifest_->chunk_bytes;
    if (c->data.size() != expect_len || crypto::sha3_256(c->data) != want) {
      fault(out, from, "bad_chunk", true);
      // Everything asked from the liar is asked again from the next source.
      for (auto i = in_flight_.begin(); i != in_flight_.end();)
        i = i->second == from ? in_flight_.erase(i) : std::next(i);
      if (next_source()) request_chunks(out);
      return out;
    }
    chunks_[c->chunk] = c->data;
    idle_ticks_ = 0;
    if (std::all_of(chunks_.begin(), chunks_.end(), [](const auto& x) { return x.has_value(); })) {
      bytes all;
      all.reserve(manifest_->total_bytes);
      for (const auto& x : chunks_) all.insert(all.end(), x->begin(), x->end());
      installing_ = true;
      in_flight_.clear();
      out.complete = std::move(all);
      return out;
    }
    request_chunks(out);
    return out;
  }
  if (const auto* u = std::get_if<sync_unavailable>(&m)) {
    if (u->index != index_ || from != sources_[cursor_]) return out;
    fault(out, from, "unavailable", false);
    for (auto i = in_flight_.begin(); i != in_flight_.end();)
      i = i->second == from ? in_flight_.erase(i) : std::next(i);
    // After a full round of refusals wait for the tick timeout instead of asking in a loop.
    if (++unavailable_in_row_ >= sources_.size()) return out;
    if (!next_source()) return out;
    if (manifest_)
      request_chunks(out);
    else
      ask_manifest(out);
  }
  return out; // requests are served by the replica, not the fetcher
}

fetch_output snapshot_fetcher::on_tick() {
  fetch_output out;
  if (!active_ || installing_ || sources_.empty()) return out;
  if (++idle_ticks_ < patience_) return out;
  idle_ticks_ = 0;
  unavailable_in_row_ = 0;
  fault(out, sources_[cursor_], "timeout", false);
  in_flight_.clear();
  if (!next_source()) return out;
  if (manifest_)
    request_chunks(out);
  else
    ask_manifest(out);
  return out;
}

fetch_output snapshot_fetcher::on_install_failed() {
  fetch_output out;
  if (!active_) return out;
  fault(out, manifest_from_, "bad_snapshot", true);
  reset_transfer();
  idle_ticks_ = 0;
  if (next_source()) ask_manifest(out);
  return out;
}

void snapshot_fetcher::on_installed() { cancel(); }

} // namespace bft::actors
