#include "src/common/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace protomesh::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

// One variable of every supported type, with distinct defaults.
struct Settings {
  std::string listen = "0.0.0.0:50051";
  bool verbose = false;
  int pool_size = 10;
  int64_t max_bytes = int64_t{1} << 40;
  double ratio = 0.5;
  absl::Duration timeout = absl::Seconds(30);
};

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() : flags_("protomesh-test", "Does test things.") {
    flags_.Add("listen", &s_.listen, "address to listen on");
    flags_.Add("verbose", &s_.verbose, "log more");
    flags_.Add("pool-size", &s_.pool_size, "connections in the pool");
    flags_.Add("max-bytes", &s_.max_bytes, "largest payload");
    flags_.Add("ratio", &s_.ratio, "sampling ratio");
    flags_.Add("timeout", &s_.timeout, "request timeout");
  }

  absl::Status Parse(std::vector<std::string> args, const Env& env = {}) {
    args.insert(args.begin(), "protomesh-test");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    return flags_.Parse(static_cast<int>(argv.size()), argv.data(), env);
  }

  // A file in the test's temp dir; the name keeps tests apart.
  std::string WriteFile(const std::string& name, const std::string& contents) {
    const std::string path =
        ::testing::TempDir() + "/" +
        ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
        name;
    std::ofstream(path) << contents;
    return path;
  }

  void ExpectDefaults() {
    const Settings defaults;
    EXPECT_EQ(s_.listen, defaults.listen);
    EXPECT_EQ(s_.verbose, defaults.verbose);
    EXPECT_EQ(s_.pool_size, defaults.pool_size);
    EXPECT_EQ(s_.max_bytes, defaults.max_bytes);
    EXPECT_EQ(s_.ratio, defaults.ratio);
    EXPECT_EQ(s_.timeout, defaults.timeout);
  }

  void ExpectSourceOfAll(const std::string& source) {
    for (const char* name :
         {"listen", "verbose", "pool-size", "max-bytes", "ratio", "timeout"}) {
      EXPECT_EQ(flags_.SourceOf(name), source) << name;
    }
  }

  Settings s_;
  Flags flags_;
};

TEST(EnvironmentNameTest, UpperSnakeCase) {
  EXPECT_EQ(EnvironmentName("grpc-listen"), "GRPC_LISTEN");
  EXPECT_EQ(EnvironmentName("config"), "CONFIG");
  EXPECT_EQ(EnvironmentName("database-pool-size"), "DATABASE_POOL_SIZE");
}

TEST_F(ConfigTest, NothingGivenKeepsDefaults) {
  ASSERT_TRUE(Parse({}).ok());
  ExpectDefaults();
  ExpectSourceOfAll("default");
  EXPECT_FALSE(flags_.help_requested());
  EXPECT_TRUE(flags_.positional().empty());
}

TEST_F(ConfigTest, EveryFlagSpelling) {
  ASSERT_TRUE(Parse({"--listen=127.0.0.1:1", "--pool-size", "3",
                     "-max-bytes", "77", "-ratio=0.25", "--timeout=1h30m"})
                  .ok());
  EXPECT_EQ(s_.listen, "127.0.0.1:1");
  EXPECT_EQ(s_.pool_size, 3);
  EXPECT_EQ(s_.max_bytes, 77);
  EXPECT_EQ(s_.ratio, 0.25);
  EXPECT_EQ(s_.timeout, absl::Hours(1) + absl::Minutes(30));
}

TEST_F(ConfigTest, BooleanFlagForms) {
  ASSERT_TRUE(Parse({"--verbose"}).ok());
  EXPECT_TRUE(s_.verbose);
  ASSERT_TRUE(Parse({"--verbose=false"}).ok());
  EXPECT_FALSE(s_.verbose);
  ASSERT_TRUE(Parse({"-verbose=true"}).ok());
  EXPECT_TRUE(s_.verbose);
  ASSERT_TRUE(Parse({"--no-verbose"}, {{"VERBOSE", "true"}}).ok());
  EXPECT_FALSE(s_.verbose);
  EXPECT_EQ(flags_.SourceOf("verbose"), "flag");
}

