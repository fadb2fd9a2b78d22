#pragma once
/// Private to actors/secure*.cpp: the secure transport's shared context, framing helpers and
/// the state of one connection broker. Includes CAF.
#include <array>
#include <map>
#include <mutex>
#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "net/address_book.hpp"

namespace bft::actors {

using hs_timeout_atom = caf::atom_constant<caf::atom("hstimeout")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using report_atom = caf::atom_constant<caf::atom("report")>;
using idle_atom = caf::atom_constant<caf::atom("idlecheck")>;

class secure_context {
public:
  explicit secure_context(secure_config c) : cfg(std::move(c)) {
    BFT_ASSERT(cfg.me && cfg.me->signer && cfg.me->verifier, "the secure transport needs keys");
    if (cfg.probes != nullptr) {
      std::vector<std::string> names;
      for (int r = 0; r < static_cast<int>(net::reason::count_); ++r)
        names.emplace_back(net::to_string(static_cast<net::reason>(r)));
      probe = std::make_unique<secure_probe>(*cfg.probes, cfg.me->id, names);
    }
    for (int r = 0; r < static_cast<int>(net::reason::count_); ++r) counts[r] = 0;
    limiter = rate_limiter(cfg.log_interval);
  }

  /// Counts the refusal, and logs one line per reason per interval.
  void refuse(net::reason r, const std::string& who, const std::string& detail) {
    const auto name = std::string(net::to_string(r));
    if (probe) probe->on_rejected(name);
    std::uint64_t held = 0;
    bool allowed = false;
    {
      std::lock_guard<std::mutex> g(mtx);
      ++counts[static_cast<int>(r)];
      allowed = limiter.allow(name, held);
    }
    if (allowed)
      log->warn("secure link refused node={} peer={} reason={} detail=\"{}\" suppressed={}",
                cfg.me->id.value(), who, name, detail, held);
  }

  [[nodiscard]] std::optional<monitor_actor> monitor() const {
    std::lock_guard<std::mutex> g(mtx);
    return mon;
  }

  secure_config cfg;
  std::unique_ptr<secure_probe> probe;
  std::shared_ptr<spdlog::logger> log = component_logger("secure");
  mutable std::mutex mtx; ///< guards what follows
  rate_limiter limiter;
  std::optional<monitor_actor> mon;
  std::array<std::uint64_t, static_cast<int>(net::reason::count_)> counts{};
};

namespace secure_detail {

using ctx_ptr = std::shared_ptr<secure_context>;

/// Milliseconds since the epoch by this node's clock (plus `skew`, a test's offset).
inline std::uint64_t wall_ms(std::chrono::milliseconds skew = {}) {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()) +
                   skew;
  return now.count() < 0 ? 0 : static_cast<std::uint64_t>(now.count());
}

inline byte_view view_of(const std::vector<char>& buf) {
  return {reinterpret_cast<const std::uint8_t*>(buf.data()), buf.size()};
}

/// Reads length-prefixed messages: first exactly 4 bytes, then exactly the length (checked
/// against `max` first), so CAF never buffers more than what we allowed.
struct framer {
  bool want_prefix = true;
  std::size_t max = net::max_handshake_bytes;
  enum class got { more, body, oversized };
  got on_read(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
              const std::vector<char>& buf) {
    if (want_prefix) {
      if (buf.size() != net::prefix_bytes) return got::oversized;
      auto n = net::read_prefix(reinterpret_cast<const std::uint8_t*>(buf.data()), max);
      if (!n) return got::oversized;
      want_prefix = false;
      self->configure_read(hdl, caf::io::receive_policy::exactly(*n));
      return got::more;
    }
    want_prefix = true;
    self->configure_read(hdl, caf::io::receive_policy::exactly(net::prefix_bytes));
    return got::body;
  }
};

inline void write_plain(caf::io::abstract_broker* self, caf::io::connection_handle hdl,
                        const bytes& m) {
  auto& buf = self->wr_buf(hdl);
  const auto at = buf.size();
  buf.resize(at + net::prefix_bytes + m.size());
  net::put_prefix(reinterpret_cast<std::uint8_t*>(buf.data() + at),
                  static_cast<std::uint32_t>(m.size()));
  std::copy(m.begin(), m.end(), buf.begin() + static_cast<std::ptrdiff_t>(at + net::prefix_bytes));
  self->flush(hdl);
}

// ---- one connection (dialled, or accepted and forked off the listener) ----

struct conn_state {
  static inline const char* name = "bft.secure.conn";
  ctx_ptr ctx;
  caf::io::connection_handle hdl;
  framer fr;
  std::optional<net::handshake> hs; ///< dialling, until the handshake is done
  std::optional<net::session> sess;
  bool dialled = false;
  caf::actor notify; ///< dialling: hears link_up / link_fail once
  bool notified = false;
  std::string peer_label = "?"; ///< validator id, or "client"
  replica_id peer_id{0};
  bool client = false;
  bool closing = false;
  // dialling: the link's calls awaiting replies
  std::uint32_t next_call = 1;
  std::map<std::uint32_t, caf::response_promise> waiting;
  // accepted: the acceptor, calls in flight to it, throttling
  std::optional<acceptor_actor> acceptor;
  std::size_t in_flight = 0;
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled{};
  std::chrono::steady_clock::time_point last_frame{};
  std::size_t queued = 0; ///< clients: bytes written and not yet sent
  // link checks
  std::uint64_t anomalies = 0;
  bool report_scheduled = false;
};

using conn_broker = caf::io::stateful_broker<conn_state>;

caf::behavior dialled_fn(conn_broker* self, caf::io::connection_handle hdl, ctx_ptr ctx,
                         replica_id peer, caf::actor notify, bool watch_notify);
caf::behavior accepted_fn(conn_broker* self, caf::io::connection_handle hdl, ctx_ptr ctx,
                          net::session s, acceptor_actor acceptor);

} // namespace secure_detail
} // namespace bft::actors
