#include "protocols/hotstuff/block.hpp"

#include "crypto/sha3.hpp"
#include "crypto/signer.hpp"

namespace bft::hotstuff {

void quorum_cert::encode(codec::writer& w) const {
  w.raw(block);
  w.id(view);
  w.id(height);
  w.count(sigs.size(), max_signers);
  for (const auto& s : sigs) {
    w.id(s.signer);
    w.raw(s.sig);
  }
}

quorum_cert quorum_cert::decode(codec::reader& r) {
  quorum_cert qc;
  qc.block = r.fixed<32>();
  qc.view = r.id<view_number>();
  qc.height = r.id<bft::height>();
  auto n = r.count(max_signers, 4 + 64);
  qc.sigs.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) {
    qc_signature s;
    s.signer = r.id<replica_id>();
    s.sig = r.fixed<64>();
    qc.sigs.push_back(s);
  }
  return qc;
}

bool quorum_cert::is_genesis() const {
  return block == genesis_block()->hash && view == view_number{0} && height == bft::height{0} &&
         sigs.empty();
}

bytes vote_body(const digest& block, view_number v, bft::height h, replica_id signer) {
  codec::writer w(4 + 32 + 8 + 8 + 4 + 64);
  w.header({static_cast<std::uint16_t>(msg_type::vote), wire_version});
  w.raw(block);
  w.id(v);
  w.id(h);
  w.id(signer);
  return w.take();
}

result<void> verify_qc(const quorum_cert& qc, const qc_context& ctx) {
  if (qc.is_genesis()) return {};
  if (qc.view == view_number{0}) return error{errc::malformed, "only the genesis QC has view 0"};
  const auto& vs = *ctx.validators;
  std::vector<replica_id> seen;
  seen.reserve(qc.sigs.size());
  std::uint64_t weight = 0;
  for (const auto& s : qc.sigs) {
    const validator* val = vs.find(s.signer);
    if (val == nullptr) return error{errc::unknown_signer, "QC signer is not a validator"};
    bool dup = false;
    for (auto id : seen) dup = dup || id == s.signer;
    if (dup && !ctx.allow_duplicate_signers)
      return error{errc::duplicate_signer, "QC names one signer twice"};
    seen.push_back(s.signer);
    auto body = vote_body(qc.block, qc.view, qc.height, s.signer);
    auto msg = codec::signing_bytes(vote_tag, ctx.chain_id, ctx.epoch, body);
    if (!ctx.verifier->verify(val->key, msg, s.sig))
      return error{errc::bad_signature, "QC holds a bad vote signature"};
    weight += val->weight;
  }
  if (!vs.is_quorum(weight)) return error{errc::no_quorum, "QC lacks a quorum of weight"};
  return {};
}

void block::encode(codec::writer& w) const {
  std::size_t size = 32 + 8 + 8 + 4 + 32 + 8 + 8 + 4 + justify.sigs.size() * (4 + 64) + 8 + 32 + 4;
  for (const auto& q : requests) size += q.encoded_size();
  w.reserve(size); // one allocation for a block of requests, not one per doubling
  w.raw(parent);
  w.id(height);
  w.id(view);
  w.id(proposer);
  justify.encode(w);
  w.u64(exec_index);
  w.raw(state_root);
  w.count(requests.size(), max_requests);
  for (const auto& q : requests) q.encode(w);
}

block block::decode(codec::reader& r, byte_view whole) {
  auto start = r.position();
  block b;
  b.parent = r.fixed<32>();
  b.height = r.id<bft::height>();
  b.view = r.id<view_number>();
  b.proposer = r.id<replica_id>();
  b.justify = quorum_cert::decode(r);
  b.exec_index = r.u64();
  b.state_root = r.fixed<32>();
  // a request is at least key + seq + count + signature bytes long
  auto n = r.count(max_requests, 32 + 8 + 4 + 64);
  b.requests.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) b.requests.push_back(client_request::decode(r));
  if (r.ok()) b.hash = crypto::sha3_256(whole.subspan(start, r.position() - start));
  return b;
}

void block::finalize() {
  codec::writer w;
  encode(w);
  hash = crypto::sha3_256(w.data());
}

const block_ptr& genesis_block() {
  static const block_ptr g = [] {
    block b;
    b.finalize();
    return std::make_shared<const block>(std::move(b));
  }();
  return g;
}

quorum_cert genesis_qc() {
  quorum_cert qc;
  qc.block = genesis_block()->hash;
  return qc;
}

} // namespace bft::hotstuff
