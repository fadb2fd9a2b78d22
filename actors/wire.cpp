#include "actors/wire.hpp"

#include <random>

#include "protocols/common/codec.hpp"

namespace bft::actors {

namespace {
constexpr std::size_t max_chain = 256;
constexpr std::size_t max_message = 4096;
constexpr std::size_t max_validators = 10000;
constexpr std::size_t max_result_bytes = smr::max_value_bytes + 16;

byte_view view_of(std::string_view s) { return as_bytes(s); }
std::string to_string_bytes(const bytes& b) { return std::string(b.begin(), b.end()); }
} // namespace

nonce make_nonce() {
  std::random_device rd;
  nonce n{};
  for (std::size_t i = 0; i < n.size(); i += 4) {
    auto v = rd();
    for (std::size_t j = 0; j < 4; ++j) n[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  return n;
}

bytes hello::signed_body() const {
  codec::writer w;
  w.u8(step);
  w.id(id);
  w.raw(echo);
  w.raw(fresh);
  return w.take();
}

void hello::sign(const crypto::signer& s, epoch e) {
  sig = s.sign(codec::signing_bytes(sign_tag, chain_id, e, signed_body()));
}

bool hello::verify(const crypto::verifier& v, const public_key& key, epoch e) const {
  return v.verify(key, codec::signing_bytes(sign_tag, chain_id, e, signed_body()), sig);
}

std::string hello::encode() const {
  codec::writer w;
  w.header({hello_type, 1});
  w.u8(step);
  w.str(chain_id, max_chain);
  w.id(id);
  w.raw(fresh);
  w.raw(echo);
  w.raw(sig);
  return to_string_bytes(w.data());
}

result<hello> hello::decode(std::string_view b) {
  codec::reader r(view_of(b));
  r.expect({hello_type, 1});
  hello h;
  h.step = r.u8();
  h.chain_id = r.str(max_chain);
  h.id = r.id<replica_id>();
  h.fresh = r.fixed<32>();
  h.echo = r.fixed<32>();
  h.sig = r.fixed<64>();
  if (auto f = r.finish(); !f) return f.error();
  if (h.step < 1 || h.step > 4) return error{errc::malformed, "unknown hello step"};
  return h;
}

std::string client_call::encode() const {
  codec::writer w;
  w.header({client_call_type, 1});
  w.u8(static_cast<std::uint8_t>(what));
  switch (what) {
  case kind::submit: request.encode(w); break;
  case kind::read: w.str(key, smr::max_key_bytes); break;
  case kind::status: break;
  }
  return to_string_bytes(w.data());
}

result<client_call> client_call::decode(std::string_view b) {
  codec::reader r(view_of(b));
  r.expect({client_call_type, 1});
  client_call c;
  auto k = r.u8();
  if (!r.ok()) return r.error_code();
  switch (k) {
  case 1:
    c.what = kind::submit;
    c.request = client_request::decode(r);
    break;
  case 2:
    c.what = kind::read;
    c.key = r.str(smr::max_key_bytes);
    break;
  case 3: c.what = kind::status; break;
  default: return error{errc::malformed, "unknown client call"};
  }
  if (auto f = r.finish(); !f) return f.error();
  return c;
}

std::string client_reply::encode() const {
  codec::writer w;
  w.header({client_reply_type, 1});
  w.u8(static_cast<std::uint8_t>(what));
  w.id(replica);
  w.u64(height);
  switch (what) {
  case kind::receipt:
    w.raw(client);
    w.u64(client_seq);
    w.boolean(duplicate);
    w.count(results.size(), client_request::max_txs);
    for (const auto& res : results) w.blob(res.encode(), max_result_bytes);
    w.u64(commit_us);
    break;
  case kind::read:
    w.boolean(value.has_value());
    if (value) w.str(*value, smr::max_value_bytes);
    break;
  case kind::status:
    w.u64(view);
    w.raw(state_root);
    w.u64(committed_txs);
    w.u32(active);
    w.u32(total);
    w.u32(byzantine);
    w.count(validators.size(), max_validators);
    for (const auto& v : validators) {
      w.id(v.id);
      w.boolean(v.active);
      w.u64(v.messages);
      w.u64(v.signature_failures);
      w.u64(v.evidence);
    }
    break;
  case kind::error: w.str(message, max_message); break;
  }
  return to_string_bytes(w.data());
}

result<client_reply> client_reply::decode(std::string_view b) {
  codec::reader r(view_of(b));
  r.expect({client_reply_type, 1});
  client_reply c;
  auto k = r.u8();
  c.replica = r.id<replica_id>();
  c.height = r.u64();
  if (!r.ok()) return r.error_code();
  switch (k) {
  case 1: {
    c.what = kind::receipt;
    c.client = r.fixed<32>();
    c.client_seq = r.u64();
    c.duplicate = r.boolean();
    auto n = r.count(client_request::max_txs, 4);
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
      auto res = smr::kv_result::decode(r.blob_view(max_result_bytes));
      if (!res) return res.error();
      c.results.push_back(std::move(*res));
    }
    c.commit_us = r.u64();
    break;
  }
  case 2:
    c.what = kind::read;
    if (r.boolean()) c.value = r.str(smr::max_value_bytes);
    break;
  case 3: {
    c.what = kind::status;
    c.view = r.u64();
    c.state_root = r.fixed<32>();
    c.committed_txs = r.u64();
    c.active = r.u32();
    c.total = r.u32();
    c.byzantine = r.u32();
    auto n = r.count(max_validators, 29);
    for (std::size_t i = 0; i < n && r.ok(); ++i) {
      validator_health v;
      v.id = r.id<replica_id>();
      v.active = r.boolean();
      v.messages = r.u64();
      v.signature_failures = r.u64();
      v.evidence = r.u64();
      c.validators.push_back(v);
    }
    break;
  }
  case 4:
    c.what = kind::error;
    c.message = r.str(max_message);
    break;
  default: return error{errc::malformed, "unknown client reply"};
  }
  if (auto f = r.finish(); !f) return f.error();
  return c;
}

namespace {

void put_u32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k)
    out[at + static_cast<std::size_t>(k)] = static_cast<char>(v >> (8 * k));
}

std::uint32_t get_u32(std::string_view b, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k)
    v = (v << 8) | static_cast<std::uint8_t>(b[at + static_cast<std::size_t>(k)]);
  return v;
}

} // namespace

