#include "net/secure_channel.hpp"

#include <algorithm>
#include <array>

#include "protocols/common/assert.hpp"

namespace bft::net {

namespace {

constexpr std::size_t max_chain_id_bytes = 128;
constexpr const char* transcript_tag = "bft/secure/handshake/v1";
constexpr std::uint8_t side_dialled = 1;
constexpr std::uint8_t side_accepted = 2;
constexpr std::uint8_t msg_hello = 1;
constexpr std::uint8_t msg_answer = 2;
constexpr std::uint8_t msg_proof = 3;

nonce fresh_nonce() {
  nonce n{};
  crypto::random_bytes(n.data(), n.size());
  return n;
}

void put_party(codec::writer& w, const party& p) {
  w.u8(static_cast<std::uint8_t>(p.role));
  w.id(p.id);
  w.raw(p.key);
}

std::optional<party> get_party(codec::reader& r) {
  party p;
  const auto role_byte = r.u8();
  if (role_byte != static_cast<std::uint8_t>(role::validator) &&
      role_byte != static_cast<std::uint8_t>(role::client))
    return std::nullopt;
  p.role = static_cast<role>(role_byte);
  p.id = r.id<replica_id>();
  p.key = r.fixed<32>();
  if (!r.ok()) return std::nullopt;
  return p;
}

party me_as_party(const local_identity& me) {
  return party{me.role, me.role == role::validator ? me.id : replica_id{0}, me.signer->key()};
}

} // namespace

std::string_view to_string(reason r) {
  switch (r) {
  case reason::oversized: return "oversized";
  case reason::malformed: return "malformed";
  case reason::version: return "version";
  case reason::wrong_chain: return "wrong_chain";
  case reason::unknown_key: return "unknown_key";
  case reason::wrong_peer: return "wrong_peer";
  case reason::bad_signature: return "bad_signature";
  case reason::replayed: return "replayed";
  case reason::bad_frame: return "bad_frame";
  case reason::handshake_timeout: return "handshake_timeout";
  case reason::pending_total: return "pending_total";
  case reason::pending_source: return "pending_source";
  case reason::sessions: return "sessions";
  case reason::rate: return "rate";
  case reason::queued: return "queued";
  case reason::protocol: return "protocol";
  case reason::in_flight: return "in_flight";
  case reason::count_: break;
  }
  return "unknown";
}

std::optional<std::size_t> read_prefix(const std::uint8_t* p, std::size_t max) {
  const std::size_t n = std::size_t{p[0]} | (std::size_t{p[1]} << 8) | (std::size_t{p[2]} << 16) |
                        (std::size_t{p[3]} << 24);
  if (n == 0 || n > max) return std::nullopt;
  return n;
}

void put_prefix(std::uint8_t* out, std::uint32_t len) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(len >> (8 * i));
}

// ---- handshake ----

handshake handshake::dial(std::shared_ptr<const local_identity> me, replica_id peer) {
  BFT_ASSERT(me && me->signer && me->verifier, "a handshake needs keys");
  handshake h;
  h.me_ = std::move(me);
  h.dialled_ = true;
  h.wanted_ = peer;
  h.d_party_ = me_as_party(*h.me_);
  return h;
}

handshake handshake::accept(std::shared_ptr<const local_identity> me) {
  BFT_ASSERT(me && me->signer && me->verifier && me->role == role::validator,
             "only validators accept connections");
  handshake h;
  h.me_ = std::move(me);
  h.stage_ = stage::await_hello;
  h.a_party_ = me_as_party(*h.me_);
  return h;
}

bytes handshake::hello() {
  BFT_ASSERT(dialled_ && stage_ == stage::start, "the dialler says hello once, first");
  eph_ = crypto::kx_generate();
  d_nonce_ = fresh_nonce();
  codec::writer w(256);
  w.u32(magic);
  w.u8(protocol_version);
  w.u8(msg_hello);
  w.str(me_->chain_id, max_chain_id_bytes);
  put_party(w, d_party_);
  w.id(wanted_);
  w.raw(eph_.pub);
  w.raw(d_nonce_);
  stage_ = stage::await_answer;
  BFT_ASSERT(w.size() <= max_handshake_bytes, "the hello fits the handshake limit");
  return w.take();
}

