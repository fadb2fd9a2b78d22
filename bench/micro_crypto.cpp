// ed25519 sign/verify (libsodium) and SHA3-256 (Crypto++) costs.
#include <benchmark/benchmark.h>

#include "crypto/ed25519.hpp"
#include "crypto/fake_signer.hpp"
#include "crypto/sha3.hpp"

namespace {

using namespace bft;

bytes message(std::size_t n) {
  bytes m(n);
  for (std::size_t i = 0; i < n; ++i) m[i] = static_cast<std::uint8_t>(i * 31);
  return m;
}

void bm_ed25519_sign(benchmark::State& st) {
  crypto::ed25519_signer s(crypto::generate_key_pair());
  auto m = message(128);
  for (auto _ : st) benchmark::DoNotOptimize(s.sign(m));
}
BENCHMARK(bm_ed25519_sign);

void bm_ed25519_verify(benchmark::State& st) {
  crypto::ed25519_signer s(crypto::generate_key_pair());
  crypto::ed25519_verifier v;
  auto m = message(128);
  auto sig = s.sign(m);
  for (auto _ : st) benchmark::DoNotOptimize(v.verify(s.key(), m, sig));
}
BENCHMARK(bm_ed25519_verify);

void bm_fake_verify(benchmark::State& st) {
  crypto::fake_signer s(7);
  crypto::fake_verifier v;
  auto m = message(128);
  auto sig = s.sign(m);
  for (auto _ : st) benchmark::DoNotOptimize(v.verify(s.key(), m, sig));
}
BENCHMARK(bm_fake_verify);

void bm_sha3_256(benchmark::State& st) {
  auto m = message(static_cast<std::size_t>(st.range(0)));
  for (auto _ : st) benchmark::DoNotOptimize(crypto::sha3_256(m));
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations()) * st.range(0));
}
BENCHMARK(bm_sha3_256)->Arg(32)->Arg(512)->Arg(64 << 10);

} // namespace