TEST_F(ConfigTest, BooleanFlagDoesNotTakeTheNextArgument) {
  ASSERT_TRUE(Parse({"--verbose", "false"}).ok());
  EXPECT_TRUE(s_.verbose);
  EXPECT_THAT(flags_.positional(), ElementsAre("false"));
}

TEST_F(ConfigTest, NegativeNumbersAsSeparateValues) {
  ASSERT_TRUE(Parse({"--pool-size", "-5", "--ratio=-1.5"}).ok());
  EXPECT_EQ(s_.pool_size, -5);
  EXPECT_EQ(s_.ratio, -1.5);
}

TEST_F(ConfigTest, DurationsParseLikeGo) {
  for (const auto& [text, expected] :
       std::vector<std::pair<std::string, absl::Duration>>{
           {"250ms", absl::Milliseconds(250)},
           {"30s", absl::Seconds(30)},
           {"1h30m", absl::Minutes(90)},
           {"0", absl::ZeroDuration()}}) {
    ASSERT_TRUE(Parse({"--timeout", text}).ok()) << text;
    EXPECT_EQ(s_.timeout, expected) << text;
  }
}

TEST_F(ConfigTest, PositionalArgumentsAndDoubleDash) {
  ASSERT_TRUE(Parse({"first", "--pool-size=2", "-", "second", "--",
                     "--pool-size", "9"})
                  .ok());
  EXPECT_EQ(s_.pool_size, 2);
  EXPECT_THAT(flags_.positional(),
              ElementsAre("first", "-", "second", "--pool-size", "9"));
}

TEST_F(ConfigTest, EnvironmentSetsEveryType) {
  ASSERT_TRUE(Parse({}, {{"LISTEN", "env:1"},
                         {"VERBOSE", "true"},
                         {"POOL_SIZE", "20"},
                         {"MAX_BYTES", "2000000000000"},
                         {"RATIO", "0.75"},
                         {"TIMEOUT", "250ms"}})
                  .ok());
  EXPECT_EQ(s_.listen, "env:1");
  EXPECT_TRUE(s_.verbose);
  EXPECT_EQ(s_.pool_size, 20);
  EXPECT_EQ(s_.max_bytes, 2000000000000);
  EXPECT_EQ(s_.ratio, 0.75);
  EXPECT_EQ(s_.timeout, absl::Milliseconds(250));
  ExpectSourceOfAll("env");
}

TEST_F(ConfigTest, UnrelatedEnvironmentVariablesAreIgnored) {
  ASSERT_TRUE(
      Parse({}, {{"HOME", "/root"}, {"PATH", "/bin"}, {"listen", "lower"}})
          .ok());
  ExpectDefaults();
}

