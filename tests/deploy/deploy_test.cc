// Keeps the repo's front door honest: docker-compose.yaml is valid and wires
// the store to Postgres, the Containerfile builds on Debian bookworm and runs
// unprivileged, configs/store.toml is accepted by the binary and holds every
// setting at its default, and README.md documents every setting, metric and
// the exact test command of .ci/run.
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/postgres_server.h"
#include "yaml-cpp/yaml.h"

namespace protomesh::testing {
namespace {

const std::string kRoot = PROTOMESH_SOURCE_DIR;
const std::string kStoreBinary = PROTOMESH_STORE_BIN;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string path = absl::StrCat(tmpdir ? tmpdir : "/tmp", "/deploy_test_", getpid(), "_", name);
  std::ofstream(path) << contents;
  return path;
}

// A setting as `protomesh-store --help` prints it:
//   --grpc-listen (env GRPC_LISTEN)  help text  [default: 0.0.0.0:6680]
struct HelpSetting {
  std::string env;
  std::string default_value;
};

std::map<std::string, HelpSetting> ParseHelp(const std::string& help) {
  static const std::regex line_re(R"(^\s+--([a-z0-9-]+) \(env ([A-Z0-9_]+)\)\s.*\[default: (.*)\]$)");
  std::map<std::string, HelpSetting> settings;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    std::smatch match;
    std::string text(line);
    if (std::regex_match(text, match, line_re)) {
      settings[match[1]] = HelpSetting{match[2], match[3]};
    }
  }
  return settings;
}

// A setting line of a flat TOML file: `key = value`, or `# key = value` for
// one that is shown commented out.
struct TomlSetting {
  std::string value;  // Quotes stripped.
  bool commented = false;
};

// The settings of a flat TOML file, read line by line; keys are normalized to
// the dashed spelling. Prose comments, blank lines and tables are skipped; a
// key that appears twice is reported.
std::map<std::string, TomlSetting> ParseTomlKeys(const std::string& text) {
  static const std::regex commented_re(R"(^#\s*([a-z][a-z0-9_-]*)\s*=\s*(\S.*)$)");
  std::map<std::string, TomlSetting> keys;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    std::string line(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line[0] == '[') continue;
    bool commented = false;
    if (line[0] == '#') {
      std::smatch match;
      if (!std::regex_match(line, match, commented_re)) continue;  // prose
      line = absl::StrCat(match[1].str(), " = ", match[2].str());
      commented = true;
    }
    size_t eq = line.find('=');
    EXPECT_NE(eq, std::string::npos) << "not a key = value line: " << line;
    if (eq == std::string::npos) continue;
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    for (char& c : key) {
      if (c == '_') c = '-';
    }
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    EXPECT_FALSE(keys.count(key)) << "key " << key << " appears twice";
    keys[key] = TomlSetting{value, commented};
  }
  return keys;
}

std::string StoreHelp() {
  auto result = RunCommand({kStoreBinary, "--help"});
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return "";
  EXPECT_EQ(result->exit_code, 0) << result->output;
  return result->output;
}

// Settings every deployment needs; guards against a help parser that
// silently matches nothing.
const std::vector<std::string> kCoreSettings = {"config", "grpc-listen", "admin-listen",
                                                "database-url", "log-level"};

TEST(DeployTest, HelpListsTheCoreSettingsWithUpperSnakeEnvironmentNames) {
  auto settings = ParseHelp(StoreHelp());
  for (const auto& name : kCoreSettings) EXPECT_TRUE(settings.count(name)) << name;
  for (const auto& [name, setting] : settings) {
    std::string expected = absl::AsciiStrToUpper(name);
    for (char& c : expected) {
      if (c == '-') c = '_';
    }
    EXPECT_EQ(setting.env, expected) << "setting " << name;
  }
}

// The project version, from `project(protomesh ... VERSION x.y.z)` of CMakeLists.txt.
std::string ProjectVersion() {
  static const std::regex project_re(R"(project\(protomesh\b[^)]*\bVERSION\s+([0-9][0-9.]*))");
  const std::string cmake = ReadFile(kRoot + "/CMakeLists.txt");
  std::smatch match;
  EXPECT_TRUE(std::regex_search(cmake, match, project_re)) << "CMakeLists.txt has no project VERSION";
  return match.empty() ? "" : match[1].str();
}

