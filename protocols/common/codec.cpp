#include "protocols/common/codec.hpp"

#include <algorithm>

namespace bft::codec {

void writer::blob(byte_view b, std::size_t max) {
  BFT_ASSERT(b.size() <= max, "encoding a byte string over its stated maximum");
  u32(static_cast<std::uint32_t>(b.size()));
  raw(b);
}

void writer::count(std::size_t n, std::size_t max) {
  BFT_ASSERT(n <= max, "encoding a count over its stated maximum");
  u32(static_cast<std::uint32_t>(n));
}

std::uint64_t reader::get_le(std::size_t n) {
  if (!need(n)) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{data_[pos_ + i]} << (8 * i);
  pos_ += n;
  return v;
}

bool reader::boolean() {
  auto v = u8();
  if (v > 1) fail(errc::malformed);
  return v == 1;
}

byte_view reader::blob_view(std::size_t max) {
  auto len = u32();
  if (!ok()) return {};
  if (len > max) {
    fail(errc::oversized);
    return {};
  }
  if (!need(len)) return {};
  byte_view out = data_.subspan(pos_, len);
  pos_ += len;
  return out;
}

bytes reader::blob(std::size_t max) {
  auto v = blob_view(max);
  return bytes(v.begin(), v.end());
}

std::string reader::str(std::size_t max) {
  auto v = blob_view(max);
  return std::string(v.begin(), v.end());
}

std::size_t reader::count(std::size_t max, std::size_t min_elem_bytes) {
  auto n = u32();
  if (!ok()) return 0;
  if (n > max) {
    fail(errc::oversized);
    return 0;
  }
  if (min_elem_bytes > 0 && n > remaining() / min_elem_bytes) {
    fail(errc::truncated);
    return 0;
  }
  return n;
}

void reader::expect(envelope e) {
  auto t = u16();
  auto v = u16();
  if (!ok()) return;
  if (t != e.type)
    fail(errc::wrong_type);
  else if (v != e.version)
    fail(errc::wrong_version);
}

result<void> reader::finish() {
  if (!ok()) return err_;
  if (pos_ != data_.size()) return errc::trailing_bytes;
  return {};
}

result<envelope> peek_envelope(byte_view b) {
  if (b.size() > max_frame_bytes) return errc::oversized;
  reader r(b);
  envelope e{r.u16(), r.u16()};
  if (!r.ok()) return r.error_code();
  return e;
}

bytes signing_bytes(std::string_view tag, std::string_view chain_id, epoch e, byte_view body) {
  writer w(tag.size() + chain_id.size() + body.size() + 24);
  w.str(tag, 256);
  w.str(chain_id, 256);
  w.id(e);
  w.raw(body);
  return w.take();
}

} // namespace bft::codec
