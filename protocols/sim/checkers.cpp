#include "protocols/sim/checkers.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "protocols/common/assert.hpp"
#include "protocols/common/equivocation_log.hpp"
#include "protocols/sim/simulation.hpp"

// The checkers K1-K4, K6-K8, one class each, and their list.
namespace bft::sim::detail {

namespace {

std::string rid(const instance& in) { return std::to_string(in.id.value()); }

/// K1: no two honest replicas commit different values at one index.
class agreement final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K1"; }
  void on_commit(check_host& h, const instance& in, const committed_entry& e) override {
    if (!in.honest) return;
    auto [g, fresh] = agreed_.emplace(e.index, std::make_pair(e.id, in.id.value()));
    if (!fresh && g->second.first != e.id)
      h.fail("K1", "replicas " + std::to_string(g->second.second) + " and " + rid(in) +
                       " committed different entries at index " + std::to_string(e.index) + ": " +
                       hex_short(g->second.first) + " vs " + hex_short(e.id));
  }
  /// An honest engine saw a conflicting commit certified (ready::alarms): agreement is lost
  /// even if no second replica has committed the other value yet.
  void on_alarm(check_host& h, const instance& in, const std::string& alarm) override {
    if (in.honest) h.fail("K1", "replica " + rid(in) + " raised a safety alarm: " + alarm);
  }

private:
  std::map<std::uint64_t, std::pair<digest, std::uint32_t>> agreed_;
};

/// K2: an honest replica's committed prefix only grows; an index once committed never changes.
class no_rollback final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K2"; }
  void on_commit(check_host& h, const instance& in, const committed_entry& e) override {
    if (!in.honest) return;
    auto [it, fresh] = committed_[in.idx].emplace(e.index, e.id);
    if (!fresh && it->second != e.id)
      h.fail("K2", "replica " + rid(in) + " re-committed index " + std::to_string(e.index) +
                       " as " + hex_short(e.id) + " after " + hex_short(it->second));
  }

private:
  std::map<std::size_t, std::map<std::uint64_t, digest>> committed_; ///< per instance
};

/// K3: equal state roots at every committed index, and the certified one where certified.
class state_agreement final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K3"; }
  void on_applied(check_host& h, const instance& in, const committed_entry& e,
                  const std::vector<const client_request*>&) override {
    if (!in.honest) return;
    auto [g, fresh] = roots_.emplace(e.index, std::make_pair(in.app.root(), in.id.value()));
    if (!fresh && g->second.first != in.app.root())
      h.fail("K3", "replicas " + std::to_string(g->second.second) + " and " + rid(in) +
                       " have different state roots at index " + std::to_string(e.index));
  }
  void on_certified_root(check_host& h, const instance& in, std::uint64_t index,
                         const digest& certified, bool from_snapshot) override {
    const auto r = in.app.root_at(index);
    if (!r || *r == certified) return;
    if (from_snapshot) {
      h.fail("K3", "replica " + rid(in) + " holds a root at " + std::to_string(index) +
                       " that differs from the certified snapshot");
    } else if (in.honest) {
      h.fail("K3", "replica " + rid(in) + " applied index " + std::to_string(index) +
                       " with a root other than the certified one");
    }
  }

private:
  std::map<std::uint64_t, std::pair<digest, std::uint32_t>> roots_;
};

/// K4: a statement signed by an honest key (sent by its owner or relayed by another replica)
/// never conflicts with an earlier one for its slot.
class honest_non_equivocation final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K4"; }
  void on_frame(check_host& h, const wire& w) override {
    if (!w.stmt) return;
    const auto& s = *w.stmt;
    if (!h.honest_key(s.signer)) return;
    const auto o = said_.observe(signed_slot{s.signer.value(), s.phase, s.view, s.seq}, s.content,
                                 byte_view{}); // digests only: no proof kept
    if (o.conflict)
      h.fail("K4", "honest replica " + std::to_string(s.signer.value()) +
                       " signed two conflicting statements for phase " + std::to_string(s.phase) +
                       " view " + std::to_string(s.view) + " seq " + std::to_string(s.seq) + ": " +
                       hex_short(*o.first_content) + " vs " + hex_short(s.content));
  }

private:
  bft::equivocation_log said_;
};

/// K6: every request an honest replica commits was submitted by a client, as signed, and is
/// executed once.
class validity final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K6"; }
  void on_apply(check_host& h, const instance& in, const committed_entry& e) override {
    if (!in.honest) return;
    for (const auto& r : e.requests) {
      const auto s = h.submitted(r.client, r.client_seq);
      if (!s || !(*s->request == r)) {
        h.fail("K6", "replica " + rid(in) + " committed a request never submitted by a client" +
                         " (client_seq " + std::to_string(r.client_seq) + ") at index " +
                         std::to_string(e.index));
        return;
      }
    }
  }
  void on_applied(check_host& h, const instance& in, const committed_entry&,
                  const std::vector<const client_request*>& executed) override {
    if (!in.honest) return;
    for (const auto* r : executed) {
      if (!executed_[in.idx].insert({r->client, r->client_seq}).second) {
        h.fail("K6", "replica " + rid(in) + " executed client_seq " +
                         std::to_string(r->client_seq) + " twice");
        return;
      }
    }
  }

private:
  std::map<std::size_t, std::set<std::pair<public_key, std::uint64_t>>> executed_;
};

