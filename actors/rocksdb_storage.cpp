#include "actors/rocksdb_storage.hpp"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <system_error>

#include "protocols/common/codec.hpp"
#include "protocols/common/request.hpp"

namespace bft::actors {

namespace {

constexpr const char* committed_key = "committed";

rocksdb::Slice slice(const std::string& s) { return {s.data(), s.size()}; }
rocksdb::Slice slice(const bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
bytes to_bytes(const rocksdb::Slice& s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  return bytes(p, p + s.size());
}

/// Big-endian height, so that the byte order of keys is the numeric order.
std::string height_key(std::uint64_t h) {
  std::string k(8, '\0');
  for (int i = 7; i >= 0; --i) {
    k[static_cast<std::size_t>(i)] = static_cast<char>(h & 0xff);
    h >>= 8;
  }
  return k;
}

std::uint64_t height_of(const rocksdb::Slice& s) {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < 8 && i < s.size(); ++i)
    h = (h << 8) | static_cast<std::uint8_t>(s[i]);
  return h;
}

std::string encode_point(const committed_point& p) {
  std::string v = height_key(p.height);
  v.append(reinterpret_cast<const char*>(p.state_root.data()), p.state_root.size());
  return v;
}

/// One clear line: what failed, where, and RocksDB's status (disk full called out).
bft::error status_error(const std::string& what, const std::filesystem::path& dir,
                        const rocksdb::Status& s) {
  std::string msg = what + " in " + dir.string() + ": ";
  if (s.IsNoSpace()) msg += "disk full: ";
  msg += s.ToString();
  return bft::error{errc::io_error, msg};
}

} // namespace

result<std::unique_ptr<rocksdb_storage>> rocksdb_storage::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return bft::error{errc::io_error,
                      "cannot create data directory " + dir.string() + ": " + ec.message()};
  if (!std::filesystem::is_directory(dir, ec))
    return bft::error{errc::io_error, "data directory " + dir.string() + " is not a directory"};

  rocksdb::DBOptions opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.paranoid_checks = true;
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  opts.keep_log_file_num = 2;
  opts.max_manifest_file_size = 4 << 20;
  opts.max_total_wal_size = 32 << 20; // bounded WAL: flush column families that hold it back
  // Bounded memory: all memtables of the database share 8 MiB, then flush. The state family
  // rewrites a whole snapshot every checkpoint, so its old versions must reach compaction
  // soon rather than sit in large memtables (long-run RSS and disk stay flat).
  opts.db_write_buffer_size = 8 << 20;

  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.write_buffer_size = 4 << 20;
  cf_opts.max_write_buffer_number = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs{{rocksdb::kDefaultColumnFamilyName, cf_opts},
                                                   {safety_cf, cf_opts},
                                                   {blocks_cf, cf_opts},
                                                   {state_cf, cf_opts},
                                                   {meta_cf, cf_opts}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(opts, dir.string(), cfs, &handles, &raw);
  if (!s.ok()) return status_error("cannot open RocksDB store", dir, s);

  std::unique_ptr<rocksdb_storage> st(new rocksdb_storage());
  st->dir_ = dir;
  st->db_.reset(raw);
  st->default_ = handles[0];
  st->safety_ = handles[1];
  st->blocks_ = handles[2];
  st->state_ = handles[3];
  st->meta_ = handles[4];

  // Read the safety records once: after a successful open, load() cannot fail.
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  std::unique_ptr<rocksdb::Iterator> it(st->db_->NewIterator(ro, st->safety_));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    st->records_[it->key().ToString()] = to_bytes(it->value());
  if (!it->status().ok()) return status_error("cannot read safety records", dir, it->status());
  it.reset();

  auto point = st->committed();
  if (!point) return point.error();
  st->height_ = point->height;
  return st;
}

rocksdb_storage::~rocksdb_storage() {
  if (!db_) return;
  for (auto* h : {safety_, blocks_, state_, meta_, default_})
    if (h) (void)db_->DestroyColumnFamilyHandle(h);
  (void)db_->Close();
}

persisted_state rocksdb_storage::load() {
  std::lock_guard<std::mutex> guard(mtx_);
  return records_;
}

result<void> rocksdb_storage::check_writable() const {
  std::lock_guard<std::mutex> guard(mtx_);
  if (!failure_.empty())
    return bft::error{errc::io_error, "store in " + dir_.string() +
                                          " refuses writes after a failed write: " + failure_};
  return {};
}

void rocksdb_storage::mark_failed(const std::string& why) {
  std::lock_guard<std::mutex> guard(mtx_);
  if (failure_.empty()) failure_ = why;
}

bool rocksdb_storage::failed() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return !failure_.empty();
}

std::string rocksdb_storage::failure() const {
  std::lock_guard<std::mutex> guard(mtx_);
  return failure_;
}

result<void> rocksdb_storage::write(const std::vector<persist_op>& ops) {
  return write_with_entries(ops, {});
}