// What the commit of a --version line must be: `git rev-parse --short HEAD`
// of the source tree, or "unknown" when it is not a git checkout.
std::string ExpectedCommit() {
  auto head = RunCommand({"git", "-C", kRoot, "rev-parse", "--short", "HEAD"});
  if (!head.ok() || head->exit_code != 0) return "unknown";
  return std::string(absl::StripAsciiWhitespace(head->output));
}

// `NAME VERSION (commit SHORTSHA[-dirty], built with gRPC X, protobuf Y)`,
// one line, exit 0, and nothing else: no log line, so nothing started (the
// environment names a database and ports that would fail if used).
void ExpectVersionLine(const std::string& name, std::vector<std::string> argv) {
  SCOPED_TRACE(absl::StrJoin(argv, " "));
  auto result = RunCommand(std::move(argv), {{"DATABASE_URL", "postgresql://nowhere.invalid/x"},
                                             {"ADMIN_LISTEN", "256.0.0.0:1"},
                                             {"GRPC_LISTEN", "256.0.0.0:1"}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  static const std::regex line_re(
      R"(^(\S+) ([0-9.]+) \(commit ([0-9a-f]+|unknown)(-dirty)?, built with gRPC ([0-9][0-9.]*), protobuf ([0-9][0-9.]*)\)\n$)");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(result->output, match, line_re)) << result->output;
  EXPECT_EQ(match[1].str(), name);
  EXPECT_EQ(match[2].str(), ProjectVersion());
  EXPECT_EQ(match[3].str(), ExpectedCommit()) << "built from another commit? rebuild";
}

TEST(DeployTest, EveryBinaryPrintsItsVersionCommitAndLibraries) {
  ExpectVersionLine("protomesh-store", {kStoreBinary, "--version"});
  ExpectVersionLine("protomesh-xds", {PROTOMESH_XDS_BIN, "--version"});
  ExpectVersionLine("protomesh-all-in-one", {PROTOMESH_ALL_IN_ONE_BIN, "--version"});
  ExpectVersionLine("protomeshctl", {PROTOMESHCTL_BIN, "--version"});
  ExpectVersionLine("protomeshctl", {PROTOMESHCTL_BIN, "version"});
}

TEST(DeployTest, HelpOfEveryDaemonListsVersion) {
  for (const std::string& binary : {kStoreBinary, std::string(PROTOMESH_XDS_BIN),
                                   std::string(PROTOMESH_ALL_IN_ONE_BIN)}) {
    auto result = RunCommand({binary, "--help"});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << result->output;
    EXPECT_TRUE(absl::StrContains(result->output, "\n  --version  ")) << binary << ":\n"
                                                                       << result->output;
    // Not a setting: no environment variable, not in the config files.
    EXPECT_FALSE(ParseHelp(result->output).count("version")) << result->output;
  }
}

TEST(DeployTest, DockerComposeConfigIsValidAndWiresTheStoreToPostgres) {
  auto result = RunCommand({"docker-compose", "-f", kRoot + "/docker-compose.yaml", "config"});
  ASSERT_TRUE(result.ok()) << result.status() << " (is docker-compose installed? run .ci/install-deps)";
  ASSERT_EQ(result->exit_code, 0) << result->output;

  YAML::Node config = YAML::Load(result->output);
  YAML::Node store = config["services"]["store"];
  YAML::Node postgres = config["services"]["postgres"];
  ASSERT_TRUE(store.IsMap()) << result->output;
  ASSERT_TRUE(postgres.IsMap()) << result->output;

  EXPECT_EQ(store["build"]["dockerfile"].as<std::string>(""), "Containerfile");
  std::set<int> targets;
  for (const auto& port : store["ports"]) {
    targets.insert(port["target"].as<int>(0));
    EXPECT_EQ(port["published"].as<int>(0), port["target"].as<int>(0));
  }
  EXPECT_EQ(targets, (std::set<int>{6680, 6681}));

  std::string url = store["environment"]["DATABASE_URL"].as<std::string>("");
  EXPECT_TRUE(absl::StartsWith(url, "postgresql://")) << url;
  EXPECT_TRUE(absl::StrContains(url, "@postgres:5432/")) << "DATABASE_URL must name the postgres service: " << url;
  EXPECT_EQ(store["depends_on"]["postgres"]["condition"].as<std::string>(""), "service_healthy");

  std::string store_check;
  for (const auto& word : store["healthcheck"]["test"]) store_check += word.as<std::string>() + " ";
  EXPECT_TRUE(absl::StrContains(store_check, ":6681/healthz")) << store_check;

  EXPECT_TRUE(absl::StartsWith(postgres["image"].as<std::string>(""), "postgres:15"));
  EXPECT_FALSE(postgres["environment"]["POSTGRES_PASSWORD"].as<std::string>("").empty());
  std::string postgres_check;
  for (const auto& word : postgres["healthcheck"]["test"]) postgres_check += word.as<std::string>() + " ";
  EXPECT_TRUE(absl::StrContains(postgres_check, "pg_isready")) << postgres_check;
  EXPECT_TRUE(postgres["volumes"].IsSequence() && postgres["volumes"].size() > 0);
}

TEST(DeployTest, ContainerfileBuildsOnBookwormAndRunsUnprivileged) {
  std::string containerfile = ReadFile(kRoot + "/Containerfile");
  // Stage name -> the text of that stage.
  std::vector<std::pair<std::string, std::string>> stages;
  std::vector<std::string> images;
  static const std::regex from_re(R"(^FROM\s+(\S+)\s+AS\s+(\S+)\s*$)", std::regex::icase);
  for (absl::string_view raw : absl::StrSplit(containerfile, '\n')) {
    std::string line(raw);
    std::smatch match;
    if (std::regex_match(line, match, from_re)) {
      images.push_back(match[1]);
      stages.emplace_back(match[2], "");
    } else if (!stages.empty()) {
      absl::StrAppend(&stages.back().second, line, "\n");
    }
  }
  ASSERT_EQ(stages.size(), 2u) << "expected a build and a runtime stage:\n" << containerfile;
  EXPECT_EQ(stages[0].first, "build");
  EXPECT_EQ(images[0], "debian:bookworm");
  EXPECT_EQ(stages[1].first, "runtime");
  EXPECT_TRUE(images[1] == "debian:bookworm" || images[1] == "debian:bookworm-slim") << images[1];

  const std::string& build = stages[0].second;
  EXPECT_TRUE(absl::StrContains(build, "-DPROTOMESH_BUILD_TESTS=OFF"));
  EXPECT_TRUE(absl::StrContains(build, "-DPROTOMESH_BUILD_BENCH=OFF"));
  EXPECT_TRUE(absl::StrContains(build, "libgrpc++-dev"));

  const std::string& runtime = stages[1].second;
  EXPECT_TRUE(absl::StrContains(runtime, "COPY --from=build")) << runtime;
  // The packages of the runtime stage's `apt-get install` instruction.
  std::set<std::string> runtime_packages;
  std::string joined = absl::StrReplaceAll(runtime, {{"\\\n", " "}});
  for (absl::string_view instruction : absl::StrSplit(joined, '\n')) {
    size_t install = instruction.find("apt-get install");
    if (install == absl::string_view::npos) continue;
    absl::string_view rest = instruction.substr(install);
    rest = rest.substr(0, rest.find("&&"));
    for (absl::string_view word : absl::StrSplit(rest, ' ', absl::SkipEmpty())) {
      if (word[0] != '-' && word != "apt-get" && word != "install") runtime_packages.emplace(word);
    }
  }
  for (const auto& package : runtime_packages) {
    EXPECT_FALSE(absl::EndsWith(package, "-dev")) << "the runtime stage installs " << package;
  }
  for (const char* library : {"libgrpc++1.51", "libprotobuf32", "libpqxx-6.4", "libspdlog1.10",
                              "libyaml-cpp0.7", "libabsl20220623", "libcpp-httplib0.11"}) {
    EXPECT_TRUE(runtime_packages.count(library)) << library << " is not installed in the runtime stage";
  }
  static const std::regex user_re(R"(\nUSER\s+(\S+))");
  std::smatch user;
  ASSERT_TRUE(std::regex_search(runtime, user, user_re)) << "the runtime stage must set USER";
  EXPECT_NE(user[1], "root");
  EXPECT_NE(user[1], "0");
  static const std::regex expose_re(R"(\nEXPOSE\s+6680\s+6681\s+6690\s+6691\s*\n)");
  EXPECT_TRUE(std::regex_search(runtime, expose_re)) << "EXPOSE 6680 6681 6690 6691";

  // The compose healthcheck's program must exist in the image.
  YAML::Node compose = YAML::LoadFile(kRoot + "/docker-compose.yaml");
  std::string tool = compose["services"]["store"]["healthcheck"]["test"][1].as<std::string>("");
  ASSERT_FALSE(tool.empty());
  EXPECT_TRUE(runtime_packages.count(tool)) << tool << " is not installed in the runtime stage";
}

// The shipped config holds every setting of `binary --help` at its default.
void ExpectConfigMatchesHelp(const std::string& binary, const std::string& config) {
  auto result = RunCommand({binary, "--help"});
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->exit_code, 0) << result->output;
  auto help = ParseHelp(result->output);
  auto toml = ParseTomlKeys(ReadFile(kRoot + "/configs/" + config));
  ASSERT_FALSE(help.empty());
  ASSERT_FALSE(toml.empty());
  for (const auto& [key, setting] : toml) {
    const std::string& value = setting.value;
    auto it = help.find(key);
    EXPECT_NE(it, help.end()) << "configs/" << config << " sets " << key << ", which " << binary
                              << " --help does not list";
    if (it == help.end()) continue;
    std::string default_value = it->second.default_value == "\"\"" ? "" : it->second.default_value;
    EXPECT_EQ(value, default_value) << "configs/" << config << " should show the default of " << key;
  }
  for (const auto& [name, setting] : help) {
    if (name == "config") continue;  // Names the file itself; not allowed inside it.
    EXPECT_TRUE(toml.count(name)) << "configs/" << config << " lacks the setting " << name;
  }
}

