#include "protocols/pbft/messages.hpp"

#include <algorithm>
#include <set>

#include "crypto/sha3.hpp"
#include "crypto/signer.hpp"

namespace bft::pbft {
namespace {

codec::envelope env(msg_type t) { return {static_cast<std::uint16_t>(t), wire_version}; }

constexpr std::size_t request_min_bytes = 32 + 8 + 4 + 64;
constexpr std::size_t signed_by_bytes = 4 + signature_bytes;
constexpr std::size_t pre_prepare_header_bytes = 4 + 8 + 8 + 32 + 4;

void put_signed_by(codec::writer& w, const std::vector<signed_by>& v) {
  w.count(v.size(), max_replicas);
  for (const auto& s : v) {
    w.id(s.from);
    w.raw(s.sig);
  }
}

std::vector<signed_by> get_signed_by(codec::reader& r) {
  std::vector<signed_by> out;
  auto n = r.count(max_replicas, signed_by_bytes);
  out.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    signed_by s;
    s.from = r.id<replica_id>();
    s.sig = r.fixed<64>();
    out.push_back(s);
  }
  return out;
}

void put_batch(codec::writer& w, const batch& b) {
  w.count(b.size(), max_batch_requests);
  for (const auto& req : b) req.encode(w);
}

batch get_batch(codec::reader& r) {
  batch out;
  auto n = r.count(max_batch_requests, request_min_bytes);
  out.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) out.push_back(client_request::decode(r));
  return out;
}

/// Splits `frame` into signed part and trailing signature.
bool split_signature(byte_view frame, byte_view& body, signature& sig) {
  if (frame.size() < signature_bytes) return false;
  body = frame.first(frame.size() - signature_bytes);
  std::copy_n(frame.end() - static_cast<std::ptrdiff_t>(signature_bytes), signature_bytes,
              sig.begin());
  return true;
}

template <class T>
result<T> finish(codec::reader& r, T value) {
  if (auto f = r.finish(); !f) return f.error();
  return value;
}

bytes vc_body(const view_change& m) {
  codec::writer w(256);
  w.header(env(msg_type::view_change));
  w.id(m.new_view);
  w.id(m.from);
  w.id(m.stable.seq);
  w.raw(m.stable.state);
  put_signed_by(w, m.stable.sigs);
  w.count(m.prepared.size(), max_certificates);
  for (const auto& p : m.prepared) {
    w.id(p.view);
    w.id(p.seq);
    w.raw(p.d);
    w.raw(p.pp_sig);
    put_signed_by(w, p.prepares);
  }
  return w.take();
}

bytes nv_body(const new_view& m) {
  codec::writer w(256);
  w.header(env(msg_type::new_view));
  w.id(m.view);
  w.id(m.from);
  w.count(m.view_changes.size(), max_replicas);
  for (const auto& f : m.view_changes) w.blob(f, max_view_change_bytes);
  w.count(m.entries.size(), max_certificates);
  for (const auto& e : m.entries) {
    w.id(e.seq);
    w.raw(e.d);
    w.raw(e.pp_sig);
  }
  return w.take();
}

bytes pp_header(view_number v, seq_number n, const digest& d, replica_id from) {
  codec::writer w(pre_prepare_header_bytes);
  w.header(env(msg_type::pre_prepare));
  w.id(v);
  w.id(n);
  w.raw(d);
  w.id(from);
  return w.take();
}

bytes vote_body(msg_type phase, view_number v, seq_number n, const digest& d, replica_id from) {
  codec::writer w(4 + 8 + 8 + 32 + 4 + signature_bytes);
  w.header(env(phase));
  w.id(v);
  w.id(n);
  w.raw(d);
  w.id(from);
  return w.take();
}

bytes checkpoint_body(seq_number n, const digest& s, replica_id from) {
  codec::writer w(256);
  w.header(env(msg_type::checkpoint));
  w.id(n);
  w.raw(s);
  w.id(from);
  return w.take();
}

bytes with_sig(bytes body, const signature& sig) {
  body.insert(body.end(), sig.begin(), sig.end());
  return body;
}

bytes wrap(const signing_context& c, msg_type t, byte_view signed_part) {
  return codec::signing_bytes(sign_tag(t), c.chain_id, c.epoch, signed_part);
}

} // namespace

bytes encode_batch(const batch& b) {
  std::size_t size = 4;
  for (const auto& q : b) size += q.encoded_size();
  codec::writer w(size);
  put_batch(w, b);
  return w.take();
}

digest batch_digest(const batch& b) {
  if (b.empty()) return null_digest;
  auto enc = encode_batch(b);
  return crypto::sha3_256(enc);
}

