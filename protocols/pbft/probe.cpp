#include "protocols/pbft/probe.hpp"

#include "protocols/common/codec.hpp"

namespace bft::pbft {

bytes encode_probe(std::uint16_t type, const probe_position& p) {
  codec::writer w(40);
  w.header({type, 1});
  w.id(p.from);
  w.u64(p.round);
  w.id(p.view);
  w.boolean(p.changing);
  w.u64(p.executed);
  w.boolean(p.progressing);
  return w.take();
}

std::optional<probe_position> decode_probe(std::uint16_t type, byte_view frame) {
  if (frame.size() > 64) return std::nullopt;
  codec::reader r(frame);
  r.expect({type, 1});
  probe_position p;
  p.from = r.id<replica_id>();
  p.round = r.u64();
  p.view = r.id<view_number>();
  p.changing = r.boolean();
  p.executed = r.u64();
  p.progressing = r.boolean();
  if (!r.finish()) return std::nullopt;
  return p;
}

} // namespace bft::pbft