TEST(DeployTest, ConfigFileListsExactlyTheSettingsOfHelpAtTheirDefaults) {
  ExpectConfigMatchesHelp(kStoreBinary, "store.toml");
}

TEST(DeployTest, XdsConfigFileListsExactlyTheSettingsOfItsHelpAtTheirDefaults) {
  ExpectConfigMatchesHelp(PROTOMESH_XDS_BIN, "xds.toml");
}

TEST(DeployTest, EnvoyBootstrapAsksTheComposeXdsServiceOverAds) {
  YAML::Node bootstrap = YAML::LoadFile(kRoot + "/configs/envoy.yaml");
  EXPECT_EQ(bootstrap["node"]["cluster"].as<std::string>(), "edge")
      << "the examples' resources are scoped to node cluster edge";
  auto ads = bootstrap["dynamic_resources"]["ads_config"];
  EXPECT_EQ(ads["api_type"].as<std::string>(), "GRPC");
  EXPECT_EQ(ads["transport_api_version"].as<std::string>(), "V3");
  std::string cluster_name = ads["grpc_services"][0]["envoy_grpc"]["cluster_name"].as<std::string>();
  EXPECT_TRUE(bootstrap["dynamic_resources"]["cds_config"]["ads"].IsDefined());
  EXPECT_TRUE(bootstrap["dynamic_resources"]["lds_config"]["ads"].IsDefined());
  YAML::Node xds_cluster;
  for (const auto& cluster : bootstrap["static_resources"]["clusters"]) {
    if (cluster["name"].as<std::string>() == cluster_name) xds_cluster.reset(cluster);
  }
  ASSERT_TRUE(xds_cluster.IsDefined()) << "no static cluster " << cluster_name;
  auto address = xds_cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
                            ["address"]["socket_address"];
  YAML::Node compose = YAML::LoadFile(kRoot + "/docker-compose.yaml");
  EXPECT_TRUE(compose["services"][address["address"].as<std::string>()].IsDefined())
      << "the bootstrap's xDS host is not a compose service";
  auto help = RunCommand({PROTOMESH_XDS_BIN, "--help"});
  ASSERT_TRUE(help.ok());
  auto settings = ParseHelp(help->output);
  ASSERT_TRUE(settings.count("grpc-listen"));
  EXPECT_TRUE(absl::EndsWith(settings.at("grpc-listen").default_value,
                             absl::StrCat(":", address["port_value"].as<int>())))
      << "the bootstrap's port is not protomesh-xds's default grpc-listen port ("
      << settings.at("grpc-listen").default_value << ")";
  EXPECT_TRUE(compose["services"]["envoy"].IsDefined());
}