std::string_view sign_tag(msg_type t) {
  switch (t) {
  case msg_type::pre_prepare: return "bft/pbft/pre-prepare/v1";
  case msg_type::prepare: return "bft/pbft/prepare/v1";
  case msg_type::commit: return "bft/pbft/commit/v1";
  case msg_type::checkpoint: return "bft/pbft/checkpoint/v1";
  case msg_type::view_change: return "bft/pbft/view-change/v1";
  case msg_type::new_view: return "bft/pbft/new-view/v1";
  case msg_type::request_relay: return "bft/pbft/request-relay/v1";
  case msg_type::fetch_batch: return "bft/pbft/fetch-batch/v1";
  case msg_type::batch_reply: return "bft/pbft/batch-reply/v1";
  }
  return "bft/pbft/unknown/v1";
}

std::optional<msg_type> frame_type(byte_view frame) {
  auto e = codec::peek_envelope(frame);
  if (!e || e->version != wire_version) return std::nullopt;
  if (e->type < 0x0101 || e->type > 0x0109) return std::nullopt;
  return static_cast<msg_type>(e->type);
}

// ---- encode ----

bytes encode_pre_prepare(const pre_prepare& m, byte_view batch_bytes) {
  auto out = pp_header(m.view, m.seq, m.d, m.from);
  out.reserve(out.size() + batch_bytes.size() + signature_bytes);
  out.insert(out.end(), batch_bytes.begin(), batch_bytes.end());
  out.insert(out.end(), m.sig.begin(), m.sig.end());
  return out;
}

byte_view batch_region(byte_view frame) {
  if (frame.size() < pre_prepare_header_bytes + signature_bytes) return {};
  return frame.subspan(pre_prepare_header_bytes,
                       frame.size() - pre_prepare_header_bytes - signature_bytes);
}

bytes strip_batch(byte_view frame) {
  if (frame.size() < pre_prepare_header_bytes + 4 + signature_bytes) return {};
  bytes out(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(pre_prepare_header_bytes));
  out.insert(out.end(), {0, 0, 0, 0});
  out.insert(out.end(), frame.end() - static_cast<std::ptrdiff_t>(signature_bytes), frame.end());
  return out;
}

bytes encode(const pre_prepare& m) {
  static const batch empty;
  auto enc = encode_batch(m.requests ? *m.requests : empty);
  return encode_pre_prepare(m, enc);
}

bytes encode(const vote& m) {
  return with_sig(vote_body(m.phase, m.view, m.seq, m.d, m.from), m.sig);
}

bytes encode(const checkpoint& m) {
  return with_sig(checkpoint_body(m.seq, m.state, m.from), m.sig);
}

bytes encode(const view_change& m) { return with_sig(vc_body(m), m.sig); }

bytes encode(const new_view& m) { return with_sig(nv_body(m), m.sig); }

bytes encode(const request_relay& m) {
  codec::writer w(256);
  w.header(env(msg_type::request_relay));
  put_batch(w, m.requests);
  return w.take();
}

bytes encode(const fetch_batch& m) {
  codec::writer w(256);
  w.header(env(msg_type::fetch_batch));
  w.raw(m.d);
  return w.take();
}

bytes encode(const batch_reply& m) {
  codec::writer w(256);
  w.header(env(msg_type::batch_reply));
  w.raw(m.d);
  static const batch empty;
  put_batch(w, m.requests ? *m.requests : empty);
  return w.take();
}

// ---- decode ----

result<pre_prepare> decode_pre_prepare(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  byte_view body;
  pre_prepare m;
  if (!split_signature(frame, body, m.sig)) return errc::truncated;
  codec::reader r(body);
  r.expect(env(msg_type::pre_prepare));
  m.view = r.id<view_number>();
  m.seq = r.id<seq_number>();
  m.d = r.fixed<32>();
  m.from = r.id<replica_id>();
  auto b = std::make_shared<batch>(get_batch(r));
  m.requests = std::move(b);
  return finish(r, std::move(m));
}

result<vote> decode_vote(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  byte_view body;
  vote m;
  if (!split_signature(frame, body, m.sig)) return errc::truncated;
  codec::reader r(body);
  auto t = r.u16();
  auto ver = r.u16();
  if (!r.ok()) return r.error_code();
  if (t != static_cast<std::uint16_t>(msg_type::prepare) &&
      t != static_cast<std::uint16_t>(msg_type::commit))
    return errc::wrong_type;
  if (ver != wire_version) return errc::wrong_version;
  m.phase = static_cast<msg_type>(t);
  m.view = r.id<view_number>();
  m.seq = r.id<seq_number>();
  m.d = r.fixed<32>();
  m.from = r.id<replica_id>();
  return finish(r, m);
}

