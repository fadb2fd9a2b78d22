// Encode and decode of every message type of both protocols (the fake signer, so the figures
// are the codec's and not ed25519's). Proposals carry 4 requests of 100 transactions of 0 bytes
// (block 400 at 100 transactions per request); certificates carry 3 signatures (n = 4).
#include <benchmark/benchmark.h>

#include <functional>

#include "crypto/fake_signer.hpp"
#include "protocols/hotstuff/messages.hpp"
#include "protocols/pbft/messages.hpp"

namespace {

using namespace bft;

crypto::fake_signer& signer() {
  static crypto::fake_signer s(1);
  return s;
}

std::vector<client_request> sample_requests(std::size_t requests, std::size_t txs) {
  std::vector<client_request> out;
  for (std::size_t i = 0; i < requests; ++i) {
    client_request r;
    r.client.fill(static_cast<std::uint8_t>(i));
    r.client_seq = i + 1;
    r.txs.assign(txs, bytes{});
    r.sig.fill(7);
    out.push_back(std::move(r));
  }
  return out;
}

digest some_digest(std::uint8_t b) {
  digest d{};
  d.fill(b);
  return d;
}

void bench_encode(benchmark::State& st, const std::function<bytes()>& encode) {
  std::size_t size = 0;
  for (auto _ : st) {
    auto f = encode();
    size = f.size();
    benchmark::DoNotOptimize(f.data());
  }
  st.counters["frame_bytes"] = static_cast<double>(size);
}

template <class Decode>
void bench_decode(benchmark::State& st, const bytes& frame, Decode decode) {
  for (auto _ : st) {
    auto m = decode(byte_view{frame.data(), frame.size()});
    if (!m) st.SkipWithError("decode failed");
    benchmark::DoNotOptimize(&m);
  }
  st.counters["frame_bytes"] = static_cast<double>(frame.size());
}

// ---- PBFT -----------------------------------------------------------------------------------

const pbft::signing_context pbft_ctx{"bench", epoch{0}};

pbft::pre_prepare pbft_pre_prepare() {
  pbft::pre_prepare pp;
  pp.view = view_number{1};
  pp.seq = seq_number{7};
  pp.requests = std::make_shared<pbft::batch>(sample_requests(4, 100));
  pp.d = pbft::batch_digest(*pp.requests);
  pbft::sign(pp, pbft_ctx, signer());
  return pp;
}

pbft::vote pbft_vote() {
  pbft::vote v;
  v.phase = pbft::msg_type::prepare;
  v.view = view_number{1};
  v.seq = seq_number{7};
  v.d = some_digest(3);
  v.from = replica_id{1};
  pbft::sign(v, pbft_ctx, signer());
  return v;
}

pbft::checkpoint pbft_checkpoint() {
  pbft::checkpoint c;
  c.seq = seq_number{100};
  c.state = some_digest(4);
  c.from = replica_id{2};
  pbft::sign(c, pbft_ctx, signer());
  return c;
}

pbft::view_change pbft_view_change() {
  pbft::view_change vc;
  vc.new_view = view_number{2};
  vc.from = replica_id{1};
  vc.stable.seq = seq_number{100};
  vc.stable.state = some_digest(4);
  for (std::uint32_t i = 0; i < 3; ++i) vc.stable.sigs.push_back({replica_id{i}, signature{}});
  pbft::prepared_cert pc;
  pc.view = view_number{1};
  pc.seq = seq_number{101};
  pc.d = some_digest(5);
  for (std::uint32_t i = 1; i < 3; ++i) pc.prepares.push_back({replica_id{i}, signature{}});
  vc.prepared.push_back(pc);
  pbft::sign(vc, pbft_ctx, signer());
  return vc;
}

pbft::new_view pbft_new_view() {
  pbft::new_view nv;
  nv.view = view_number{2};
  nv.from = replica_id{2};
  auto vc = pbft::encode(pbft_view_change());
  nv.view_changes.assign(3, vc);
  nv.entries.push_back({seq_number{101}, some_digest(5), signature{}});
  pbft::sign(nv, pbft_ctx, signer());
  return nv;
}

void bm_pbft_encode_pre_prepare(benchmark::State& st) {
  auto pp = pbft_pre_prepare();
  bench_encode(st, [&] { return pbft::encode(pp); });
}
void bm_pbft_decode_pre_prepare(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft_pre_prepare()), pbft::decode_pre_prepare);
}
void bm_pbft_encode_vote(benchmark::State& st) {
  auto v = pbft_vote();
  bench_encode(st, [&] { return pbft::encode(v); });
}
void bm_pbft_decode_vote(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft_vote()), pbft::decode_vote);
}
void bm_pbft_encode_checkpoint(benchmark::State& st) {
  auto c = pbft_checkpoint();
  bench_encode(st, [&] { return pbft::encode(c); });
}
void bm_pbft_decode_checkpoint(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft_checkpoint()), pbft::decode_checkpoint);
}
void bm_pbft_encode_view_change(benchmark::State& st) {
  auto vc = pbft_view_change();
  bench_encode(st, [&] { return pbft::encode(vc); });
}
void bm_pbft_decode_view_change(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft_view_change()), pbft::decode_view_change);
}
void bm_pbft_encode_new_view(benchmark::State& st) {
  auto nv = pbft_new_view();
  bench_encode(st, [&] { return pbft::encode(nv); });
}
void bm_pbft_decode_new_view(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft_new_view()), pbft::decode_new_view);
}
void bm_pbft_encode_request_relay(benchmark::State& st) {
  pbft::request_relay r{sample_requests(1, 100)};
  bench_encode(st, [&] { return pbft::encode(r); });
}
void bm_pbft_decode_request_relay(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft::request_relay{sample_requests(1, 100)}),
               pbft::decode_request_relay);
}
void bm_pbft_encode_fetch_batch(benchmark::State& st) {
  pbft::fetch_batch f{some_digest(9)};
  bench_encode(st, [&] { return pbft::encode(f); });
}
void bm_pbft_decode_fetch_batch(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft::fetch_batch{some_digest(9)}), pbft::decode_fetch_batch);
}
pbft::batch_reply pbft_batch_reply() {
  pbft::batch_reply r;
  r.requests = std::make_shared<pbft::batch>(sample_requests(4, 100));
  r.d = pbft::batch_digest(*r.requests);
  return r;
}
void bm_pbft_encode_batch_reply(benchmark::State& st) {
  auto r = pbft_batch_reply();
  bench_encode(st, [&] { return pbft::encode(r); });
}
void bm_pbft_decode_batch_reply(benchmark::State& st) {
  bench_decode(st, pbft::encode(pbft_batch_reply()), pbft::decode_batch_reply);
}
BENCHMARK(bm_pbft_encode_pre_prepare);
BENCHMARK(bm_pbft_decode_pre_prepare);
BENCHMARK(bm_pbft_encode_vote);
BENCHMARK(bm_pbft_decode_vote);
BENCHMARK(bm_pbft_encode_checkpoint);
BENCHMARK(bm_pbft_decode_checkpoint);
BENCHMARK(bm_pbft_encode_view_change);
BENCHMARK(bm_pbft_decode_view_change);
BENCHMARK(bm_pbft_encode_new_view);
BENCHMARK(bm_pbft_decode_new_view);
BENCHMARK(bm_pbft_encode_request_relay);
BENCHMARK(bm_pbft_decode_request_relay);
BENCHMARK(bm_pbft_encode_fetch_batch);
BENCHMARK(bm_pbft_decode_fetch_batch);
BENCHMARK(bm_pbft_encode_batch_reply);
BENCHMARK(bm_pbft_decode_batch_reply);

