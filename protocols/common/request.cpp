#include "protocols/common/request.hpp"

namespace bft {

std::size_t client_request::encoded_size() const {
  std::size_t n = 32 + 8 + 4 + 64; // client, client_seq, count, signature
  for (const auto& t : txs) n += 4 + t.size();
  return n;
}

bytes client_request::body() const {
  codec::writer w(encoded_size() - 64);
  w.raw(client);
  w.u64(client_seq);
  w.count(txs.size(), max_txs);
  for (const auto& t : txs) w.blob(t, max_tx_bytes);
  return w.take();
}

void client_request::encode(codec::writer& w) const {
  w.reserve(encoded_size());
  w.raw(client);
  w.u64(client_seq);
  w.count(txs.size(), max_txs);
  for (const auto& t : txs) w.blob(t, max_tx_bytes);
  w.raw(sig);
}

client_request client_request::decode(codec::reader& r) {
  client_request out;
  out.client = r.fixed<32>();
  out.client_seq = r.u64();
  auto n = r.count(max_txs, 4);
  out.txs.reserve(n);
  for (std::size_t i = 0; i < n && r.ok(); ++i) out.txs.push_back(r.blob(max_tx_bytes));
  out.sig = r.fixed<64>();
  return out;
}

} // namespace bft
