// Canonical codec: encode and decode of a client request batch.
#include <benchmark/benchmark.h>

#include "protocols/common/codec.hpp"
#include "protocols/common/request.hpp"

namespace {

using namespace bft;

client_request sample(std::size_t txs, std::size_t tx_size) {
  client_request r;
  r.client.fill(1);
  r.client_seq = 42;
  r.txs.assign(txs, bytes(tx_size, 0xab));
  r.sig.fill(2);
  return r;
}

void bm_request_encode(benchmark::State& st) {
  auto r = sample(static_cast<std::size_t>(st.range(0)), 512);
  for (auto _ : st) {
    codec::writer w;
    r.encode(w);
    benchmark::DoNotOptimize(w.data().data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
BENCHMARK(bm_request_encode)->Arg(1)->Arg(400);

void bm_request_decode(benchmark::State& st) {
  codec::writer w;
  sample(static_cast<std::size_t>(st.range(0)), 512).encode(w);
  auto b = w.take();
  for (auto _ : st) {
    codec::reader r(b);
    auto req = client_request::decode(r);
    benchmark::DoNotOptimize(req.txs.data());
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
BENCHMARK(bm_request_decode)->Arg(1)->Arg(400);

} // namespace
