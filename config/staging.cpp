#include "config/staging.hpp"

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace bft::config::detail {
namespace {

namespace fs = std::filesystem;

bft::error bad(std::string what) { return error{errc::invalid_config, std::move(what)}; }
bft::error io(const fs::path& p, std::string_view what, int e) {
  std::string msg = p.string();
  msg.append(": ").append(what).append(": ").append(std::strerror(e));
  return error{errc::io_error, std::move(msg)};
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

/// Moves `from` to `to` unless `to` exists (files and folders alike).
int move_no_replace(const fs::path& from, const fs::path& to) {
  return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
}

} // namespace

fs::path normalised_dir(const fs::path& dir_in) {
  fs::path dir = dir_in.lexically_normal();
  if (!dir.has_filename() && dir.has_relative_path()) dir = dir.parent_path(); // "net/" -> "net"
  return dir;
}

result<fs::path> write_staged(const fs::path& dir_in, const stage_fn& fill) {
  if (dir_in.empty()) return bad("dir: must not be empty");
  const fs::path dir = normalised_dir(dir_in);
  const std::string dir_name = dir_in.string();

  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (ec) return io(dir_in, "cannot inspect", ec.value());
  if (exists && !fs::is_directory(dir, ec))
    return bad(dir_name + ": exists and is not a directory");

  // Stage: beside `dir` when it does not exist yet (then one rename publishes everything),
  // else inside it (then each entry is moved into place without replacing anything).
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  std::vector<fs::path> created_parents;
  if (!exists) {
    for (auto p = parent; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
      created_parents.push_back(p);
      if (!p.has_parent_path() || p.parent_path() == p) break;
    }
    fs::create_directories(parent, ec);
    if (ec) return io(parent, "cannot create directory", ec.value());
  }
  auto remove_created_parents = [&] {
    for (const auto& p : created_parents) fs::remove(p, ec); // innermost first; only if empty
  };
  const fs::path stage_base = exists ? dir : parent;
  std::string tmpl = (stage_base / ".bft-init-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    int e = errno;
    remove_created_parents();
    return io(stage_base, "cannot create a temporary directory", e);
  }
  const fs::path stage = tmpl;
  auto abandon = [&](bft::error err) -> result<fs::path> {
    // Name the file the user asked for, not its staged copy.
    const std::string staged = stage.string();
    for (auto at = err.detail.find(staged); at != std::string::npos;
         at = err.detail.find(staged, at + dir.string().size()))
      err.detail.replace(at, staged.size(), dir.string());
    fs::remove_all(stage, ec);
    remove_created_parents();
    return err;
  };

  auto names = fill(stage);
  if (!names) return abandon(names.error());
  sync_dir(stage);

  if (!exists) {
    if (::rename(stage.c_str(), dir.c_str()) != 0)
      return abandon(io(dir_in, "cannot create", errno));
    sync_dir(parent);
    return dir;
  }
  std::vector<fs::path> placed;
  for (const auto& name : *names) {
    if (move_no_replace(stage / name, dir / name) != 0) {
      int e = errno;
      for (const auto& p : placed) move_no_replace(dir / p, stage / p);
      if (e == EEXIST)
        return abandon(bad((dir / name).string() + ": already exists; refusing to replace it"));
      return abandon(io(dir / name, "cannot create", e));
    }
    placed.push_back(name);
  }
  fs::remove_all(stage, ec);
  sync_dir(dir);
  return dir;
}

} // namespace bft::config::detail
