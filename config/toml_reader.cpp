#include "config/toml_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace bft::config::detail {

std::string_view type_name(toml::node_type t) {
  switch (t) {
  case toml::node_type::none: return "nothing";
  case toml::node_type::table: return "a table";
  case toml::node_type::array: return "an array";
  case toml::node_type::string: return "a string";
  case toml::node_type::integer: return "an integer";
  case toml::node_type::floating_point: return "a float";
  case toml::node_type::boolean: return "a boolean";
  case toml::node_type::date: return "a date";
  case toml::node_type::time: return "a time";
  case toml::node_type::date_time: return "a date-time";
  }
  return "an unknown type";
}

result<std::string> read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const auto name = path.string();
  auto fail = [&](std::string_view what) {
    std::string msg = name;
    msg.append(": ").append(what);
    return error{errc::io_error, std::move(msg)};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return fail(std::string("cannot read: ") + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      ::close(fd);
      return fail("larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return text;
}

result<toml::table> parse_toml(std::string_view text, const std::string& file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    std::string msg = file;
    msg.append(":")
        .append(std::to_string(e.source().begin.line))
        .append(":")
        .append(std::to_string(e.source().begin.column))
        .append(": not valid TOML: ")
        .append(e.description());
    return error{errc::invalid_config, std::move(msg)};
  }
}

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else
      out += c;
  }
  out += '"';
  return out;
}

bft::error table_reader::fail(std::string_view key, std::string_view what) const {
  std::string msg = file_;
  msg.append(": ").append(prefix_).append(key).append(": ").append(what);
  return error{errc::invalid_config, std::move(msg)};
}

const toml::node* table_reader::node(std::string_view key) {
  known_.emplace(key);
  return table_.get(key);
}

result<std::string> table_reader::string(std::string_view key) {
  auto v = optional_string(key);
  if (!v) return v.error();
  if (!*v) return fail(key, "missing required field");
  return std::move(**v);
}

result<std::optional<std::string>> table_reader::optional_string(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return std::optional<std::string>{};
  const auto* s = n->as_string();
  if (s == nullptr)
    return fail(key, std::string("expected a string, found ").append(type_name(n->type())));
  return std::optional<std::string>{s->get()};
}

result<std::uint64_t> table_reader::integer(std::string_view key, std::uint64_t min,
                                            std::uint64_t max,
                                            std::optional<std::uint64_t> fallback) {
  const auto* n = node(key);
  if (n == nullptr) {
    if (fallback) return *fallback;
    return fail(key, "missing required field");
  }
  const auto* i = n->as_integer();
  if (i == nullptr)
    return fail(key, std::string("expected an integer, found ").append(type_name(n->type())));
  auto v = i->get();
  if (v < 0 || static_cast<std::uint64_t>(v) < min) {
    if (min <= 1) return fail(key, min == 1 ? "must be > 0" : "must be >= 0");
    return fail(key, "must be at least " + std::to_string(min) + ", found " + std::to_string(v));
  }
  if (static_cast<std::uint64_t>(v) > max)
    return fail(key, "must be at most " + std::to_string(max) + ", found " + std::to_string(v));
  return static_cast<std::uint64_t>(v);
}

result<bool> table_reader::boolean(std::string_view key, bool fallback) {
  const auto* n = node(key);
  if (n == nullptr) return fallback;
  const auto* b = n->as_boolean();
  if (b == nullptr)
    return fail(key, std::string("expected a boolean, found ").append(type_name(n->type())));
  return b->get();
}

result<std::vector<std::string>> table_reader::string_array(std::string_view key) {
  std::vector<std::string> out;
  const auto* n = node(key);
  if (n == nullptr) return out;
  const auto* a = n->as_array();
  if (a == nullptr)
    return fail(key,
                std::string("expected an array of strings, found ").append(type_name(n->type())));
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto* s = (*a)[i].as_string();
    if (s == nullptr)
      return fail(std::string(key) + "[" + std::to_string(i) + "]",
                  std::string("expected a string, found ").append(type_name((*a)[i].type())));
    out.push_back(s->get());
  }
  return out;
}

result<void> table_reader::no_unknown_fields() const {
  const toml::key* first = nullptr;
  for (auto&& [k, v] : table_) {
    if (known_.count(k.str()) != 0) continue;
    if (first == nullptr || k.source().begin < first->source().begin) first = &k;
  }
  if (first != nullptr) return fail(first->str(), "unknown field");
  return {};
}

} // namespace bft::config::detail
