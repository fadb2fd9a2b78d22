#include "net/address_book.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <system_error>

#include "crypto/key_file.hpp"
#include "protocols/common/assert.hpp"
#include "protocols/common/codec.hpp"

namespace bft::net {

namespace {

/// The genesis keys are those of epoch 0; records bind it in their signed bytes.
constexpr epoch record_epoch{0};

std::string join_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  const bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out.append(host);
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

/// Why `host:port` is not an address a node may dial, or nothing. One rule for the whole
/// project: the one `config::parse_host_port` applies to node.toml and genesis, plus the
/// length limit of a record.
std::optional<std::string> address_problem(std::string_view host, std::uint16_t port) {
  if (host.size() > max_host_bytes)
    return "host longer than " + std::to_string(max_host_bytes) + " bytes";
  auto parsed = config::parse_host_port(join_host_port(host, port));
  if (!parsed) return parsed.error().detail;
  // Round trip: the parser must read back exactly the host and port written.
  if (parsed->host != host || parsed->port != port) return std::string("host does not round-trip");
  return std::nullopt;
}

bool well_formed(const address_record& r) {
  return r.chain_id.size() <= max_record_chain_bytes && !address_problem(r.host, r.port);
}

bool same_address(const config::host_port& a, const config::host_port& b) {
  return a.host == b.host && a.port == b.port;
}

} // namespace

// --- address_record ------------------------------------------------------------------------

bytes address_record::signed_body() const {
  codec::writer w(host.size() + 24);
  w.id(id);
  w.str(host, max_host_bytes);
  w.u16(port);
  w.u64(sequence);
  return w.take();
}

void address_record::sign(const crypto::signer& s) {
  sig = s.sign(codec::signing_bytes(sign_tag, chain_id, record_epoch, signed_body()));
}

bool address_record::verify(const crypto::verifier& v, const public_key& key) const {
  return v.verify(key, codec::signing_bytes(sign_tag, chain_id, record_epoch, signed_body()), sig);
}

bool address_record::verify(const crypto::verifier& v, const validator_set& validators) const {
  const auto* member = validators.find(id);
  return member != nullptr && verify(v, member->key);
}

std::string address_record::encode() const {
  BFT_ASSERT(chain_id.size() <= max_record_chain_bytes, "a record's chain id fits its limit");
  BFT_ASSERT(host.size() <= max_host_bytes, "a record's host fits its limit");
  codec::writer w(max_record_bytes);
  w.header({address_record_type, 1});
  w.str(chain_id, max_record_chain_bytes);
  w.id(id);
  w.str(host, max_host_bytes);
  w.u16(port);
  w.u64(sequence);
  w.raw(sig);
  BFT_ASSERT(w.size() <= max_record_bytes, "an encoded record fits max_record_bytes");
  return std::string(w.data().begin(), w.data().end());
}

result<address_record> address_record::decode(std::string_view b) {
  if (b.size() > max_record_bytes)
    return error{errc::oversized, "address record of " + std::to_string(b.size()) +
                                      " bytes (limit " + std::to_string(max_record_bytes) + ")"};
  codec::reader r(as_bytes(b));
  r.expect({address_record_type, 1});
  address_record rec;
  rec.chain_id = r.str(max_record_chain_bytes);
  rec.id = r.id<replica_id>();
  rec.host = r.str(max_host_bytes);
  rec.port = r.u16();
  rec.sequence = r.u64();
  rec.sig = r.fixed<64>();
  if (auto f = r.finish(); !f) return f.error();
  if (auto why = address_problem(rec.host, rec.port))
    return error{errc::malformed, "address record: " + *why};
  return rec;
}

std::string address_record::address() const { return join_host_port(host, port); }

// --- outcomes and counters -----------------------------------------------------------------

std::string_view to_string(offer_outcome o) {
  switch (o) {
  case offer_outcome::accepted: return "accepted";
  case offer_outcome::stale: return "stale";
  case offer_outcome::unknown_validator: return "unknown_validator";
  case offer_outcome::bad_signature: return "bad_signature";
  case offer_outcome::wrong_chain: return "wrong_chain";
  case offer_outcome::malformed: return "malformed";
  }
  BFT_ASSERT(false, "every offer_outcome has a name");
  return "?";
}

void offer_counters::count(offer_outcome o) {
  switch (o) {
  case offer_outcome::accepted: ++accepted; return;
  case offer_outcome::stale: ++stale; return;
  case offer_outcome::unknown_validator: ++unknown_validator; return;
  case offer_outcome::bad_signature: ++bad_signature; return;
  case offer_outcome::wrong_chain: ++wrong_chain; return;
  case offer_outcome::malformed: ++malformed; return;
  }
  BFT_ASSERT(false, "every offer_outcome has a counter");
}

// --- address_book --------------------------------------------------------------------------

address_book::address_book(std::string chain_id, validator_set validators,
                           std::shared_ptr<const crypto::verifier> verifier)
    : chain_id_(std::move(chain_id)), validators_(std::move(validators)),
      verifier_(std::move(verifier)) {
  BFT_ASSERT(verifier_ != nullptr, "an address book verifies with a verifier");
  for (const auto& v : validators_.members()) {
    auto hp = config::parse_host_port(v.address);
    if (!hp || hp->host.size() > max_host_bytes) continue; // no fallback: gossip must find it
    address_record genesis;
    genesis.chain_id = chain_id_;
    genesis.id = v.id;
    genesis.host = std::move(hp->host);
    genesis.port = hp->port;
    genesis.sequence = 0;
    held_.emplace(v.id, std::move(genesis));
  }
}

offer_outcome address_book::count_locked(offer_outcome o) {
  counters_.count(o);
  return o;
}

std::uint64_t address_book::held_sequence_locked(replica_id id) const {
  auto it = held_.find(id);
  return it == held_.end() ? 0 : it->second.sequence;
}

offer_outcome address_book::offer(const address_record& r) {
  auto refuse = [&](offer_outcome o) {
    std::lock_guard lock(mutex_);
    return count_locked(o);
  };
  if (!well_formed(r)) return refuse(offer_outcome::malformed);
  if (r.chain_id != chain_id_) return refuse(offer_outcome::wrong_chain);
  const auto* member = validators_.find(r.id);
  if (member == nullptr) return refuse(offer_outcome::unknown_validator);
  {
    // Cheap check first: a flood of old records costs no signature verification.
    std::lock_guard lock(mutex_);
    if (r.sequence <= held_sequence_locked(r.id)) return count_locked(offer_outcome::stale);
  }
  if (!r.verify(*verifier_, member->key)) return refuse(offer_outcome::bad_signature);
  std::lock_guard lock(mutex_);
  // Again under the lock: another thread may have taken a newer record meanwhile.
  if (r.sequence <= held_sequence_locked(r.id)) return count_locked(offer_outcome::stale);
  held_[r.id] = r;
  BFT_ASSERT(held_sequence_locked(r.id) > 0, "a signed record held never has sequence 0");
  return count_locked(offer_outcome::accepted);
}

offer_outcome address_book::offer_encoded(std::string_view b) {
  auto r = address_record::decode(b);
  if (!r) {
    std::lock_guard lock(mutex_);
    return count_locked(offer_outcome::malformed);
  }
  return offer(*r);
}

std::optional<config::host_port> address_book::address_of(replica_id id) const {
  std::lock_guard lock(mutex_);
  auto it = held_.find(id);
  if (it == held_.end()) return std::nullopt;
  return config::host_port{it->second.host, it->second.port};
}

std::optional<std::uint64_t> address_book::sequence_of(replica_id id) const {
  std::lock_guard lock(mutex_);
  auto it = held_.find(id);
  if (it == held_.end()) return std::nullopt;
  return it->second.sequence;
}

std::vector<address_record> address_book::records() const {
  std::lock_guard lock(mutex_);
  std::vector<address_record> out;
  for (const auto& [id, r] : held_)
    if (r.sequence > 0) out.push_back(r); // std::map: ordered by id
  return out;
}

std::vector<std::string> address_book::encoded_records() const {
  std::vector<std::string> out;
  for (const auto& r : records()) out.push_back(r.encode());
  return out;
}

result<std::uint64_t> address_book::next_sequence(replica_id self, std::uint64_t now_ms) const {
  if (!validators_.contains(self))
    return error{errc::invalid_config,
                 "replica " + std::to_string(self.value()) + " is not a genesis validator"};
  std::lock_guard lock(mutex_);
  auto held = held_sequence_locked(self);
  if (held == std::numeric_limits<std::uint64_t>::max())
    return error{errc::invalid_config, "replica " + std::to_string(self.value()) +
                                           " already holds the largest address sequence"};
  return std::max(now_ms, held + 1);
}

result<address_record> address_book::publish_own(replica_id self, const crypto::signer& s,
                                                 const config::host_port& where,
                                                 std::uint64_t now_ms) {
  const auto* member = validators_.find(self);
  if (member == nullptr)
    return error{errc::invalid_config,
                 "replica " + std::to_string(self.value()) + " is not a genesis validator"};
  if (member->key != s.key())
    return error{errc::invalid_config, "the signer does not hold replica " +
                                           std::to_string(self.value()) + "'s genesis key"};
  if (auto why = address_problem(where.host, where.port))
    return error{errc::invalid_config,
                 "cannot publish " + join_host_port(where.host, where.port) + ": " + *why};
  address_record r;
  r.chain_id = chain_id_;
  r.id = self;
  r.host = where.host;
  r.port = where.port;
  // Under one lock from choosing the sequence to holding the record, so no gossiped record of
  // our own can slip in between and make ours stale.
  std::lock_guard lock(mutex_);
  auto held = held_sequence_locked(self);
  if (held == std::numeric_limits<std::uint64_t>::max())
    return error{errc::invalid_config, "replica " + std::to_string(self.value()) +
                                           " already holds the largest address sequence"};
  r.sequence = std::max(now_ms, held + 1);
  r.sign(s);
  BFT_ASSERT(r.verify(*verifier_, member->key), "our own address record verifies");
  BFT_ASSERT(r.sequence > held, "our own record is newer than the one held");
  held_[self] = r;
  count_locked(offer_outcome::accepted);
  return r;
}

result<void> address_book::add_bootstrap(const config::host_port& where) {
  if (auto why = address_problem(where.host, where.port))
    return error{errc::invalid_config,
                 "bootstrap " + join_host_port(where.host, where.port) + ": " + *why};
  std::lock_guard lock(mutex_);
  for (const auto& b : bootstrap_)
    if (same_address(b, where)) return {};
  bootstrap_.push_back(where);
  return {};
}

std::vector<config::host_port> address_book::bootstrap() const {
  std::lock_guard lock(mutex_);
  return bootstrap_;
}

offer_counters address_book::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

// --- persistence ---------------------------------------------------------------------------

result<void> address_book::save(const std::filesystem::path& path) const {
  std::string text(book_file_version_line);
  text += '\n';
  for (const auto& r : records()) {
    text += to_hex(as_bytes(r.encode()));
    text += '\n';
  }
  return crypto::write_file_atomically(path, text, 0644, true);
}

result<load_summary> address_book::load(const std::filesystem::path& path) {
  const auto name = path.string();
  load_summary summary;
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found) return summary;
  if (ec) return error{errc::io_error, name + ": " + ec.message()};
  if (st.type() != std::filesystem::file_type::regular)
    return error{errc::io_error, name + ": not a regular file"};
  summary.found = true;

