#include "src/common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <iterator>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "src/common/json_text.h"
#include "src/common/string_view_compat.h"

namespace protomesh::logging {
namespace {

using ::protomesh::internal::ToAbsl;

// Our own level names, so "warn" reads the same in --log-level and output
// (spdlog's own name for it is "warning").
absl::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

void AppendTimestamp(std::chrono::system_clock::time_point time,
                     spdlog::memory_buf_t& dest) {
  const auto since_epoch = time.time_since_epoch();
  const std::time_t seconds =
      std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch)
          .count() %
      1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  fmt::format_to(std::back_inserter(dest),
                 "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis);
}

class LevelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const absl::string_view name = LevelName(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":\"";
    dest.append(line.data(), line.data() + line.size());
    AppendTimestamp(msg.time, dest);
    line = absl::StrCat(
        "\",\"level\":\"", LevelName(msg.level), "\",\"logger\":",
        json::Quote({msg.logger_name.data(), msg.logger_name.size()}),
        ",\"msg\":",
        json::Quote({msg.payload.data(), msg.payload.size()}), "}\n");
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

absl::StatusOr<std::unique_ptr<spdlog::formatter>> MakeFormatter(
    std::string_view format) {
  if (format == "json") return std::make_unique<JsonFormatter>();
  if (format == "text") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(
        spdlog::pattern_time_type::utc);
    formatter->add_flag<LevelFlag>('*').set_pattern(
        "%Y-%m-%dT%H:%M:%S.%eZ %* [%n] %v");
    return formatter;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "invalid log format \"", ToAbsl(format), "\": expected one of text, json"));
}

absl::StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view level) {
  for (spdlog::level::level_enum candidate :
       {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
        spdlog::level::warn, spdlog::level::err}) {
    if (ToAbsl(level) == LevelName(candidate)) return candidate;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("invalid log level \"", ToAbsl(level),
                   "\": expected one of trace, debug, info, warn, error"));
}

}  // namespace

absl::Status Setup(std::string_view program, std::string_view format,
                   std::string_view level) {
  absl::StatusOr<std::unique_ptr<spdlog::formatter>> formatter =
      MakeFormatter(format);
  if (!formatter.ok()) return formatter.status();
  absl::StatusOr<spdlog::level::level_enum> parsed_level = ParseLevel(level);
  if (!parsed_level.ok()) return parsed_level.status();

  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(*std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(std::string(program), sink);
  logger->set_level(*parsed_level);
  // stderr is unbuffered in spirit: a line must be out before a crash.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace protomesh::logging
