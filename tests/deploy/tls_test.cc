// TLS end to end: protomesh-store and protomesh-xds serving TLS and mTLS,
// protomeshctl and protomesh-xds's store client connecting with
// certificates, and bad TLS settings refused at start. The CA and the
// certificates are made by the openssl command, for each run, in a
// temporary directory.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "src/common/files.h"
#include "tests/support/child_process.h"
#include "tests/support/http_get.h"
#include "tests/support/store_process.h"
#include "tests/support/wait.h"
#include "tests/xds/support/xds_process.h"

namespace protomesh::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kCtl = PROTOMESHCTL_BIN;

// A CA ("ca"), a server certificate for localhost and 127.0.0.1 and a
// client certificate signed by it, and a client certificate ("stranger")
// signed by another CA. Each NAME is NAME.pem and NAME.key.
constexpr char kMakeCertificates[] = R"(
set -eu
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$1" -keyout "$1.key" -out "$1.pem"
}
leaf() {  # NAME CA EXTENSIONS
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr"
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem"
}
ca ca
ca other-ca
leaf server ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf client ca "extendedKeyUsage=clientAuth"
leaf stranger other-ca "extendedKeyUsage=clientAuth"
)";

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string dir = (std::filesystem::temp_directory_path() / "protomesh-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = new std::string(dir);
    auto made = RunCommand({"bash", "-c", absl::StrCat("cd ", dir, " && ", kMakeCertificates)});
    ASSERT_TRUE(made.ok()) << made.status();
    ASSERT_EQ(made->exit_code, 0) << made->output;
  }
  static void TearDownTestSuite() {
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    dir_ = nullptr;
  }
  void TearDown() override {
    if (HasFailure() && store_ != nullptr) std::cerr << "store output:\n" << store_->Output();
  }

  static std::string File(const std::string& name) { return *dir_ + "/" + name; }

  std::vector<std::string> ServerTls() const {
    return {"--tls-cert-file=" + File("server.pem"), "--tls-key-file=" + File("server.key")};
  }
  std::vector<std::string> ServerMtls() const {
    std::vector<std::string> args = ServerTls();
    args.push_back("--tls-client-ca-file=" + File("ca.pem"));
    return args;
  }
  // --tls-cert-file and --tls-key-file of the client certificate NAME.
  static std::vector<std::string> ClientCertificate(const std::string& name) {
    return {"--tls-cert-file=" + File(name + ".pem"), "--tls-key-file=" + File(name + ".key")};
  }

  // Starts a store on a fresh database with `args`.
  void StartStore(const std::vector<std::string>& args) {
    static int counter = 0;
    auto store = StoreProcess::StartOnFreshDatabase(
        absl::StrCat("tls_", getpid(), "_", ++counter), args);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // protomeshctl against the store with `args`; exit code and output.
  CommandResult Ctl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {kCtl, "--server", store_->grpc_address(), "--timeout=10s"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = RunCommand(argv, {}, input);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  // Applies a Service named `name` with `tls_args`, then gets it back.
  void ExpectApplyAndGet(const std::string& name, std::vector<std::string> tls_args) {
    std::vector<std::string> apply = tls_args;
    apply.insert(apply.end(), {"apply", "-f", "-"});
    CommandResult applied =
        Ctl(apply, absl::StrCat("kind: Service\nname: ", name, "\nspec: {service_name: ", name,
                                "}\n"));
    ASSERT_EQ(applied.exit_code, 0) << applied.output;
    EXPECT_THAT(applied.output, HasSubstr("service/" + name + " (ns default) created"));
    std::vector<std::string> get = tls_args;
    get.insert(get.end(), {"get", name, "-o", "yaml"});
    CommandResult got = Ctl(get);
    ASSERT_EQ(got.exit_code, 0) << got.output;
    EXPECT_THAT(got.output, HasSubstr("service_name: " + name));
  }

  // protomeshctl get fails as a transport error that names the server;
  // its output.
  std::string ExpectRefused(std::vector<std::string> tls_args) {
    tls_args.push_back("get");
    CommandResult result = Ctl(tls_args);
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_THAT(result.output, HasSubstr("error: UNAVAILABLE"));
    EXPECT_THAT(result.output, HasSubstr("(server " + store_->grpc_address() + ")"));
    // Only protomeshctl's own lines: none of gRPC's log ("E1123 00:00:00...").
    EXPECT_THAT(result.output, Not(ContainsRegex("(^|\n)[DIEW][0-9]{4} ")));
    return result.output;
  }

  static std::string* dir_;
  std::unique_ptr<StoreProcess> store_;
};

std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, StoreServesTlsToProtomeshctlThatTrustsItsCa) {
  StartStore(ServerTls());
  EXPECT_THAT(store_->Output(), HasSubstr(": TLS"));
  ExpectApplyAndGet("catalog", {"--tls-ca-file=" + File("ca.pem")});
  // The name in the certificate may be given apart from the address.
  CommandResult by_name = Ctl({"--tls-ca-file=" + File("ca.pem"), "--tls-server-name=localhost",
                               "get", "catalog"});
  EXPECT_EQ(by_name.exit_code, 0) << by_name.output;
}