/// K7: with at most f faulty replicas (or in Twins), every honest replica's committed state
/// covers an entry holding a request submitted after stabilisation, executed itself or
/// installed from a certified snapshot.
class liveness final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K7"; }
  void on_applied(check_host& h, const instance& in, const committed_entry& e,
                  const std::vector<const client_request*>& executed) override {
    if (!in.honest) return;
    for (const auto* r : executed) {
      const auto s = h.submitted(r->client, r->client_seq);
      BFT_ASSERT(s.has_value(), "K6 ran first: every executed request was submitted");
      if (s->at >= h.stabilisation()) fresh_index_ = std::min(fresh_index_, e.index);
    }
  }
  void at_end(check_host& h) override {
    std::size_t faulty = 0;
    for (std::size_t i = 0; i < h.instance_count(); ++i) {
      const auto& in = h.at(i);
      if ((!in.honest && !in.twin) || in.amnesiac) ++faulty;
    }
    if (!h.opts().twins_scenario && faulty > h.f()) return;
    for (std::size_t i = 0; i < h.instance_count(); ++i) {
      const auto& in = h.at(i);
      if (!in.honest || in.app.applied() >= fresh_index_) continue;
      std::ostringstream os;
      os << "replica " << in.id.value()
         << " committed no entry holding a request submitted after stabilisation at t="
         << h.stabilisation() / units_per_tick << " within the bound of "
         << (h.end() - h.stabilisation()) / units_per_tick << " ticks (first such entry: "
         << (fresh_index_ == ~std::uint64_t{0} ? std::string("none") : std::to_string(fresh_index_))
         << "; application at index " << in.app.applied() << ", view " << in.last.view.value()
         << (in.last.view_changing ? ", view-changing" : "") << ")";
      h.fail("K7", os.str());
      return;
    }
  }

private:
  std::uint64_t fresh_index_ = ~std::uint64_t{0}; ///< first entry with a fresh request
};

/// K8: evidence names a replica that did sign two conflicting statements, never an honest
/// one; in Twins, conflicting statements that reached an honest replica are reported.
class evidence_check final : public checker {
public:
  [[nodiscard]] std::string_view id() const override { return "K8"; }
  void on_received(check_host& h, const instance& in, const wire& w) override {
    if (!h.opts().twins_scenario || !in.honest || !w.stmt) return;
    const auto& s = *w.stmt;
    if (s.signer == in.id) return;
    auto [it, fresh] = received_[in.idx].emplace(key_of(s), s.content);
    // Reached: the receiver was not past the statement's view nor its sequence number's
    // stable checkpoint, where an engine may drop messages unread.
    if (!fresh && it->second != s.content && in.last.view.value() <= s.view &&
        (s.seq == 0 || s.seq > in.last.stable_index)) {
      std::ostringstream os;
      os << "replica " << in.id.value() << " received phase " << int{s.phase} << " view " << s.view
         << " seq " << s.seq << " at t=" << h.now() / units_per_tick << " while in view "
         << in.last.view.value();
      reached_.emplace(s.signer.value(), os.str());
    }
  }
  void on_evidence(check_host& h, const instance& in, const evidence& ev) override {
    if (!in.honest && !in.twin) return;
    auto a = h.statement_of(in, ev.first);
    auto b = h.statement_of(in, ev.second);
    const auto culprit = std::to_string(ev.culprit.value());
    if (!a || !b || a->signer != ev.culprit || b->signer != ev.culprit ||
        key_of(*a) != key_of(*b) || a->content == b->content) {
      h.fail("K8", "replica " + rid(in) + " reported invalid evidence against " + culprit);
      return;
    }
    for (std::size_t i = 0; i < h.instance_count(); ++i) {
      if (h.at(i).id == ev.culprit && h.at(i).honest) {
        h.fail("K8", "replica " + rid(in) + " accused honest replica " + culprit);
        return;
      }
    }
    if (in.honest) {
      h.count_evidence();
      accused_.insert(ev.culprit.value());
    }
  }
  void at_end(check_host& h) override {
    if (!h.opts().twins_scenario) return;
    for (const auto& [culprit, where] : reached_) {
      if (!accused_.count(culprit)) {
        h.fail("K8", "conflicting statements of replica " + std::to_string(culprit) +
                         " reached an honest replica (" + where +
                         ") but no honest replica reported evidence");
        return;
      }
    }
  }

private:
  std::map<std::size_t, std::map<stmt_key, digest>> received_; ///< per instance
  std::map<std::uint32_t, std::string> reached_;               ///< culprit -> first seen
  std::set<std::uint32_t> accused_;
};

} // namespace

std::vector<std::unique_ptr<checker>> make_checkers() {
  std::vector<std::unique_ptr<checker>> out;
  // K2 before K1 (a replica that re-commits an index also disagrees: reported as K2), K6
  // before K7 (K7 reads the submissions K6 vouched for) and K3 (a request executed twice
  // changes the root: reported as K6).
  out.push_back(std::make_unique<no_rollback>());
  out.push_back(std::make_unique<agreement>());
  out.push_back(std::make_unique<validity>());
  out.push_back(std::make_unique<liveness>());
  out.push_back(std::make_unique<state_agreement>());
  out.push_back(std::make_unique<honest_non_equivocation>());
  out.push_back(std::make_unique<evidence_check>());
  return out;
}

} // namespace bft::sim::detail
