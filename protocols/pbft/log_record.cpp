#include "protocols/pbft/log_record.hpp"

#include <charconv>
#include <cstdio>
#include <utility>

#include "protocols/common/codec.hpp"

namespace bft::pbft {

namespace {

void put_proof(codec::writer& w, const checkpoint_proof& p) {
  w.id(p.seq);
  w.raw(p.state);
  w.count(p.sigs.size(), max_replicas);
  for (const auto& s : p.sigs) {
    w.id(s.from);
    w.raw(s.sig);
  }
}

checkpoint_proof get_proof(codec::reader& r) {
  checkpoint_proof p;
  p.seq = r.id<seq_number>();
  p.state = r.fixed<32>();
  auto n = r.count(max_replicas, 68);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    signed_by s;
    s.from = r.id<replica_id>();
    s.sig = r.fixed<64>();
    p.sigs.push_back(s);
  }
  return p;
}

} // namespace

// ---- keys ------------------------------------------------------------------------------------

std::string log_key(std::uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "pbft/log/%020llu", static_cast<unsigned long long>(n));
  return buf;
}

std::optional<std::uint64_t> log_key_seq(std::string_view key) {
  if (!key.starts_with(log_key_prefix)) return std::nullopt;
  key.remove_prefix(log_key_prefix.size());
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  if (ec != std::errc{} || end != key.data() + key.size() || key.empty()) return std::nullopt;
  return n;
}

std::string batch_key(const digest& d) { return std::string(batch_key_prefix) + to_hex(d); }

// ---- records ---------------------------------------------------------------------------------

bytes log_record::encode() const {
  codec::writer w(256);
  w.boolean(has_pp);
  w.id(pp_view);
  w.raw(d);
  w.raw(pp_sig);
  w.boolean(committed);
  w.boolean(cert.has_value());
  if (cert) {
    w.id(cert->view);
    w.raw(cert->d);
    w.raw(cert->pp_sig);
    checkpoint_proof p; // the prepares, in the proof's layout (seq and state unused)
    p.sigs = cert->prepares;
    put_proof(w, p);
  }
  return w.take();
}

result<log_record> log_record::decode(byte_view b, std::uint64_t n) {
  codec::reader r(b);
  log_record s;
  s.has_pp = r.boolean();
  s.pp_view = r.id<view_number>();
  s.d = r.fixed<32>();
  s.pp_sig = r.fixed<64>();
  s.committed = r.boolean();
  if (r.boolean()) {
    prepared_cert c;
    c.view = r.id<view_number>();
    c.seq = seq_number{n};
    c.d = r.fixed<32>();
    c.pp_sig = r.fixed<64>();
    auto p = get_proof(r);
    // encode() writes the proof layout's unused seq and state as zeros; anything else is not
    // the one encoding of a record (a damaged store), so it is refused, not ignored.
    if (r.ok() && (p.seq != seq_number{0} || p.state != digest{})) r.fail(errc::malformed);
    c.prepares = std::move(p.sigs);
    s.cert = std::move(c);
  }
  if (auto f = r.finish(); !f) return f.error();
  return s;
}

bytes view_record::encode() const {
  codec::writer w(256);
  w.id(view);
  w.boolean(changing);
  return w.take();
}

result<view_record> view_record::decode(byte_view b) {
  codec::reader r(b);
  view_record v;
  v.view = r.id<view_number>();
  v.changing = r.boolean();
  if (auto f = r.finish(); !f) return f.error();
  return v;
}

bytes transfer_record::encode() const {
  codec::writer w(48);
  w.u64(index);
  w.raw(root);
  w.u64(before);
  return w.take();
}

result<transfer_record> transfer_record::decode(byte_view b) {
  codec::reader r(b);
  transfer_record t;
  t.index = r.u64();
  t.root = r.fixed<32>();
  t.before = r.u64();
  if (auto f = r.finish(); !f) return f.error();
  return t;
}

bytes encode_stable(const checkpoint_proof& p) {
  codec::writer w(256);
  put_proof(w, p);
  return w.take();
}

result<checkpoint_proof> decode_stable(byte_view b) {
  codec::reader r(b);
  auto p = get_proof(r);
  if (auto f = r.finish(); !f) return f.error();
  return p;
}

result<batch> decode_stored_batch(byte_view b) {
  codec::reader r(b);
  auto n = r.count(max_batch_requests, 1);
  batch out;
  for (std::size_t i = 0; i < n && r.ok(); ++i) out.push_back(client_request::decode(r));
  if (auto f = r.finish(); !f) return f.error();
  return out;
}

} // namespace bft::pbft