TEST_F(ConfigTest, PrecedenceFlagThenEnvThenFileThenDefault) {
  const std::string file = WriteFile("settings.toml", R"(
listen = "file:1"
verbose = false
pool-size = 30
max_bytes = 3000
ratio = 0.125
timeout = "3s"
)");
  const Env env = {{"LISTEN", "env:1"},  {"VERBOSE", "true"},
                   {"POOL_SIZE", "20"},  {"MAX_BYTES", "2000"},
                   {"RATIO", "0.25"},    {"TIMEOUT", "2s"},
                   {"CONFIG", file}};
  const std::vector<std::string> all_flags = {
      "--listen=flag:1", "--no-verbose", "--pool-size=10", "--max-bytes=1000",
      "--ratio=0.0625",  "--timeout=1s"};

  ASSERT_TRUE(Parse(all_flags, env).ok());
  EXPECT_EQ(s_.listen, "flag:1");
  EXPECT_FALSE(s_.verbose);
  EXPECT_EQ(s_.pool_size, 10);
  EXPECT_EQ(s_.max_bytes, 1000);
  EXPECT_EQ(s_.ratio, 0.0625);
  EXPECT_EQ(s_.timeout, absl::Seconds(1));
  ExpectSourceOfAll("flag");

  s_ = Settings();
  ASSERT_TRUE(Parse({}, env).ok());
  EXPECT_EQ(s_.listen, "env:1");
  EXPECT_TRUE(s_.verbose);
  EXPECT_EQ(s_.pool_size, 20);
  EXPECT_EQ(s_.max_bytes, 2000);
  EXPECT_EQ(s_.ratio, 0.25);
  EXPECT_EQ(s_.timeout, absl::Seconds(2));
  ExpectSourceOfAll("env");

  s_ = Settings();
  s_.verbose = true;  // So that the file's false is visible.
  ASSERT_TRUE(Parse({}, {{"CONFIG", file}}).ok());
  EXPECT_EQ(s_.listen, "file:1");
  EXPECT_FALSE(s_.verbose);
  EXPECT_EQ(s_.pool_size, 30);
  EXPECT_EQ(s_.max_bytes, 3000);
  EXPECT_EQ(s_.ratio, 0.125);
  EXPECT_EQ(s_.timeout, absl::Seconds(3));
  ExpectSourceOfAll("file");
  EXPECT_EQ(flags_.SourceOf("config"), "env");
}

TEST_F(ConfigTest, DescribeSourceNamesTheSettingAsItWasGiven) {
  const std::string file = WriteFile("describe.toml", "max_bytes = 5\n");
  ASSERT_TRUE(Parse({"--listen=x:1"}, {{"POOL_SIZE", "2"}, {"CONFIG", file}}).ok());
  EXPECT_EQ(flags_.DescribeSource("listen"), "--listen");
  EXPECT_EQ(flags_.DescribeSource("pool-size"), "$POOL_SIZE");
  EXPECT_EQ(flags_.DescribeSource("max-bytes"), "max-bytes in the config file");
  EXPECT_EQ(flags_.DescribeSource("ratio"), "ratio");
}

TEST_F(ConfigTest, ConfigFlagOverridesConfigEnv) {
  const std::string from_flag = WriteFile("a.toml", "pool-size = 1\n");
  const std::string from_env = WriteFile("b.toml", "pool-size = 2\n");
  ASSERT_TRUE(Parse({"--config", from_flag}, {{"CONFIG", from_env}}).ok());
  EXPECT_EQ(s_.pool_size, 1);
  EXPECT_EQ(flags_.SourceOf("config"), "flag");
}

TEST_F(ConfigTest, TomlAcceptsDashedAndUnderscoredKeys) {
  const std::string file = WriteFile("keys.toml", R"(
pool-size = 4
max_bytes = 5
)");
  ASSERT_TRUE(Parse({"--config=" + file}).ok());
  EXPECT_EQ(s_.pool_size, 4);
  EXPECT_EQ(s_.max_bytes, 5);
}

TEST_F(ConfigTest, TomlStringsAndIntegersConvertWhereSensible) {
  const std::string file = WriteFile("typed.toml", R"(
pool-size = "6"
ratio = 2
verbose = "yes"
)");
  ASSERT_TRUE(Parse({"--config", file}).ok());
  EXPECT_EQ(s_.pool_size, 6);
  EXPECT_EQ(s_.ratio, 2.0);
  EXPECT_TRUE(s_.verbose);
}

TEST_F(ConfigTest, YamlAcceptsDashedAndUnderscoredKeys) {
  const std::string file = WriteFile("settings.yaml", R"(
listen: "yaml:1"
verbose: true
pool_size: 7
max-bytes: 8
ratio: 0.5e1
timeout: 1m
)");
  ASSERT_TRUE(Parse({"-config", file}).ok());
  EXPECT_EQ(s_.listen, "yaml:1");
  EXPECT_TRUE(s_.verbose);
  EXPECT_EQ(s_.pool_size, 7);
  EXPECT_EQ(s_.max_bytes, 8);
  EXPECT_EQ(s_.ratio, 5.0);
  EXPECT_EQ(s_.timeout, absl::Minutes(1));
  ExpectSourceOfAll("file");
}

