#pragma once
/// A client request: a batch of transactions that one client signs once (design section 8).
/// The per-client sequence number makes execution exactly-once (PBFT P2/P3).
#include <cstdint>
#include <vector>

#include "protocols/common/bytes.hpp"
#include "protocols/common/codec.hpp"

namespace bft {

struct client_request {
  public_key client{};          ///< the client's ed25519 key; identifies the client
  std::uint64_t client_seq = 0; ///< strictly increasing per client
  std::vector<bytes> txs;       ///< the transactions, opaque to consensus
  signature sig{};              ///< over signing_bytes(request_sign_tag, chain, epoch, body())

  static constexpr std::size_t max_txs = 65536;
  static constexpr std::size_t max_tx_bytes = 1u << 20;
  static constexpr const char* sign_tag = "bft/client/request/v1";

  /// The canonical bytes the signature covers (everything but the signature).
  [[nodiscard]] bytes body() const;
  /// The exact length of `encode`'s output (the body and the signature).
  [[nodiscard]] std::size_t encoded_size() const;
  void encode(codec::writer& w) const;
  static client_request decode(codec::reader& r);
  friend bool operator==(const client_request&, const client_request&) = default;
};

} // namespace bft