result<checkpoint> decode_checkpoint(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  byte_view body;
  checkpoint m;
  if (!split_signature(frame, body, m.sig)) return errc::truncated;
  codec::reader r(body);
  r.expect(env(msg_type::checkpoint));
  m.seq = r.id<seq_number>();
  m.state = r.fixed<32>();
  m.from = r.id<replica_id>();
  return finish(r, m);
}

result<view_change> decode_view_change(byte_view frame) {
  if (frame.size() > max_view_change_bytes) return errc::oversized;
  byte_view body;
  view_change m;
  if (!split_signature(frame, body, m.sig)) return errc::truncated;
  codec::reader r(body);
  r.expect(env(msg_type::view_change));
  m.new_view = r.id<view_number>();
  m.from = r.id<replica_id>();
  m.stable.seq = r.id<seq_number>();
  m.stable.state = r.fixed<32>();
  m.stable.sigs = get_signed_by(r);
  auto n = r.count(max_certificates, 8 + 8 + 32 + 64 + 4);
  m.prepared.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    prepared_cert p;
    p.view = r.id<view_number>();
    p.seq = r.id<seq_number>();
    p.d = r.fixed<32>();
    p.pp_sig = r.fixed<64>();
    p.prepares = get_signed_by(r);
    m.prepared.push_back(std::move(p));
  }
  return finish(r, std::move(m));
}

result<new_view> decode_new_view(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  byte_view body;
  new_view m;
  if (!split_signature(frame, body, m.sig)) return errc::truncated;
  codec::reader r(body);
  r.expect(env(msg_type::new_view));
  m.view = r.id<view_number>();
  m.from = r.id<replica_id>();
  auto nv = r.count(max_replicas, 4);
  m.view_changes.reserve(nv);
  for (std::size_t i = 0; i < nv && r.ok(); ++i)
    m.view_changes.push_back(r.blob(max_view_change_bytes));
  auto ne = r.count(max_certificates, 8 + 32 + 64);
  m.entries.reserve(ne);
  for (std::size_t i = 0; i < ne && r.ok(); ++i) {
    new_view_entry e;
    e.seq = r.id<seq_number>();
    e.d = r.fixed<32>();
    e.pp_sig = r.fixed<64>();
    m.entries.push_back(e);
  }
  return finish(r, std::move(m));
}

result<request_relay> decode_request_relay(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  codec::reader r(frame);
  r.expect(env(msg_type::request_relay));
  request_relay m;
  m.requests = get_batch(r);
  return finish(r, std::move(m));
}

result<fetch_batch> decode_fetch_batch(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  codec::reader r(frame);
  r.expect(env(msg_type::fetch_batch));
  fetch_batch m;
  m.d = r.fixed<32>();
  return finish(r, m);
}

result<batch_reply> decode_batch_reply(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return errc::oversized;
  codec::reader r(frame);
  r.expect(env(msg_type::batch_reply));
  batch_reply m;
  m.d = r.fixed<32>();
  m.requests = std::make_shared<batch>(get_batch(r));
  return finish(r, std::move(m));
}

// ---- signing ----

bytes signing_payload(const signing_context& c, view_number v, seq_number n, const digest& d,
                      replica_id primary) {
  return wrap(c, msg_type::pre_prepare, pp_header(v, n, d, primary));
}

bytes signing_payload(const signing_context& c, msg_type phase, view_number v, seq_number n,
                      const digest& d, replica_id from) {
  return wrap(c, phase, vote_body(phase, v, n, d, from));
}

bytes signing_payload(const signing_context& c, seq_number n, const digest& state,
                      replica_id from) {
  return wrap(c, msg_type::checkpoint, checkpoint_body(n, state, from));
}

bytes signing_payload(const signing_context& c, const view_change& m) {
  return wrap(c, msg_type::view_change, vc_body(m));
}

bytes signing_payload(const signing_context& c, const new_view& m) {
  return wrap(c, msg_type::new_view, nv_body(m));
}

void sign(pre_prepare& m, const signing_context& c, const crypto::signer& s) {
  m.sig = s.sign(signing_payload(c, m.view, m.seq, m.d, m.from));
}
void sign(vote& m, const signing_context& c, const crypto::signer& s) {
  m.sig = s.sign(signing_payload(c, m.phase, m.view, m.seq, m.d, m.from));
}
void sign(checkpoint& m, const signing_context& c, const crypto::signer& s) {
  m.sig = s.sign(signing_payload(c, m.seq, m.state, m.from));
}
void sign(view_change& m, const signing_context& c, const crypto::signer& s) {
  m.sig = s.sign(signing_payload(c, m));
}
void sign(new_view& m, const signing_context& c, const crypto::signer& s) {
  m.sig = s.sign(signing_payload(c, m));
}
void sign(new_view_entry& e, view_number v, replica_id primary, const signing_context& c,
          const crypto::signer& s) {
  e.pp_sig = s.sign(signing_payload(c, v, e.seq, e.d, primary));
}