TEST_F(TlsTest, ProtomeshctlWithoutTheCaIsRefusedWithAnErrorNamingTheServer) {
  StartStore(ServerTls());
  EXPECT_THAT(ExpectRefused({}),  // plaintext
              HasSubstr("error: the server closed a plaintext connection: if it serves TLS, "
                        "give --tls-ca-file"));
  // A CA that did not sign its certificate.
  EXPECT_THAT(ExpectRefused({"--tls-ca-file=" + File("other-ca.pem")}),
              HasSubstr("certificate verify failed"));
  EXPECT_THAT(
      ExpectRefused({"--tls-ca-file=" + File("ca.pem"), "--tls-server-name=elsewhere.example"}),
      HasSubstr("Peer name elsewhere.example is not in peer certificate"));
}

TEST_F(TlsTest, MtlsStoreAcceptsOnlyClientsWithACertificateOfItsClientCa) {
  StartStore(ServerMtls());
  EXPECT_THAT(store_->Output(), HasSubstr("mTLS (client certificates signed by "));
  ExpectRefused({"--tls-ca-file=" + File("ca.pem")});
  std::vector<std::string> stranger = ClientCertificate("stranger");
  stranger.push_back("--tls-ca-file=" + File("ca.pem"));
  ExpectRefused(stranger);
  std::vector<std::string> client = ClientCertificate("client");
  client.push_back("--tls-ca-file=" + File("ca.pem"));
  ExpectApplyAndGet("orders", client);
}

