#include "protocols/hotstuff/messages.hpp"

#include "crypto/sha3.hpp"
#include "crypto/signer.hpp"

namespace bft::hotstuff {
namespace {

codec::envelope env(msg_type t) { return {static_cast<std::uint16_t>(t), wire_version}; }

codec::writer start(msg_type t, std::size_t reserve = 256) {
  codec::writer w(reserve);
  w.header(env(t));
  return w;
}

} // namespace

std::string_view sign_tag(msg_type t) {
  switch (t) {
  case msg_type::proposal: return "bft/hotstuff/proposal/v1";
  case msg_type::vote: return vote_tag;
  case msg_type::new_view: return "bft/hotstuff/new_view/v1";
  case msg_type::block_request: return "bft/hotstuff/block_request/v1";
  case msg_type::block_response: return "bft/hotstuff/block_response/v1";
  }
  return "bft/hotstuff/unknown/v1";
}

bytes seal(bytes signed_part, msg_type t, const crypto::signer& s, const sign_context& c) {
  auto sig = s.sign(codec::signing_bytes(sign_tag(t), c.chain_id, c.epoch, signed_part));
  signed_part.insert(signed_part.end(), sig.begin(), sig.end());
  return signed_part;
}

bytes proposal_signed_part(const digest& block_hash) {
  auto w = start(msg_type::proposal, 4 + 32);
  w.raw(block_hash);
  return w.take();
}

namespace {

/// The proposal frame `envelope | block | signature`, the signature over the block's hash.
bytes seal_proposal(codec::writer w, const digest& hash, const crypto::signer& s,
                    const sign_context& c) {
  auto sig = s.sign(codec::signing_bytes(sign_tag(msg_type::proposal), c.chain_id, c.epoch,
                                         proposal_signed_part(hash)));
  auto frame = w.take();
  frame.insert(frame.end(), sig.begin(), sig.end());
  return frame;
}

} // namespace

bytes encode_proposal(const block& b, const crypto::signer& s, const sign_context& c) {
  auto w = start(msg_type::proposal, 512 + b.requests.size() * 256);
  b.encode(w);
  // Hash what is sent (the block's `hash` field may be stale in a test or a forged variant).
  auto hash = crypto::sha3_256(byte_view(w.data()).subspan(4));
  return seal_proposal(std::move(w), hash, s, c);
}

bytes encode_new_proposal(block& b, const crypto::signer& s, const sign_context& c) {
  auto w = start(msg_type::proposal, 512 + b.requests.size() * 256);
  b.encode(w);
  b.hash = crypto::sha3_256(byte_view(w.data()).subspan(4));
  return seal_proposal(std::move(w), b.hash, s, c);
}

bytes encode_vote(const digest& block, view_number v, bft::height h, replica_id signer,
                  const crypto::signer& s, const sign_context& c) {
  return seal(vote_body(block, v, h, signer), msg_type::vote, s, c);
}

bytes encode_new_view(const new_view& m, const crypto::signer& s, const sign_context& c) {
  auto w = start(msg_type::new_view);
  w.id(m.view);
  w.id(m.sender);
  m.high_qc.encode(w);
  w.blob(m.last_vote, new_view::max_vote_bytes);
  return seal(w.take(), msg_type::new_view, s, c);
}

bytes encode_block_request(const block_request& m, const crypto::signer& s, const sign_context& c) {
  auto w = start(msg_type::block_request);
  w.id(m.sender);
  w.raw(m.hash);
  w.u32(m.max_count);
  return seal(w.take(), msg_type::block_request, s, c);
}

bytes encode_block_response(const block_response& m, const crypto::signer& s,
                            const sign_context& c) {
  auto w = start(msg_type::block_response, 1024);
  w.id(m.sender);
  w.raw(m.requested);
  w.u64(m.committed_height);
  w.count(m.blocks.size(), block_request::max_blocks);
  for (const auto& b : m.blocks) b->encode(w);
  return seal(w.take(), msg_type::block_response, s, c);
}

result<decoded> decode(byte_view frame) {
  if (frame.size() > codec::max_frame_bytes) return error{errc::oversized, "frame too large"};
  if (frame.size() < 4 + 64) return error{errc::truncated, "frame shorter than envelope"};
  byte_view body = frame.first(frame.size() - 64);
  codec::reader r(body);
  auto type = r.u16();
  auto version = r.u16();
  if (type < 0x0201 || type > 0x0205) return error{errc::wrong_type, "not a HotStuff frame"};
  if (version != wire_version) return error{errc::wrong_version, "unsupported version"};
  decoded d;
  d.type = static_cast<msg_type>(type);
  d.signed_part = body;
  std::copy_n(frame.end() - 64, 64, d.sig.begin());
  switch (d.type) {
  case msg_type::proposal: {
    auto b = block::decode(r, body);
    d.signer = b.proposer;
    d.msg = proposal{std::make_shared<const block>(std::move(b))};
    break;
  }
  case msg_type::vote: {
    vote v;
    v.block = r.fixed<32>();
    v.view = r.id<view_number>();
    v.height = r.id<bft::height>();
    v.signer = r.id<replica_id>();
    v.sig = d.sig;
    d.signer = v.signer;
    d.msg = v;
    break;
  }
  case msg_type::new_view: {
    new_view m;
    m.view = r.id<view_number>();
    m.sender = r.id<replica_id>();
    m.high_qc = quorum_cert::decode(r);
    m.last_vote = r.blob(new_view::max_vote_bytes);
    d.signer = m.sender;
    d.msg = std::move(m);
    break;
  }
  case msg_type::block_request: {
    block_request m;
    m.sender = r.id<replica_id>();
    m.hash = r.fixed<32>();
    m.max_count = r.u32();
    if (r.ok() && (m.max_count == 0 || m.max_count > block_request::max_blocks))
      r.fail(errc::malformed);
    d.signer = m.sender;
    d.msg = m;
    break;
  }
  case msg_type::block_response: {
    block_response m;
    m.sender = r.id<replica_id>();
    m.requested = r.fixed<32>();
    m.committed_height = r.u64();
    auto n = r.count(block_request::max_blocks, 32 + 8 + 8 + 4 + 32 + 8 + 8 + 4 + 8 + 32 + 4);
    for (std::size_t i = 0; i < n && r.ok(); ++i)
      m.blocks.push_back(std::make_shared<const block>(block::decode(r, body)));
    d.signer = m.sender;
    d.msg = std::move(m);
    break;
  }
  }
  if (auto f = r.finish(); !f) return f.error();
  return d;
}

result<void> verify_signature(const decoded& d, const validator_set& vs, const crypto::verifier& v,
                              const sign_context& c) {
  const validator* val = vs.find(d.signer);
  if (val == nullptr) return error{errc::unknown_signer, "frame signer is not a validator"};
  // A proposal is signed over its block's hash (computed once, when decoding), not its bytes.
  auto msg = d.type == msg_type::proposal
                 ? codec::signing_bytes(sign_tag(d.type), c.chain_id, c.epoch,
                                        proposal_signed_part(std::get<proposal>(d.msg).blk->hash))
                 : codec::signing_bytes(sign_tag(d.type), c.chain_id, c.epoch, d.signed_part);
  if (!v.verify(val->key, msg, d.sig)) return error{errc::bad_signature, "frame signature"};
  return {};
}

} // namespace bft::hotstuff