result<void>
rocksdb_storage::write_with_entries(const std::vector<persist_op>& ops,
                                    const std::vector<std::pair<std::uint64_t, bytes>>& entries) {
  if (auto ok = check_writable(); !ok) return ok;
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  for (const auto& op : ops) {
    if (!s.ok()) break;
    s = op.erase ? batch.Delete(safety_, slice(op.key))
                 : batch.Put(safety_, slice(op.key), slice(op.value));
  }
  const auto committed_height = height_.load();
  for (const auto& [h, e] : entries) {
    if (!s.ok()) break;
    if (h <= committed_height) continue; // applied already (and perhaps pruned since)
    s = batch.Put(blocks_, slice(height_key(h)), slice(e));
  }
  if (!s.ok()) return status_error("cannot build safety batch", dir_, s);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Write(wo, &batch);
  if (!s.ok()) {
    auto e = status_error(entries.empty() ? "synced write of safety records failed"
                                          : "synced write of safety records and entries failed",
                          dir_, s);
    mark_failed(e.message());
    return e;
  }
  std::lock_guard<std::mutex> guard(mtx_);
  for (const auto& op : ops) {
    if (op.erase)
      records_.erase(op.key);
    else
      records_[op.key] = op.value;
  }
  return {};
}

result<void> rocksdb_storage::commit(const commit_record& c) {
  if (auto ok = check_writable(); !ok) return ok;
  if (c.height <= height_)
    return bft::error{errc::malformed, "commit at height " + std::to_string(c.height) +
                                           " is not above the committed height " +
                                           std::to_string(height_.load()) + " in " + dir_.string()};
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  if (!c.entry.empty()) s = batch.Put(blocks_, slice(height_key(c.height)), slice(c.entry));
  for (const auto& op : c.state_ops) {
    if (!s.ok()) break;
    s = op.erase ? batch.Delete(state_, slice(op.key))
                 : batch.Put(state_, slice(op.key), slice(op.value));
  }
  if (s.ok()) s = batch.Put(meta_, committed_key, slice(encode_point({c.height, c.state_root})));
  if (!s.ok()) return status_error("cannot build commit batch", dir_, s);
  rocksdb::WriteOptions wo;
  wo.sync = c.sync;
  s = db_->Write(wo, &batch);
  if (!s.ok()) {
    auto e =
        status_error("synced commit at height " + std::to_string(c.height) + " failed", dir_, s);
    mark_failed(e.message());
    return e;
  }
  height_ = c.height;
  return {};
}

result<void> rocksdb_storage::install(const committed_point& point,
                                      const std::map<std::string, bytes>& state) {
  if (auto ok = check_writable(); !ok) return ok;
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  // Delete every existing state key (enumerated: the batch stays atomic and exact).
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions{}, state_));
    for (it->SeekToFirst(); it->Valid() && s.ok(); it->Next()) {
      if (state.find(it->key().ToString()) == state.end()) s = batch.Delete(state_, it->key());
    }
    if (s.ok() && !it->status().ok()) s = it->status();
  }
  for (auto i = state.begin(); i != state.end() && s.ok(); ++i)
    s = batch.Put(state_, slice(i->first), slice(i->second));
  if (s.ok()) s = batch.Put(meta_, committed_key, slice(encode_point(point)));
  if (!s.ok()) return status_error("cannot build snapshot install batch", dir_, s);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Write(wo, &batch);
  if (!s.ok()) {
    auto e = status_error(
        "synced snapshot install at height " + std::to_string(point.height) + " failed", dir_, s);
    mark_failed(e.message());
    return e;
  }
  height_ = point.height;
  return {};
}

result<std::size_t> rocksdb_storage::prune_below(std::uint64_t height) {
  if (auto ok = check_writable(); !ok) return ok.error();
  rocksdb::WriteBatch batch;
  std::size_t count = 0;
  const std::string end = height_key(height);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions{}, blocks_));
  rocksdb::Status s;
  for (it->SeekToFirst(); it->Valid() && it->key().compare(end) < 0 && s.ok(); it->Next()) {
    s = batch.Delete(blocks_, it->key());
    ++count;
  }
  if (s.ok() && !it->status().ok()) s = it->status();
  it.reset();
  if (!s.ok()) return status_error("cannot enumerate entries to prune", dir_, s);
  if (count == 0) return count;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db_->Write(wo, &batch);
  if (!s.ok()) {
    auto e = status_error("pruning entries below " + std::to_string(height) + " failed", dir_, s);
    mark_failed(e.message());
    return e;
  }
  return count;
}

result<committed_point> rocksdb_storage::committed() const {
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions{}, meta_, committed_key, &v);
  if (s.IsNotFound()) return committed_point{};
  if (!s.ok()) return status_error("cannot read the committed point", dir_, s);
  committed_point p;
  if (v.size() != 8 + p.state_root.size())
    return bft::error{errc::malformed, "committed point in " + dir_.string() + " has " +
                                           std::to_string(v.size()) + " bytes, expected 40"};
  p.height = height_of(rocksdb::Slice(v.data(), 8));
  std::copy(v.begin() + 8, v.end(), reinterpret_cast<char*>(p.state_root.data()));
  return p;
}

