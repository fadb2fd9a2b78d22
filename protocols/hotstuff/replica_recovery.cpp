#include "protocols/hotstuff/replica.hpp"

// The amnesia guard's status round of the HotStuff replica (README "Amnesia guard",
// protocols/common/recovery.hpp); the rest of the replica is in replica.cpp.
namespace bft::hotstuff {
namespace {
constexpr std::string_view status_request_tag = "bft/hotstuff/status_request/v1";
constexpr std::string_view status_report_tag = "bft/hotstuff/status_report/v1";
} // namespace

bool replica::guarded() const {
  return guard_ && (!guard_->learned || pacemaker_.view().value() <= guard_->view_bound + 1);
}

bool replica::guard_forbids(view_number v) const {
  // A vote or proposal of view v needs view v entered on a QC of v-1 or a quorum asking for v:
  // an honest member of that quorum reported at least v-1, so v <= V+1 for everything this
  // replica may have signed before it lost its record.
  return guard_ && (!guard_->learned || v.value() <= guard_->view_bound + 1);
}

recovery::frame_signing replica::status_signing() const {
  return {status_request_tag, status_report_tag, cfg_.chain_id, cfg_.epoch};
}

void replica::send_status_request(ready& out) {
  if (!status_) return;
  send(std::nullopt,
       status_signing().seal(status_request_type,
                             recovery::status_request{cfg_.self, status_->nonce()}, *signer_),
       out);
}

bool replica::on_status_frame(const ev::received& r, ready& out) {
  auto env = codec::peek_envelope(r.frame);
  if (!env || (env->type != status_request_type && env->type != status_report_type)) return false;
  auto opened = recovery::open_frame(r.frame);
  if (!opened) {
    out.rejected.push_back({r.from, "malformed status frame"});
    return true;
  }
  const auto fs = status_signing();
  const byte_view body = opened->body;
  auto check = [&](replica_id signer, std::string_view tag) {
    return opened->signed_by(signer, tag, fs, cfg_.validators, cfg_.self, *verifier_);
  };
  if (env->type == status_request_type) {
    auto m = recovery::decode_request(status_request_type, body);
    if (!m || !check(m->sender, status_request_tag)) {
      out.rejected.push_back({r.from, "status request: malformed or badly signed"});
      return true;
    }
    if (guarded()) return true; // our own view is no bound for anyone yet
    recovery::status_report rep;
    rep.sender = cfg_.self;
    rep.nonce = m->nonce;
    const auto& rec = safety_.record();
    rep.view = std::max({pacemaker_.view(), pacemaker_.own_new_view(cfg_.self), asked_view_,
                         rec.last_voted_view, rec.high_qc.view})
                   .value();
    if (guard_) rep.view = std::max(rep.view, guard_->view_bound + 1);
    rep.index = tree_.root().height.value();
    codec::writer w;
    rec.high_qc.encode(w);
    rep.proof = w.take();
    send(m->sender, fs.seal(status_report_type, rep, *signer_), out);
    return true;
  }
  auto m = recovery::decode_report(status_report_type, body);
  if (!m || !check(m->sender, status_report_tag)) {
    out.rejected.push_back({r.from, "status report: malformed or badly signed"});
    return true;
  }
  if (!status_ || m->nonce != status_->nonce()) return true; // not ours, or stale
  codec::reader qr(m->proof);
  auto qc = quorum_cert::decode(qr);
  if (!qr.finish() || !check_qc(qc)) {
    out.rejected.push_back({r.from, "status report carries an invalid QC"});
    return true;
  }
  on_qc(qc, out); // catch up with the view at once
  if (status_->add(*m)) {
    guard_ = status_->bounds();
    guard_dirty_ = true;
    status_.reset();
  }
  return true;
}

} // namespace bft::hotstuff