bytes handshake::transcript(std::uint8_t side) const {
  codec::writer w(256);
  w.u8(side);
  put_party(w, d_party_);
  w.raw(dialled_ ? eph_.pub : peer_eph_);
  w.raw(d_nonce_);
  put_party(w, a_party_);
  w.raw(dialled_ ? peer_eph_ : eph_.pub);
  w.raw(a_nonce_);
  return codec::signing_bytes(transcript_tag, me_->chain_id, me_->epoch, w.data());
}

handshake::step handshake::fail(reason r) {
  stage_ = stage::failed;
  return step{{}, r};
}

bool handshake::derive_keys() {
  auto k =
      dialled_ ? crypto::kx_client_keys(eph_, peer_eph_) : crypto::kx_server_keys(eph_, peer_eph_);
  if (!k) return false;
  keys_ = *k;
  sealer_.emplace(keys_.tx, my_header_);
  return true;
}

handshake::step handshake::on_message(byte_view msg) {
  if (msg.size() > max_handshake_bytes) return fail(reason::oversized);
  switch (stage_) {
  case stage::await_hello: return on_hello(msg);
  case stage::await_answer: return on_answer(msg);
  case stage::await_proof: return on_proof(msg);
  default: return fail(reason::malformed);
  }
}

handshake::step handshake::on_hello(byte_view msg) {
  codec::reader r(msg);
  if (r.u32() != magic || r.u8() != protocol_version || r.u8() != msg_hello || !r.ok())
    return fail(reason::version);
  auto chain = r.str(max_chain_id_bytes);
  auto who = get_party(r);
  auto wanted = r.id<replica_id>();
  peer_eph_ = r.fixed<crypto::kx_key_bytes>();
  d_nonce_ = r.fixed<nonce_bytes>();
  if (!who || !r.finish()) return fail(reason::malformed);
  if (chain != me_->chain_id) return fail(reason::wrong_chain);
  if (wanted != me_->id && wanted != any_validator) return fail(reason::wrong_peer);
  if (who->role == role::validator) {
    const auto* v = me_->validators.find(who->id);
    if (v == nullptr || v->key != who->key || who->id == me_->id) return fail(reason::unknown_key);
  } else if (!me_->accept_clients) {
    return fail(reason::unknown_key);
  } else {
    who->id = replica_id{0};
  }
  d_party_ = *who;
  eph_ = crypto::kx_generate();
  a_nonce_ = fresh_nonce();
  if (!derive_keys()) return fail(reason::malformed);
  codec::writer w(256);
  w.u32(magic);
  w.u8(protocol_version);
  w.u8(msg_answer);
  put_party(w, a_party_);
  w.raw(eph_.pub);
  w.raw(a_nonce_);
  w.raw(my_header_);
  w.raw(me_->signer->sign(transcript(side_accepted)));
  stage_ = stage::await_proof;
  return step{w.take(), std::nullopt};
}

handshake::step handshake::on_answer(byte_view msg) {
  codec::reader r(msg);
  if (r.u32() != magic || r.u8() != protocol_version || r.u8() != msg_answer || !r.ok())
    return fail(reason::version);
  auto who = get_party(r);
  peer_eph_ = r.fixed<crypto::kx_key_bytes>();
  a_nonce_ = r.fixed<nonce_bytes>();
  auto header = r.fixed<crypto::stream_header_bytes>();
  auto sig = r.fixed<64>();
  if (!who || !r.finish()) return fail(reason::malformed);
  if (who->role != role::validator || (wanted_ != any_validator && who->id != wanted_))
    return fail(reason::wrong_peer);
  const auto* v = me_->validators.find(who->id);
  if (v == nullptr || v->key != who->key) return fail(reason::unknown_key);
  a_party_ = *who;
  if (!me_->verifier->verify(a_party_.key, transcript(side_accepted), sig))
    return fail(reason::bad_signature);
  if (!derive_keys()) return fail(reason::malformed);
  opener_ = crypto::stream_opener::start(keys_.rx, header);
  if (!opener_) return fail(reason::malformed);
  codec::writer w(128);
  w.u32(magic);
  w.u8(protocol_version);
  w.u8(msg_proof);
  w.raw(my_header_);
  w.raw(me_->signer->sign(transcript(side_dialled)));
  peer_ = a_party_;
  stage_ = stage::done;
  return step{w.take(), std::nullopt};
}