// ---- HotStuff -------------------------------------------------------------------------------

const hotstuff::sign_context hs_ctx{"bench", epoch{0}};

hotstuff::quorum_cert hs_qc() {
  hotstuff::quorum_cert qc;
  qc.block = some_digest(1);
  qc.view = view_number{5};
  qc.height = height{5};
  for (std::uint32_t i = 0; i < 3; ++i) qc.sigs.push_back({replica_id{i}, signature{}});
  return qc;
}

hotstuff::block hs_block() {
  hotstuff::block b;
  b.parent = some_digest(1);
  b.height = height{6};
  b.view = view_number{6};
  b.proposer = replica_id{2};
  b.justify = hs_qc();
  b.requests = sample_requests(4, 100);
  b.finalize();
  return b;
}

bytes hs_vote() {
  return hotstuff::encode_vote(some_digest(2), view_number{6}, height{6}, replica_id{1}, signer(),
                               hs_ctx);
}

hotstuff::new_view hs_new_view() {
  hotstuff::new_view nv;
  nv.view = view_number{7};
  nv.sender = replica_id{1};
  nv.high_qc = hs_qc();
  nv.last_vote = hs_vote();
  return nv;
}

hotstuff::block_response hs_block_response() {
  hotstuff::block_response r;
  r.sender = replica_id{3};
  r.requested = some_digest(2);
  r.committed_height = 5;
  r.blocks.push_back(std::make_shared<const hotstuff::block>(hs_block()));
  return r;
}