  auto size = std::filesystem::file_size(path, ec);
  if (ec) return error{errc::io_error, name + ": " + ec.message()};
  if (size > max_book_file_bytes)
    return error{errc::malformed, name + ": larger than " + std::to_string(max_book_file_bytes) +
                                      " bytes (not an address book?)"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{errc::io_error, name + ": cannot open"};
  // Read at most one byte more than the size seen, and check again: the file may grow.
  std::string text(static_cast<std::size_t>(size) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return error{errc::io_error, name + ": cannot read"};
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > size) return error{errc::io_error, name + ": changed while it was read"};

  std::string_view rest(text);
  auto next_line = [&rest]() {
    auto nl = rest.find('\n');
    auto line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    return line;
  };
  if (next_line() != book_file_version_line)
    return error{errc::malformed, name + ": line 1: not an address book (expected \"" +
                                      std::string(book_file_version_line) + "\")"};
  while (!rest.empty()) {
    auto line = next_line();
    if (line.empty()) continue;
    offer_outcome o = offer_outcome::malformed;
    bytes raw;
    if (line.size() <= 2 * max_record_bytes && from_hex(line, raw)) {
      o = offer_encoded(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
    } else {
      std::lock_guard lock(mutex_);
      count_locked(o);
    }
    summary.records.count(o);
  }
  return summary;
}

} // namespace bft::net