TEST(DeployTest, StoreAcceptsTheShippedConfig) {
  const std::string config = kRoot + "/configs/store.toml";
  // --help stops at the flag, so this only proves the flag is known...
  auto help = RunCommand({kStoreBinary, "--config", config, "--help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->exit_code, 0) << help->output;

  // ...so also run the binary for real: it reads the file, checks every
  // value, connects and migrates.
  PostgresServer& postgres = SharedPostgres();
  ASSERT_TRUE(postgres.CreateDatabase("deploy_test").ok());
  auto migrate = RunCommand({kStoreBinary, "--config", config, "--database-url",
                             postgres.Url("deploy_test"), "--migrate-only"});
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  EXPECT_EQ(migrate->exit_code, 0) << migrate->output;
  EXPECT_TRUE(absl::StrContains(migrate->output, "database schema is up to date")) << migrate->output;

  // The same run with a broken file fails: the file really is read.
  std::string broken = WriteTempFile("broken.toml", ReadFile(config) + "\nno-such-setting = 1\n");
  auto rejected = RunCommand({kStoreBinary, "--config", broken, "--database-url",
                              postgres.Url("deploy_test"), "--migrate-only"});
  std::remove(broken.c_str());
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->exit_code, 2) << rejected->output;
  EXPECT_TRUE(absl::StrContains(rejected->output, "no-such-setting")) << rejected->output;
}

TEST(DeployTest, AnUnknownFlagIsOneErrorLineAndOneHintAndExitCode2) {
  for (const std::string binary : {PROTOMESH_STORE_BIN, PROTOMESH_XDS_BIN, PROTOMESH_ALL_IN_ONE_BIN}) {
    const std::string name = binary.substr(binary.rfind('/') + 1);
    auto result = RunCommand({binary, "--no-such-flag=1"});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 2) << result->output;
    EXPECT_EQ(result->output, absl::StrCat(name, ": unknown flag --no-such-flag\nRun ", name,
                                           " --help for every setting.\n"));
  }
}

