#include "protocols/smr/kv_tx.hpp"

#include "protocols/common/codec.hpp"

namespace bft::smr {

bytes kv_tx::encode() const {
  codec::writer w(key.size() + value.size() + 32);
  w.header({kv_tx_type, 1});
  w.u8(static_cast<std::uint8_t>(op));
  w.str(key, max_key_bytes);
  switch (op) {
  case kv_op::put: w.str(value, max_value_bytes); break;
  case kv_op::get:
  case kv_op::del: break;
  case kv_op::cas:
    w.boolean(expected.has_value());
    if (expected) w.str(*expected, max_value_bytes);
    w.str(value, max_value_bytes);
    break;
  }
  return w.take();
}

result<kv_tx> kv_tx::decode(byte_view b) {
  codec::reader r(b);
  r.expect({kv_tx_type, 1});
  kv_tx tx;
  auto op = r.u8();
  tx.key = r.str(max_key_bytes);
  if (!r.ok()) return r.error_code();
  switch (op) {
  case static_cast<std::uint8_t>(kv_op::put):
    tx.op = kv_op::put;
    tx.value = r.str(max_value_bytes);
    break;
  case static_cast<std::uint8_t>(kv_op::get): tx.op = kv_op::get; break;
  case static_cast<std::uint8_t>(kv_op::del): tx.op = kv_op::del; break;
  case static_cast<std::uint8_t>(kv_op::cas):
    tx.op = kv_op::cas;
    if (r.boolean()) tx.expected = r.str(max_value_bytes);
    tx.value = r.str(max_value_bytes);
    break;
  default: return error{errc::malformed, "unknown kv operation"};
  }
  if (auto f = r.finish(); !f) return f.error();
  return tx;
}

bytes kv_result::encode() const {
  codec::writer w(16 + (value ? value->size() : 0));
  w.header({kv_result_type, 1});
  w.u8(static_cast<std::uint8_t>(status));
  w.boolean(value.has_value());
  if (value) w.str(*value, max_value_bytes);
  return w.take();
}

result<kv_result> kv_result::decode(byte_view b) {
  codec::reader r(b);
  r.expect({kv_result_type, 1});
  kv_result out;
  auto st = r.u8();
  if (r.ok() && st > static_cast<std::uint8_t>(kv_status::malformed))
    return error{errc::malformed, "unknown kv status"};
  out.status = static_cast<kv_status>(st);
  if (r.boolean()) out.value = r.str(max_value_bytes);
  if (auto f = r.finish(); !f) return f.error();
  return out;
}

const char* to_string(kv_status s) {
  switch (s) {
  case kv_status::ok: return "ok";
  case kv_status::not_found: return "not_found";
  case kv_status::cas_mismatch: return "cas_mismatch";
  case kv_status::malformed: return "malformed";
  }
  return "unknown";
}

} // namespace bft::smr