TEST_F(ConfigTest, YmlAndJsonExtensions) {
  ASSERT_TRUE(Parse({"--config", WriteFile("s.yml", "pool-size: 11\n")}).ok());
  EXPECT_EQ(s_.pool_size, 11);
  ASSERT_TRUE(Parse({"--config", WriteFile("s.json",
                                           R"({"pool_size": 12,
                                              "listen": "json:1",
                                              "verbose": true})")})
                  .ok());
  EXPECT_EQ(s_.pool_size, 12);
  EXPECT_EQ(s_.listen, "json:1");
  EXPECT_TRUE(s_.verbose);
}

TEST_F(ConfigTest, EmptyYamlFileSetsNothing) {
  ASSERT_TRUE(Parse({"--config", WriteFile("empty.yaml", "")}).ok());
  ExpectDefaults();
}

// --- Errors: each names the setting, the source and what was expected. ---

TEST_F(ConfigTest, BadEnvValueNamesSettingEnvAndExpectation) {
  const absl::Status status = Parse({}, {{"POOL_SIZE", "abc"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "invalid value \"abc\" for --pool-size (from env POOL_SIZE): "
            "expected an integer");
}

TEST_F(ConfigTest, BadFlagValuesForEveryType) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--pool-size=abc"},
       "invalid value \"abc\" for --pool-size (from flag): expected an "
       "integer"},
      {{"--pool-size", "99999999999"},
       "invalid value \"99999999999\" for --pool-size (from flag): expected "
       "an integer"},
      {{"--max-bytes=1.5"},
       "invalid value \"1.5\" for --max-bytes (from flag): expected an "
       "integer"},
      {{"--ratio=half"},
       "invalid value \"half\" for --ratio (from flag): expected a number"},
      {{"--verbose=maybe"},
       "invalid value \"maybe\" for --verbose (from flag): expected true or "
       "false"},
      {{"--timeout=30"},
       "invalid value \"30\" for --timeout (from flag): expected a duration "
       "such as 250ms, 30s or 1h30m"},
  };
  for (const auto& [args, message] : cases) {
    const absl::Status status = Parse(args);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << args[0];
    EXPECT_EQ(status.message(), message);
  }
}

TEST_F(ConfigTest, FailedParseLeavesDefaults) {
  EXPECT_FALSE(Parse({"--pool-size=3", "--listen=x", "--ratio=bad"}).ok());
  ExpectDefaults();
}