TEST_F(TlsTest, XdsWatchesAnMtlsStoreAndServesTls) {
  StartStore(ServerMtls());
  std::vector<std::string> args = ServerTls();
  std::vector<std::string> client = ClientCertificate("client");
  args.insert(args.end(), {"--store-tls-ca-file=" + File("ca.pem"),
                           "--store-tls-cert-file=" + File("client.pem"),
                           "--store-tls-key-file=" + File("client.key"),
                           "--store-tls-server-name=localhost"});
  // Start() returns once /readyz says the first snapshot came from the store.
  auto xds = XdsProcess::Start(store_->grpc_address(), "default", args);
  ASSERT_TRUE(xds.ok()) << xds.status();
  EXPECT_EQ((*xds)->AdminGet("/readyz").first, 200);
  EXPECT_THAT((*xds)->Output(), HasSubstr("(TLS with a client certificate)"));

  // Its own port: the health service over TLS, and not in plaintext.
  grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = files::ReadFile(File("ca.pem"));
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel((*xds)->grpc_address(), grpc::SslCredentials(trust)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto plaintext = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel((*xds)->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext plaintext_context;
  plaintext_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EXPECT_FALSE(plaintext->Check(&plaintext_context, {}, &response).ok());

  // protomeshctl's TLS settings apply to --xds-server too.
  CommandResult status_output =
      Ctl({"--xds-server", (*xds)->grpc_address(), "--tls-ca-file=" + File("ca.pem"),
           "xds-status"});
  EXPECT_EQ(status_output.exit_code, 0) << status_output.output;
  EXPECT_THAT(status_output.output, HasSubstr("namespace default"));
  EXPECT_EQ((*xds)->Terminate().value_or(-1), 0);
}

TEST_F(TlsTest, XdsInPlaintextToATlsStoreSaysInReadyzThatTheStoreMayWantTls) {
  StartStore(ServerTls());
  const int admin_port = FreePort();
  auto xds = ChildProcess::Start({PROTOMESH_XDS_BIN, "--grpc-listen=127.0.0.1:0",
                                  absl::StrCat("--admin-listen=127.0.0.1:", admin_port),
                                  "--store-address=" + store_->grpc_address()});
  ASSERT_TRUE(xds.ok()) << xds.status();
  std::pair<int, std::string> readyz;
  EXPECT_TRUE(WaitUntil([&] {
    readyz = HttpGet(admin_port, "/readyz");
    return absl::StrContains(readyz.second, "closed a plaintext connection");
  })) << readyz.second;
  EXPECT_EQ(readyz.first, 503);
  EXPECT_THAT(readyz.second, HasSubstr("if it serves TLS, set store-tls-ca-file"));
}

// protomesh-store and protomesh-xds with `args` exit 2 at start, saying
// `message`.
struct BadSettings {
  std::string binary;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string message;
};

TEST_F(TlsTest, BadTlsSettingsExitTwoNamingTheSettingAndTheFix) {
  const std::string store_bin = StoreBinary();
  const std::string xds_bin = PROTOMESH_XDS_BIN;
  const std::string cert = "--tls-cert-file=" + File("server.pem");
  const std::string key = "--tls-key-file=" + File("server.key");
  std::vector<BadSettings> cases = {
      {store_bin, {cert}, {}, "--tls-cert-file is set but tls-key-file is not"},
      {store_bin, {key}, {}, "--tls-key-file is set but tls-cert-file is not"},
      {store_bin, {}, {{"TLS_CLIENT_CA_FILE", File("ca.pem")}},
       "$TLS_CLIENT_CA_FILE needs TLS: set tls-cert-file and tls-key-file"},
      {store_bin, {cert, "--tls-key-file=" + File("no-such.key")}, {},
       "--tls-key-file: cannot read " + File("no-such.key") + ": No such file or directory"},
      {store_bin, {"--tls-cert-file=" + File("server.ext"), key}, {},
       "--tls-cert-file: " + File("server.ext") + " holds no PEM certificate"},
      {store_bin, {cert, "--tls-key-file=" + File("server.pem")}, {},
       "--tls-key-file: " + File("server.pem") + " holds no unencrypted PEM private key"},
      {store_bin, {cert, "--tls-key-file=" + File("client.key")}, {},
       "--tls-key-file: the key in " + File("client.key") +
           " is not the private key of the certificate in " + File("server.pem")},
      {store_bin, {cert, key, "--tls-client-ca-file=" + File("ca.key")}, {},
       "--tls-client-ca-file: " + File("ca.key") + " holds no PEM certificate"},
      {xds_bin, {"--tls-client-ca-file=" + File("ca.pem")}, {},
       "--tls-client-ca-file needs TLS"},
      {xds_bin, {"--store-tls-cert-file=" + File("client.pem")}, {},
       "--store-tls-cert-file is set but store-tls-key-file is not"},
      {xds_bin, {"--store-tls-ca-file=" + File("no-such.pem")}, {},
       "--store-tls-ca-file: cannot read"},
  };
  for (const BadSettings& bad : cases) {
    std::vector<std::string> argv = {bad.binary, "--admin-listen=127.0.0.1:0",
                                     "--grpc-listen=127.0.0.1:0"};
    argv.insert(argv.end(), bad.args.begin(), bad.args.end());
    auto result = RunCommand(argv, bad.env, "", std::chrono::seconds(20));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 2) << result->output;
    EXPECT_THAT(result->output, HasSubstr(bad.message));
    EXPECT_THAT(result->output, Not(HasSubstr("admin HTTP on port"))) << "started anyway";
  }
}

}  // namespace
}  // namespace protomesh::testing