handshake::step handshake::on_proof(byte_view msg) {
  codec::reader r(msg);
  if (r.u32() != magic || r.u8() != protocol_version || r.u8() != msg_proof || !r.ok())
    return fail(reason::version);
  auto header = r.fixed<crypto::stream_header_bytes>();
  auto sig = r.fixed<64>();
  if (!r.finish()) return fail(reason::malformed);
  if (!me_->verifier->verify(d_party_.key, transcript(side_dialled), sig))
    return fail(reason::bad_signature);
  opener_ = crypto::stream_opener::start(keys_.rx, header);
  if (!opener_) return fail(reason::malformed);
  peer_ = d_party_;
  stage_ = stage::done;
  return step{{}, std::nullopt};
}

session handshake::take_session() {
  BFT_ASSERT(stage_ == stage::done && sealer_ && opener_, "a session only from a done handshake");
  return session(peer_, std::move(*sealer_), std::move(*opener_));
}

// ---- session ----

void session::write_header(frame_kind k, std::uint64_t now_ms) {
  plain_[0] = static_cast<std::uint8_t>(k);
  const std::uint64_t seq = next_out_++;
  for (int i = 0; i < 8; ++i) {
    plain_[1 + i] = static_cast<std::uint8_t>(seq >> (8 * i));
    plain_[9 + i] = static_cast<std::uint8_t>(now_ms >> (8 * i));
  }
}

result<opened> session::open(byte_view sealed, std::uint64_t now_ms, std::uint64_t window_ms) {
  if (sealed.size() < crypto::stream_overhead + frame_header_bytes ||
      sealed.size() > max_sealed_bytes)
    return error{errc::malformed, "frame size out of range"};
  opened o;
  o.body.resize(sealed.size() - crypto::stream_overhead);
  if (!opener_.open(sealed, o.body.data()))
    return error{errc::bad_signature, "frame does not open"};
  codec::reader r(byte_view(o.body).first(frame_header_bytes));
  const auto kind = r.u8();
  o.seq = r.u64();
  o.clock_ms = r.u64();
  if (kind < 1 || kind > 3) return error{errc::malformed, "unknown frame kind"};
  o.kind = static_cast<frame_kind>(kind);
  o.anomaly.seq_gap = o.seq > next_in_;
  o.anomaly.seq_back = o.seq < next_in_;
  if (o.seq >= next_in_) next_in_ = o.seq + 1;
  const std::uint64_t skew = o.clock_ms > now_ms ? o.clock_ms - now_ms : now_ms - o.clock_ms;
  o.anomaly.clock_out = skew > window_ms;
  o.body.erase(o.body.begin(), o.body.begin() + frame_header_bytes);
  return o;
}

// ---- calls ----

namespace {

template <class T, class Op>
result<T> decode_call(byte_view body, std::uint8_t max_op) {
  codec::reader r(body);
  T c;
  c.id = r.u32();
  const auto op = r.u8();
  c.from = r.u32();
  auto data = r.blob_view(max_payload_bytes);
  if (!r.finish()) return error{errc::malformed, "malformed call"};
  if (op < 1 || op > max_op) return error{errc::malformed, "unknown call"};
  c.what = static_cast<Op>(op);
  c.data = std::string_view(reinterpret_cast<const char*>(data.data()), data.size());
  return c;
}

bytes encode_head(std::uint32_t id, std::uint8_t op, std::uint32_t from, std::size_t data_size) {
  BFT_ASSERT(data_size <= max_payload_bytes, "a call's data fits the payload limit");
  codec::writer w(13);
  w.u32(id);
  w.u8(op);
  w.u32(from);
  w.u32(static_cast<std::uint32_t>(data_size));
  return w.take();
}

} // namespace

result<call> call::decode(byte_view body) { return decode_call<call, call::op>(body, 4); }

bytes call::head() const {
  return encode_head(id, static_cast<std::uint8_t>(what), from, data.size());
}

result<reply> reply::decode(byte_view body) { return decode_call<reply, reply::status>(body, 3); }

bytes reply::head() const {
  return encode_head(id, static_cast<std::uint8_t>(what), from, data.size());
}

bytes encode_records(const std::vector<std::string>& records) {
  codec::writer w;
  const auto n = std::min(records.size(), max_gossip_records);
  w.count(n, max_gossip_records);
  for (std::size_t i = 0; i < n; ++i) w.str(records[i], max_gossip_record_bytes);
  return w.take();
}

result<std::vector<std::string>> decode_records(byte_view body) {
  codec::reader r(body);
  const auto n = r.count(max_gossip_records, 4);
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) out.push_back(r.str(max_gossip_record_bytes));
  if (auto f = r.finish(); !f) return f.error();
  return out;
}

} // namespace bft::net