TEST_F(ConfigTest, UnknownFlag) {
  const absl::Status status = Parse({"--bogus=1"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // The program adds the --help hint (deploy_test checks every daemon's).
  EXPECT_EQ(status.message(), "unknown flag --bogus");
}

TEST_F(ConfigTest, NegationOnlyForBooleans) {
  const absl::Status status = Parse({"--no-pool-size"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown flag --no-pool-size"));
  EXPECT_THAT(Parse({"--no-verbose=true"}).message(),
              HasSubstr("--no-verbose takes no value"));
}

TEST_F(ConfigTest, FlagWithoutValue) {
  const absl::Status status = Parse({"--pool-size"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "flag --pool-size needs a value");
}

TEST_F(ConfigTest, BadFlagSyntax) {
  EXPECT_THAT(Parse({"---pool-size=1"}).message(),
              HasSubstr("bad flag syntax: ---pool-size=1"));
}

TEST_F(ConfigTest, UnknownKeyInFile) {
  const std::string file = WriteFile("unknown.toml", "pool-size = 1\nbogus = 2\n");
  const absl::Status status = Parse({"--config", file});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("unknown setting \"bogus\""));
  EXPECT_THAT(status.message(), HasSubstr(file));
}

TEST_F(ConfigTest, ConfigKeyInsideFileIsUnknown) {
  const std::string file = WriteFile("self.yaml", "config: other.yaml\n");
  EXPECT_THAT(Parse({"--config", file}).message(),
              HasSubstr("unknown setting \"config\""));
}

TEST_F(ConfigTest, WrongTypesInToml) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"pool-size = \"ten\"\n",
       "invalid value \"ten\" for --pool-size (from file PATH): expected an "
       "integer"},
      {"pool_size = 1.5\n",
       "invalid value \"1.5\" for --pool-size (from file PATH): expected an "
       "integer"},
      {"listen = 5\n",
       "invalid value \"5\" for --listen (from file PATH): expected a string"},
      {"verbose = 1\n",
       "invalid value \"1\" for --verbose (from file PATH): expected true or "
       "false"},
      {"timeout = 30\n",
       "invalid value \"30\" for --timeout (from file PATH): expected a "
       "duration such as 250ms, 30s or 1h30m"},
      {"pool-size = 9999999999\n",
       "invalid value \"9999999999\" for --pool-size (from file PATH): "
       "expected an integer"},
  };
  int n = 0;
  for (const auto& [contents, message] : cases) {
    const std::string file =
        WriteFile("wrong" + std::to_string(n++) + ".toml", contents);
    const absl::Status status = Parse({"--config", file});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << contents;
    std::string expected = message;
    expected.replace(expected.find("PATH"), 4, file);
    EXPECT_EQ(status.message(), expected);
  }
}

TEST_F(ConfigTest, WrongTypeInYaml) {
  const std::string file = WriteFile("wrong.yaml", "ratio: lots\n");
  const absl::Status status = Parse({}, {{"CONFIG", file}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "invalid value \"lots\" for --ratio (from file " +
                                  file + "): expected a number");
}

TEST_F(ConfigTest, NestedValuesAreRejected) {
  const std::string toml = WriteFile("nested.toml", "[database]\npool = 1\n");
  EXPECT_THAT(Parse({"--config", toml}).message(),
              HasSubstr("key \"database\" holds a table"));
  const std::string yaml = WriteFile("nested.yaml", "listen:\n  - a\n  - b\n");
  EXPECT_THAT(Parse({"--config", yaml}).message(),
              HasSubstr("key \"listen\" holds a list"));
}

TEST_F(ConfigTest, SameSettingTwiceInFile) {
  const std::string file =
      WriteFile("twice.yaml", "pool-size: 1\npool_size: 2\n");
  EXPECT_THAT(Parse({"--config", file}).message(),
              HasSubstr("setting pool-size is set twice in config file " + file));
}

TEST_F(ConfigTest, MissingFileNamesPathAndWhereItCameFrom) {
  const std::string missing = ::testing::TempDir() + "/does-not-exist.toml";
  absl::Status status = Parse({"--config", missing});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot read config file " + missing +
                                          " (from flag --config)"));
  EXPECT_THAT(status.message(), HasSubstr("No such file"));

  status = Parse({}, {{"CONFIG", missing}});
  EXPECT_THAT(status.message(), HasSubstr("(from env CONFIG)"));
}

TEST_F(ConfigTest, UnsupportedExtension) {
  const std::string file = WriteFile("settings.ini", "pool-size=1\n");
  const absl::Status status = Parse({"--config", file});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(file));
  EXPECT_THAT(status.message(), HasSubstr("expected .toml, .yaml, .yml or .json"));
}

TEST_F(ConfigTest, SyntaxErrorsInFiles) {
  const std::string toml = WriteFile("broken.toml", "pool-size = = 1\n");
  absl::Status status = Parse({"--config", toml});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot parse TOML config file " + toml));

  const std::string yaml = WriteFile("broken.yaml", "pool-size: [1\n");
  status = Parse({"--config", yaml});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot parse config file " + yaml));

  const std::string scalar = WriteFile("scalar.yaml", "just a string\n");
  EXPECT_THAT(Parse({"--config", scalar}).message(),
              HasSubstr("expected a mapping of setting names to values"));
}