void append_to_batch(std::string& out, byte_view frame) {
  if (out.empty()) out.assign(4, '\0');
  const auto n = get_u32(out, 0) + 1;
  put_u32(out, 0, n);
  const auto at = out.size();
  out.resize(at + 4);
  put_u32(out, at, static_cast<std::uint32_t>(frame.size()));
  out.append(reinterpret_cast<const char*>(frame.data()), frame.size());
}

std::size_t batch_count(std::string_view batch) { return batch.size() < 4 ? 0 : get_u32(batch, 0); }

result<std::size_t> check_batch(std::string_view batch) {
  auto bad = [](const std::string& why) -> result<std::size_t> {
    return bft::error{errc::malformed, "frame batch: " + why};
  };
  if (batch.size() > max_batch_bytes) return bad("larger than the limit");
  if (batch.size() < 4) return bad("truncated count");
  const std::size_t n = get_u32(batch, 0);
  if (n == 0) return bad("no frame");
  if (n > max_batch_frames) return bad("too many frames");
  std::size_t at = 4;
  for (std::size_t i = 0; i < n; ++i) {
    if (batch.size() - at < 4) return bad("truncated length of frame " + std::to_string(i));
    const std::size_t len = get_u32(batch, at);
    at += 4;
    if (len > codec::max_frame_bytes) return bad("frame " + std::to_string(i) + " too large");
    if (batch.size() - at < len) return bad("truncated frame " + std::to_string(i));
    at += len;
  }
  if (at != batch.size()) return bad("trailing bytes");
  return n;
}

void sign_request(client_request& r, const crypto::signer& s, const std::string& chain, epoch e) {
  r.client = s.key();
  r.sig = s.sign(codec::signing_bytes(client_request::sign_tag, chain, e, r.body()));
}

bool verify_request(const client_request& r, const crypto::verifier& v, const std::string& chain,
                    epoch e) {
  return v.verify(r.client, codec::signing_bytes(client_request::sign_tag, chain, e, r.body()),
                  r.sig);
}

} // namespace bft::actors