// The quick start of README.md: no database set up, the store runs its own.
TEST(DeployTest, ShippedConfigWorksWithTheEmbeddedPostgres) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string dir = absl::StrCat(tmpdir ? tmpdir : "/tmp", "/deploy_test_pg_XXXXXX");
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  // As root, PostgreSQL runs as user postgres, which must be able to reach
  // the data directory; mkdtemp makes the parent 0700.
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const std::string data_dir = dir + "/postgres";
  auto migrate = RunCommand({kStoreBinary, "--config", kRoot + "/configs/store.toml",
                             "--embedded-postgres-dir=" + data_dir, "--migrate-only"},
                            {}, "", std::chrono::seconds(180));
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  EXPECT_EQ(migrate->exit_code, 0) << migrate->output;
  EXPECT_TRUE(absl::StrContains(migrate->output, "database schema is up to date")) << migrate->output;
  std::ifstream version(data_dir + "/PG_VERSION");
  std::string major;
  version >> major;
  EXPECT_EQ(major, "15") << "expected a PostgreSQL 15 cluster in " << data_dir;
  RunCommand({"rm", "-rf", dir}).IgnoreError();
}

TEST(DeployTest, ReadmeDocumentsEverySettingWithItsEnvironmentVariableAndDefault) {
  auto help = ParseHelp(StoreHelp());
  std::string readme = ReadFile(kRoot + "/README.md");
  ASSERT_FALSE(help.empty());
  // Each setting has a table row: | `--name` | `ENV` | `default` | meaning |
  std::map<std::string, std::string> rows;
  for (absl::string_view line : absl::StrSplit(readme, '\n')) {
    static const std::regex row_re(R"(^\|\s*`--([a-z0-9-]+)`\s*\|)");
    std::string text(line);
    std::smatch match;
    if (std::regex_search(text, match, row_re)) rows[match[1]] = text;
  }
  for (const auto& [name, setting] : help) {
    EXPECT_TRUE(absl::StrContains(readme, "--" + name)) << "README.md does not mention --" << name;
    auto row = rows.find(name);
    if (row == rows.end()) {
      ADD_FAILURE() << "README.md has no settings table row for --" << name;
      continue;
    }
    EXPECT_TRUE(absl::StrContains(row->second, "`" + setting.env + "`")) << row->second;
    EXPECT_TRUE(absl::StrContains(row->second, "`" + setting.default_value + "`"))
        << "README.md should give the default " << setting.default_value << ": " << row->second;
  }
  for (const auto& [name, row] : rows) {
    EXPECT_TRUE(help.count(name)) << "README.md documents --" << name
                                  << ", which protomesh-store --help does not list";
  }
}