result<std::optional<bytes>> rocksdb_storage::entry(std::uint64_t height) const {
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions{}, blocks_, height_key(height), &v);
  if (s.IsNotFound()) return std::optional<bytes>{};
  if (!s.ok())
    return status_error("cannot read entry at height " + std::to_string(height), dir_, s);
  return std::optional<bytes>{to_bytes(v)};
}

result<std::map<std::string, bytes>> rocksdb_storage::state() const {
  std::map<std::string, bytes> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions{}, state_));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out[it->key().ToString()] = to_bytes(it->value());
  if (!it->status().ok())
    return status_error("cannot read the application state", dir_, it->status());
  return out;
}

namespace {
constexpr std::size_t max_entry_requests = 1u << 20;
}

bytes encode_entry(const committed_entry& e) {
  codec::writer w;
  w.u64(e.index);
  w.raw(e.id);
  w.count(e.requests.size(), max_entry_requests);
  for (const auto& r : e.requests) r.encode(w);
  return w.take();
}

result<committed_entry> decode_entry(byte_view b) {
  codec::reader r(b);
  committed_entry e;
  e.index = r.u64();
  e.id = r.fixed<32>();
  auto n = r.count(max_entry_requests, 8);
  for (std::size_t i = 0; i < n && r.ok(); ++i) e.requests.push_back(client_request::decode(r));
  if (auto f = r.finish(); !f) return f.error();
  return e;
}

result<void> persist_applied(rocksdb_storage& store, smr::kv_state_machine& kv,
                             const committed_entry& entry, std::uint64_t snapshot_interval,
                             bool entry_logged) {
  commit_record c;
  c.height = entry.index;
  if (!entry_logged) c.entry = encode_entry(entry);
  c.sync = !entry_logged;
  const bool snap = snapshot_interval != 0 && entry.index % snapshot_interval == 0;
  // With the entry log, the root is computed at snapshots only (each costs a pass over what
  // changed since the last one); between them the point carries a zero root, "not recorded".
  if (snap || !entry_logged) c.state_root = kv.state_root();
  if (snap) {
    c.state_ops.push_back(persist_op{kv_snapshot_key, kv.snapshot(), false});
    c.state_ops.push_back(
        persist_op{kv_snapshot_root_key, bytes(c.state_root.begin(), c.state_root.end()), false});
  }
  if (auto r = store.commit(c); !r) return r;
  if (snap && entry.index > snapshot_interval) {
    // Entries up to the previous snapshot are no longer needed to recover.
    auto p = store.prune_below(entry.index - snapshot_interval + 1);
    if (!p) return p.error();
  }
  return {};
}

result<void> recover_kv(const rocksdb_storage& store, smr::kv_state_machine& kv) {
  auto point = store.committed();
  if (!point) return point.error();
  if (point->height == 0) return {};
  auto state = store.state();
  if (!state) return state.error();
  const std::string where = " in " + store.dir().string();
  if (auto it = state->find(kv_snapshot_key); it != state->end()) {
    auto root_it = state->find(kv_snapshot_root_key);
    digest root{};
    if (root_it == state->end() || root_it->second.size() != root.size())
      return bft::error{errc::malformed, "snapshot without a valid root" + where};
    std::copy(root_it->second.begin(), root_it->second.end(), root.begin());
    if (auto r = kv.restore(it->second, root); !r)
      return bft::error{errc::malformed,
                        "stored snapshot does not restore" + where + ": " + r.error().message()};
  }
  for (std::uint64_t h = kv.applied_index() + 1; h <= point->height; ++h) {
    auto raw = store.entry(h);
    if (!raw) return raw.error();
    if (!raw->has_value())
      return bft::error{errc::malformed,
                        "committed entry " + std::to_string(h) + " is missing" + where};
    auto e = decode_entry(**raw);
    if (!e)
      return bft::error{errc::malformed, "committed entry " + std::to_string(h) + " is corrupt" +
                                             where + ": " + e.error().message()};
    if (e->index != h)
      return bft::error{errc::malformed, "committed entry " + std::to_string(h) +
                                             " carries index " + std::to_string(e->index) + where};
    (void)kv.apply(*e);
  }
  if (point->state_root != digest{} && kv.state_root() != point->state_root)
    return bft::error{errc::malformed, "state root after replay to height " +
                                           std::to_string(point->height) +
                                           " differs from the stored root" + where};
  return {};
}

result<std::uint64_t> replay_logged(rocksdb_storage& store, smr::kv_state_machine& kv,
                                    std::uint64_t snapshot_interval) {
  std::uint64_t applied = 0;
  for (;;) {
    const auto h = kv.applied_index() + 1;
    auto raw = store.entry(h);
    if (!raw) return raw.error();
    if (!raw->has_value()) return applied;
    auto e = decode_entry(**raw);
    if (!e || e->index != h)
      return bft::error{errc::malformed, "logged entry " + std::to_string(h) + " is corrupt in " +
                                             store.dir().string()};
    (void)kv.apply(*e);
    if (auto r = persist_applied(store, kv, *e, snapshot_interval, true); !r) return r.error();
    ++applied;
  }
}

} // namespace bft::actors