// --- Help. ---

TEST_F(ConfigTest, HelpIsRequestedAndSetsNothing) {
  ASSERT_TRUE(Parse({"--pool-size=3", "--help"}, {{"RATIO", "0.1"}}).ok());
  EXPECT_TRUE(flags_.help_requested());
  ExpectDefaults();

  ASSERT_TRUE(Parse({"-h"}).ok());
  EXPECT_TRUE(flags_.help_requested());
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_FALSE(flags_.help_requested());
}

TEST_F(ConfigTest, VersionIsRequestedAndSetsNothingAndIsNoSetting) {
  ASSERT_TRUE(Parse({"--pool-size=3", "--version"}, {{"RATIO", "0.1"}}).ok());
  EXPECT_TRUE(flags_.version_requested());
  EXPECT_FALSE(flags_.help_requested());
  ExpectDefaults();
  // Not read from the environment: VERSION is no setting.
  ASSERT_TRUE(Parse({}, {{"VERSION", "1"}}).ok());
  EXPECT_FALSE(flags_.version_requested());
  EXPECT_THAT(flags_.HelpText(), HasSubstr("\n  --version  show the version and exit\n"));
  EXPECT_THAT(flags_.HelpText(), ::testing::Not(HasSubstr("(env VERSION)")));
}

TEST_F(ConfigTest, HelpTextListsEverySetting) {
  s_.timeout = absl::Minutes(90);  // Defaults are the values before Parse().
  const std::string help = flags_.HelpText();
  EXPECT_THAT(help, HasSubstr("Usage: protomesh-test"));
  EXPECT_THAT(help, HasSubstr("Does test things."));
  EXPECT_THAT(help, HasSubstr("--config (env CONFIG)  config file"));
  EXPECT_THAT(help, HasSubstr("--listen (env LISTEN)  address to listen on  "
                              "[default: 0.0.0.0:50051]"));
  EXPECT_THAT(help, HasSubstr("--verbose (env VERBOSE)  log more  "
                              "[default: false]"));
  EXPECT_THAT(help, HasSubstr("--pool-size (env POOL_SIZE)  connections in the "
                              "pool  [default: 10]"));
  EXPECT_THAT(help, HasSubstr("--max-bytes (env MAX_BYTES)  largest payload  "
                              "[default: 1099511627776]"));
  EXPECT_THAT(help, HasSubstr("--ratio (env RATIO)  sampling ratio  "
                              "[default: 0.5]"));
  EXPECT_THAT(help, HasSubstr("--timeout (env TIMEOUT)  request timeout  "
                              "[default: 1h30m]"));
  EXPECT_THAT(help, HasSubstr("--help"));
}

TEST_F(ConfigTest, HelpTextShowsDefaultsAfterParse) {
  ASSERT_TRUE(Parse({"--pool-size=3", "--timeout=5s"}).ok());
  const std::string help = flags_.HelpText();
  EXPECT_THAT(help, HasSubstr("[default: 10]"));
  EXPECT_THAT(help, HasSubstr("[default: 30s]"));
  EXPECT_THAT(help, HasSubstr("--config (env CONFIG)"));
}

TEST(ProcessEnvironmentTest, ReadsTheRealEnvironment) {
  ASSERT_EQ(setenv("PROTOMESH_CONFIG_TEST_VAR", "a=b", 1), 0);
  const Env env = Flags::ProcessEnvironment();
  ASSERT_TRUE(env.contains("PROTOMESH_CONFIG_TEST_VAR"));
  EXPECT_EQ(env.at("PROTOMESH_CONFIG_TEST_VAR"), "a=b");
  unsetenv("PROTOMESH_CONFIG_TEST_VAR");
}

}  // namespace
}  // namespace protomesh::config