void bm_hotstuff_encode_proposal(benchmark::State& st) {
  auto b = hs_block();
  bench_encode(st, [&] { return hotstuff::encode_proposal(b, signer(), hs_ctx); });
}
void bm_hotstuff_encode_vote(benchmark::State& st) {
  bench_encode(st, [&] { return hs_vote(); });
}
void bm_hotstuff_encode_new_view(benchmark::State& st) {
  auto nv = hs_new_view();
  bench_encode(st, [&] { return hotstuff::encode_new_view(nv, signer(), hs_ctx); });
}
void bm_hotstuff_encode_block_request(benchmark::State& st) {
  hotstuff::block_request r{replica_id{1}, some_digest(2), 8};
  bench_encode(st, [&] { return hotstuff::encode_block_request(r, signer(), hs_ctx); });
}
void bm_hotstuff_encode_block_response(benchmark::State& st) {
  auto r = hs_block_response();
  bench_encode(st, [&] { return hotstuff::encode_block_response(r, signer(), hs_ctx); });
}
bytes hs_frame(hotstuff::msg_type t) {
  switch (t) {
  case hotstuff::msg_type::proposal: return hotstuff::encode_proposal(hs_block(), signer(), hs_ctx);
  case hotstuff::msg_type::vote: return hs_vote();
  case hotstuff::msg_type::new_view:
    return hotstuff::encode_new_view(hs_new_view(), signer(), hs_ctx);
  case hotstuff::msg_type::block_request:
    return hotstuff::encode_block_request({replica_id{1}, some_digest(2), 8}, signer(), hs_ctx);
  case hotstuff::msg_type::block_response:
    return hotstuff::encode_block_response(hs_block_response(), signer(), hs_ctx);
  }
  return {};
}
void bm_hotstuff_decode(benchmark::State& st, hotstuff::msg_type t) {
  bench_decode(st, hs_frame(t), hotstuff::decode);
}
BENCHMARK(bm_hotstuff_encode_proposal);
BENCHMARK_CAPTURE(bm_hotstuff_decode, proposal, hotstuff::msg_type::proposal);
BENCHMARK(bm_hotstuff_encode_vote);
BENCHMARK_CAPTURE(bm_hotstuff_decode, vote, hotstuff::msg_type::vote);
BENCHMARK(bm_hotstuff_encode_new_view);
BENCHMARK_CAPTURE(bm_hotstuff_decode, new_view, hotstuff::msg_type::new_view);
BENCHMARK(bm_hotstuff_encode_block_request);
BENCHMARK_CAPTURE(bm_hotstuff_decode, block_request, hotstuff::msg_type::block_request);
BENCHMARK(bm_hotstuff_encode_block_response);
BENCHMARK_CAPTURE(bm_hotstuff_decode, block_response, hotstuff::msg_type::block_response);

} // namespace
