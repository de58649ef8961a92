#include "src/ctl/grpc_channel.h"

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "src/ctl/errors.h"

namespace protomesh::ctl {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& flag) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return UsageError(absl::StrCat(flag, ": cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const Settings& settings,
                                                             const std::string& address) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  bool tls = !settings.tls_ca_file.empty() || !settings.tls_cert_file.empty() ||
             !settings.tls_server_name.empty();
  if (tls) {
    grpc::SslCredentialsOptions options;
    if (!settings.tls_ca_file.empty()) {
      auto ca = ReadPem(settings.tls_ca_file, "--tls-ca-file");
      if (!ca.ok()) return ca.status();
      options.pem_root_certs = *ca;
    }
    if (!settings.tls_cert_file.empty()) {
      auto cert = ReadPem(settings.tls_cert_file, "--tls-cert-file");
      if (!cert.ok()) return cert.status();
      auto key = ReadPem(settings.tls_key_file, "--tls-key-file");
      if (!key.ok()) return key.status();
      options.pem_cert_chain = *cert;
      options.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(options);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments arguments;
  if (!settings.tls_server_name.empty()) {
    arguments.SetSslTargetNameOverride(settings.tls_server_name);
  }
  arguments.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, credentials, arguments);
}

}  // namespace protomesh::ctl
