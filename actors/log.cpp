#include "actors/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace bft::actors {

namespace {
std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}
spdlog::level::level_enum& current_level() {
  static spdlog::level::level_enum l = spdlog::level::info;
  return l;
}
} // namespace

std::shared_ptr<spdlog::logger> component_logger(const std::string& name) {
  std::lock_guard<std::mutex> guard(log_mutex());
  if (auto l = spdlog::get(name)) return l;
  auto l = spdlog::stderr_color_mt(name);
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  l->set_level(current_level());
  return l;
}

void set_log_level(const std::string& level) {
  std::lock_guard<std::mutex> guard(log_mutex());
  current_level() = spdlog::level::from_str(level);
  spdlog::set_level(current_level());
}

bool rate_limiter::allow(const std::string& key, std::uint64_t& suppressed) {
  auto now = std::chrono::steady_clock::now();
  auto& s = slots_[key];
  if (s.used && now - s.last < interval_) {
    ++s.held;
    return false;
  }
  suppressed = s.held;
  s.held = 0;
  s.last = now;
  s.used = true;
  return true;
}

} // namespace bft::actors
