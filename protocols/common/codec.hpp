#pragma once
/// The canonical wire codec: little-endian fixed-width integers, length-prefixed byte strings
/// with stated maximum sizes, and a `{type, version}` envelope. One encoding per value, so
/// signed bytes are well defined.
///
/// `reader` has a sticky error: after the first failure every read returns zero/empty and
/// `ok()` is false; it never reads past its buffer and never allocates more than the bytes
/// that remain in it.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/common/bytes.hpp"
#include "protocols/common/errors.hpp"
#include "protocols/common/ids.hpp"

namespace bft::codec {

/// Hard limit on one frame; decoders refuse anything larger before looking inside.
inline constexpr std::size_t max_frame_bytes = 16u << 20;

/// The envelope at the front of every encoded message.
struct envelope {
  std::uint16_t type = 0;
  std::uint16_t version = 0;
};

/// Appends canonical bytes to an owned buffer.
class writer {
public:
  writer() = default;
  explicit writer(std::size_t reserve) { buf_.reserve(reserve); }
  void u8(std::uint8_t v) { buf_.push_back(v); }
  void u16(std::uint16_t v) { put_le(v, 2); }
  void u32(std::uint32_t v) { put_le(v, 4); }
  void u64(std::uint64_t v) { put_le(v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  template <class Tag, class Rep>
  void id(strong_id<Tag, Rep> v) {
    put_le(v.value(), sizeof(Rep));
  }
  /// Fixed-size bytes, no prefix (digests, keys, signatures).
  void raw(byte_view b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  /// u32 length prefix then the bytes. Asserts `b.size() <= max`: encoding oversized data
  /// is a programming error, decoding it is an input error.
  void blob(byte_view b, std::size_t max);
  void str(std::string_view s, std::size_t max) { blob(as_bytes(s), max); }
  /// u32 element count prefix.
  void count(std::size_t n, std::size_t max);
  void header(envelope e) {
    u16(e.type);
    u16(e.version);
  }
  /// Makes room for `more` bytes after what is written, so an encoder that knows its size
  /// allocates once instead of growing (and copying) its buffer step by step. Growth stays
  /// geometric, so calling it per element of a long sequence costs no more than appending.
  void reserve(std::size_t more) {
    if (buf_.capacity() - buf_.size() < more)
      buf_.reserve(std::max(buf_.size() + more, 2 * buf_.capacity()));
  }
  [[nodiscard]] const bytes& data() const { return buf_; }
  [[nodiscard]] std::size_t size() const { return buf_.size(); }
  bytes take() { return std::move(buf_); }

private:
  void put_le(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) buf_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  bytes buf_;
};

/// Reads canonical bytes from a borrowed buffer.
class reader {
public:
  explicit reader(byte_view b) : data_(b) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(get_le(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get_le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get_le(4)); }
  std::uint64_t u64() { return get_le(8); }
  /// Only 0 and 1 are valid; anything else is malformed (one encoding per value).
  bool boolean();
  template <class Id>
  Id id() {
    return Id{static_cast<typename Id::rep>(get_le(sizeof(typename Id::rep)))};
  }
  /// Fixed-size bytes into an array (digest, key, signature).
  template <std::size_t N>
  std::array<std::uint8_t, N> fixed() {
    std::array<std::uint8_t, N> out{};
    if (need(N)) {
      std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(pos_), N, out.begin());
      pos_ += N;
    }
    return out;
  }
  /// A u32-prefixed byte string of at most `max` bytes.
  bytes blob(std::size_t max);
  std::string str(std::size_t max);
  /// A borrowed view of a u32-prefixed byte string (no copy).
  byte_view blob_view(std::size_t max);
  /// An element count of at most `max`, each element at least `min_elem_bytes` long, so a
  /// claimed count can never exceed what the remaining input could hold.
  std::size_t count(std::size_t max, std::size_t min_elem_bytes = 1);
  /// Reads the envelope and checks it.
  void expect(envelope e);
  /// Fails unless the whole buffer was consumed.
  [[nodiscard]] result<void> finish();

  [[nodiscard]] bool ok() const { return err_ == errc::ok; }
  [[nodiscard]] errc error_code() const { return err_; }
  [[nodiscard]] std::size_t remaining() const { return ok() ? data_.size() - pos_ : 0; }
  [[nodiscard]] std::size_t position() const { return pos_; }
  void fail(errc e) {
    if (err_ == errc::ok) err_ = e;
  }

private:
  bool need(std::size_t n) {
    if (!ok()) return false;
    if (data_.size() - pos_ < n) {
      fail(errc::truncated);
      return false;
    }
    return true;
  }
  std::uint64_t get_le(std::size_t n);
  byte_view data_;
  std::size_t pos_ = 0;
  errc err_ = errc::ok;
};

/// Reads just the envelope of a frame, for dispatch.
result<envelope> peek_envelope(byte_view b);

/// Domain-separated bytes to sign: tag, chain id and epoch, then the body. Every signed
/// message in the project signs exactly this, never a serializer's own bytes.
bytes signing_bytes(std::string_view tag, std::string_view chain_id, epoch e, byte_view body);

} // namespace bft::codec
