#include "actors/storage.hpp"

namespace bft::actors {

persisted_state memory_storage::load() {
  std::lock_guard<std::mutex> guard(mtx_);
  return records_;
}

result<void> memory_storage::write(const std::vector<persist_op>& ops) {
  std::lock_guard<std::mutex> guard(mtx_);
  for (const auto& op : ops) {
    if (op.erase)
      records_.erase(op.key);
    else
      records_[op.key] = op.value;
  }
  ++writes_;
  return {};
}

std::size_t memory_storage::writes() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return writes_;
}

} // namespace bft::actors
