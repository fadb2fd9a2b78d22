#pragma once
/// A fresh directory under the system temp directory, removed with everything in it when the
/// object goes out of scope. Test helper; not thread-safe.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace bft::durability::test {

class temp_dir {
public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bft-durability-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

private:
  std::filesystem::path path_;
};

} // namespace bft::durability::test
