#include "src/common/logging.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "src/common/json_text.h"
#include "yaml-cpp/yaml.h"

namespace protomesh::logging {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

// Points file descriptor 2 at a temp file for the object's lifetime, so the
// real stderr logger installed by Setup() can be read back.
class StderrCapture {
 public:
  StderrCapture()
      : path_(::testing::TempDir() + "/stderr_capture_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()) {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  ~StderrCapture() { Restore(); }

  // Restores stderr and returns the captured lines.
  std::vector<std::string> Lines() {
    Restore();
    std::ifstream in(path_);
    std::stringstream contents;
    contents << in.rdbuf();
    std::vector<std::string> lines =
        absl::StrSplit(contents.str(), '\n', absl::SkipEmpty());
    return lines;
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }

  std::string path_;
  int saved_ = -1;
};

absl::Time ParseTimestamp(const std::string& text) {
  absl::Time time;
  std::string error;
  EXPECT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E3SZ", text,
                              absl::UTCTimeZone(), &time, &error))
      << text << ": " << error;
  return time;
}

void ExpectRecent(absl::Time time) {
  EXPECT_LT(absl::AbsDuration(absl::Now() - time), absl::Minutes(1));
}

TEST(LoggingTest, TextFormat) {
  StderrCapture capture;
  ASSERT_TRUE(logging::Setup("protomesh-test", "text", "info").ok());
  spdlog::info("hello {}", "world");
  spdlog::debug("hidden below info");
  spdlog::warn("careful");
  const std::vector<std::string> lines = capture.Lines();
  ASSERT_THAT(lines, SizeIs(2));

  const std::regex pattern(
      R"(^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\w+) \[protomesh-test\] (.*)$)");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(lines[0], match, pattern)) << lines[0];
  ExpectRecent(ParseTimestamp(match[1]));
  EXPECT_EQ(match[2], "info");
  EXPECT_EQ(match[3], "hello world");
  ASSERT_TRUE(std::regex_match(lines[1], match, pattern)) << lines[1];
  EXPECT_EQ(match[2], "warn");
  EXPECT_EQ(match[3], "careful");
}

TEST(LoggingTest, JsonFormatIsOneEscapedObjectPerLine) {
  StderrCapture capture;
  ASSERT_TRUE(logging::Setup("protomesh-test", "json", "debug").ok());
  const std::string message = "say \"hi\"\n\tback\\slash \x01 caf\xc3\xa9";
  spdlog::debug("{}", message);
  spdlog::trace("hidden below debug");
  spdlog::error("bad byte \xff here");
  const std::vector<std::string> lines = capture.Lines();
  ASSERT_THAT(lines, SizeIs(2));

  const std::regex pattern(
      R"re(^\{"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)","level":"(\w+)","logger":"protomesh-test","msg":(".*")\}$)re");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(lines[0], match, pattern)) << lines[0];
  ExpectRecent(ParseTimestamp(match[1]));
  EXPECT_EQ(match[2], "debug");
  EXPECT_EQ(match[3],
            R"("say \"hi\"\n\tback\\slash \u0001 caf)"
            "\xc3\xa9\"");

  // A JSON parser (yaml-cpp reads JSON) gets the original message back.
  const YAML::Node parsed = YAML::Load(lines[0]);
  EXPECT_EQ(parsed["msg"].as<std::string>(), message);
  EXPECT_EQ(parsed["logger"].as<std::string>(), "protomesh-test");
  EXPECT_EQ(parsed["level"].as<std::string>(), "debug");

  ASSERT_TRUE(std::regex_match(lines[1], match, pattern)) << lines[1];
  EXPECT_EQ(match[2], "error");
  EXPECT_EQ(match[3], R"("bad byte \ufffd here")");
}

TEST(LoggingTest, RejectsUnknownFormat) {
  const absl::Status status = logging::Setup("protomesh-test", "xml", "info");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"xml\""));
  EXPECT_THAT(status.message(), HasSubstr("text, json"));
}

TEST(LoggingTest, RejectsUnknownLevel) {
  const absl::Status status = logging::Setup("protomesh-test", "text", "loud");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"loud\""));
  EXPECT_THAT(status.message(), HasSubstr("trace, debug, info, warn, error"));
}

TEST(JsonStringTest, EscapesAndValidatesUtf8) {
  const auto JsonString = [](std::string_view text) { return json::Quote(text); };
  EXPECT_EQ(JsonString(""), R"("")");
  EXPECT_EQ(JsonString("plain"), R"("plain")");
  EXPECT_EQ(JsonString("q\"b\\n\nr\rt\t"), R"("q\"b\\n\nr\rt\t")");
  EXPECT_EQ(JsonString(std::string("nul\0x", 5)), R"("nul\u0000x")");
  EXPECT_EQ(JsonString("\x1f"), R"("\u001f")");
  EXPECT_EQ(JsonString("\xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(JsonString("\xc3"), R"("\ufffd")");          // Truncated.
  EXPECT_EQ(JsonString("\xc0\xaf"), R"("\ufffd\ufffd")");  // Overlong.
  EXPECT_EQ(JsonString("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // Surrogate.
}

}  // namespace
}  // namespace protomesh::logging