// Every command line of README.md that runs one of our binaries from the
// build tree uses only flags that binary has; the quick start runs
// protomesh-all-in-one.
TEST(DeployTest, ReadmeRunsBinariesOnlyWithExistingFlags) {
  std::string readme = ReadFile(kRoot + "/README.md");
  static const std::regex flag_re(R"(\s--([a-z0-9-]+))");
  std::map<std::string, int> commands;
  for (const auto& [name, binary] : std::map<std::string, std::string>{
           {"protomesh-store", kStoreBinary},
           {"protomesh-xds", PROTOMESH_XDS_BIN},
           {"protomesh-all-in-one", PROTOMESH_ALL_IN_ONE_BIN}}) {
    auto help_output = RunCommand({binary, "--help"});
    ASSERT_TRUE(help_output.ok()) << help_output.status();
    auto help = ParseHelp(help_output->output);
    const std::string invocation = absl::StrCat("build/cmd/", name, "/", name, " ");
    for (absl::string_view line : absl::StrSplit(readme, '\n')) {
      size_t at = line.find(invocation);
      if (at == absl::string_view::npos) continue;
      ++commands[name];
      std::string args(line.substr(at));
      for (auto it = std::sregex_iterator(args.begin(), args.end(), flag_re);
           it != std::sregex_iterator(); ++it) {
        EXPECT_TRUE(help.count((*it)[1].str()))
            << "README.md runs " << name << " with --" << (*it)[1] << ", which it does not have";
      }
    }
  }
  EXPECT_GT(commands["protomesh-all-in-one"], 0)
      << "README.md never shows how to run build/cmd/protomesh-all-in-one/protomesh-all-in-one";
}

TEST(DeployTest, ReadmeNamesEveryStoreMetric) {
  std::string metrics_source = ReadFile(kRoot + "/src/store/store_metrics.cc");
  std::string readme = ReadFile(kRoot + "/README.md");
  static const std::regex name_re(R"re("(protomesh_store_[a-z_]+)")re");
  int found = 0;
  for (auto it = std::sregex_iterator(metrics_source.begin(), metrics_source.end(), name_re);
       it != std::sregex_iterator(); ++it, ++found) {
    EXPECT_TRUE(absl::StrContains(readme, (*it)[1].str())) << "README.md lacks metric " << (*it)[1];
  }
  EXPECT_GT(found, 0) << "no metric names found in src/store/store_metrics.cc";
}

TEST(DeployTest, ReadmeTestCommandIsExactlyWhatCiRuns) {
  std::string command;
  for (absl::string_view line : absl::StrSplit(ReadFile(kRoot + "/.ci/run"), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    EXPECT_TRUE(command.empty()) << ".ci/run should be one command line; also: " << line;
    command = std::string(line);
  }
  ASSERT_FALSE(command.empty()) << ".ci/run has no command";
  EXPECT_TRUE(absl::StrContains(command, "ctest")) << command;
  std::string readme = ReadFile(kRoot + "/README.md");
  EXPECT_TRUE(absl::StrContains(readme, "```sh\n" + command + "\n```"))
      << "README.md should show .ci/run's command in its own code block:\n" << command;
}

}  // namespace
}  // namespace protomesh::testing
