#include "protocols/pbft/replica.hpp"

#include <algorithm>
#include <utility>

#include "crypto/sha3.hpp"
#include "protocols/pbft/mutants.hpp"
#include "protocols/pbft/replica_detail.hpp"

// The PBFT replica's amnesia guard (README "Amnesia guard",
// protocols/common/recovery.hpp); the rest of the replica is in replica.cpp.
namespace bft::pbft {

using namespace detail;

// ---- amnesia guard (README "Amnesia guard", protocols/common/recovery.hpp) -----------------

bool replica::guarded() const {
  // Guarded exactly while a view change from the current view could still be forbidden.
  return view_change_forbidden(view_);
}

bool replica::slot_forbidden(view_number v, std::uint64_t n) const {
  // Before it lost its record this replica signed for (v', n') only in views it entered on a
  // new-view (2f+1 view-changes for v': an honest reporter is at v' or later, so v' <= V), and
  // only for n' <= its h + window, where h was certified by 2f+1 checkpoints (an honest
  // reporter executed h, so h <= index bound).
  if (!guard_) return false;
  if (!guard_->learned) return true;
  return v.value() <= guard_->view_bound && n <= guard_->index_bound + window_;
}

bool replica::view_change_forbidden(view_number target) const {
  // A view-change for w was sent from view w-1 (timer) or on f+1 signers beyond: w <= V+1.
  // It must also carry every prepared certificate above its h: forgotten ones lie at or
  // below index bound + window, so it waits until its stable checkpoint passes them.
  if (!guard_) return false;
  if (!guard_->learned) return true;
  return target.value() <= guard_->view_bound + 1 ||
         stable_.seq.value() < guard_->index_bound + window_;
}

recovery::frame_signing replica::status_signing() const {
  return {status_request_tag, status_report_tag, cfg_.chain_id, cfg_.epoch};
}

void replica::send_status_request(ready& out) {
  last_status_request_ = now_;
  send(out, std::nullopt,
       status_signing().seal(status_request_type,
                             recovery::status_request{cfg_.self, cfg_.recovery_nonce}, signer_));
}

bool replica::on_status_frame(ready& out, replica_id from, const bytes& frame) {
  auto env = codec::peek_envelope(frame);
  if (!env || (env->type != status_request_type && env->type != status_report_type)) return false;
  auto opened = recovery::open_frame(frame);
  if (!opened) {
    reject(out, from, "malformed status frame");
    return true;
  }
  const auto fs = status_signing();
  const byte_view body = opened->body;
  auto check = [&](replica_id signer, std::string_view tag) {
    return opened->signed_by(signer, tag, fs, cfg_.validators, cfg_.self, verifier_);
  };
  if (env->type == status_request_type) {
    auto m = recovery::decode_request(status_request_type, body);
    if (!m || !check(m->sender, status_request_tag)) {
      reject(out, from, "status request: malformed or badly signed");
      return true;
    }
    if (guarded()) return true; // our own view is no bound for anyone yet
    recovery::status_report rep;
    rep.sender = cfg_.self;
    rep.nonce = m->nonce;
    rep.view = view_.value();
    rep.index = std::max(last_executed_, stable_.seq.value());
    if (transfer_) rep.index = std::max(rep.index, transfer_->first);
    if (guard_) rep.view = std::max(rep.view, guard_->view_bound + 1);
    rep.proof = last_nv_;
    send(out, m->sender, fs.seal(status_report_type, rep, signer_));
    return true;
  }
  auto m = recovery::decode_report(status_report_type, body);
  if (!m || !check(m->sender, status_report_tag)) {
    reject(out, from, "status report: malformed or badly signed");
    return true;
  }
  if (m->nonce != cfg_.recovery_nonce || !guard_) return true; // not ours, or stale
  if (status_ && status_->add(*m)) {
    guard_ = status_->bounds();
    guard_dirty_ = true;
    status_.reset();
  }
  // The sender's new-view proves itself (P26): it moves an observer into the current view.
  if (!m->proof.empty()) {
    auto nv = decode_new_view(m->proof);
    if (nv && nv->view > view_) on_new_view(out, from, m->proof);
  }
  return true;
}

} // namespace bft::pbft