// ---- verification ----

replica_id primary_of(view_number v, const validator_set& vs,
                      const std::vector<replica_id>& leader_schedule) {
  if (v.value() < leader_schedule.size()) return leader_schedule[v.value()];
  if (vs.size() == 0) return replica_id{0};
  return vs.members()[v.value() % vs.size()].id;
}

namespace {
bool check_sig(const verify_context& c, replica_id who, byte_view payload, const signature& sig) {
  const auto* val = c.validators.find(who);
  if (val == nullptr) return false;
  return c.verifier.verify(val->key, payload, sig);
}
} // namespace

bool verify(const pre_prepare& m, const verify_context& c) {
  return check_sig(c, m.from, signing_payload(c.signing, m.view, m.seq, m.d, m.from), m.sig);
}

bool verify(const vote& m, const verify_context& c) {
  return check_sig(c, m.from, signing_payload(c.signing, m.phase, m.view, m.seq, m.d, m.from),
                   m.sig);
}

bool verify(const checkpoint& m, const verify_context& c) {
  return check_sig(c, m.from, signing_payload(c.signing, m.seq, m.state, m.from), m.sig);
}

result<void> verify_checkpoint_proof(const checkpoint_proof& p, const verify_context& c) {
  if (p.seq.value() == 0) {
    if (!p.sigs.empty() || p.state != digest{})
      return error{errc::malformed, "genesis checkpoint carries signatures or a state"};
    return {};
  }
  if (c.skip_certificates) return {};
  std::set<replica_id> seen;
  std::vector<replica_id> good;
  for (const auto& s : p.sigs) {
    if (!seen.insert(s.from).second) continue; // duplicates count once
    if (!check_sig(c, s.from, signing_payload(c.signing, p.seq, p.state, s.from), s.sig))
      return error{errc::bad_signature, "checkpoint proof signature of replica " +
                                            std::to_string(s.from.value()) + " is forged"};
    good.push_back(s.from);
  }
  if (!c.validators.is_quorum(c.validators.weight_of(good)))
    return error{errc::no_quorum, "checkpoint proof has fewer than 2f+1 distinct signers"};
  return {};
}

result<void> verify_prepared_cert(const prepared_cert& p, const verify_context& c) {
  if (c.skip_certificates) return {};
  auto primary = c.primary(p.view);
  if (!check_sig(c, primary, signing_payload(c.signing, p.view, p.seq, p.d, primary), p.pp_sig))
    return error{errc::bad_signature, "prepared certificate for seq " +
                                          std::to_string(p.seq.value()) +
                                          " has a forged pre-prepare"};
  std::set<replica_id> seen;
  std::vector<replica_id> good{primary};
  for (const auto& s : p.prepares) {
    if (s.from == primary) continue; // the primary's prepare does not count (P11)
    if (!seen.insert(s.from).second) continue;
    if (!check_sig(c, s.from,
                   signing_payload(c.signing, msg_type::prepare, p.view, p.seq, p.d, s.from),
                   s.sig))
      return error{errc::bad_signature, "prepared certificate for seq " +
                                            std::to_string(p.seq.value()) +
                                            " has a forged prepare"};
    good.push_back(s.from);
  }
  if (!c.validators.is_quorum(c.validators.weight_of(good)))
    return error{errc::no_quorum, "prepared certificate for seq " + std::to_string(p.seq.value()) +
                                      " has fewer than 2f prepares from distinct backups"};
  return {};
}

result<void> verify_view_change(const view_change& m, const verify_context& c) {
  if (!c.validators.contains(m.from)) return error{errc::unknown_signer, "view-change signer"};
  if (!check_sig(c, m.from, signing_payload(c.signing, m), m.sig))
    return error{errc::bad_signature, "view-change signature"};
  if (auto r = verify_checkpoint_proof(m.stable, c); !r) return r;
  std::uint64_t last = m.stable.seq.value();
  for (const auto& p : m.prepared) {
    if (p.view >= m.new_view)
      return error{errc::malformed, "prepared certificate from a view not below the new view"};
    if (p.seq.value() <= last)
      return error{errc::malformed, "prepared certificates not ascending above the checkpoint"};
    if (p.seq.value() > m.stable.seq.value() + c.log_window)
      return error{errc::malformed, "prepared certificate above the high watermark"};
    last = p.seq.value();
    if (auto r = verify_prepared_cert(p, c); !r) return r;
  }
  return {};
}

} // namespace bft::pbft
