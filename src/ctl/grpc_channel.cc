#include "src/ctl/grpc_channel.h"

#include "src/common/tls_credentials.h"
#include "src/ctl/errors.h"

namespace protomesh::ctl {
namespace {

tls::ClientTlsFiles TlsFiles(const Settings& settings) {
  tls::ClientTlsFiles files;
  files.ca_file = {settings.tls_ca_file, "--tls-ca-file"};
  files.cert_file = {settings.tls_cert_file, "--tls-cert-file"};
  files.key_file = {settings.tls_key_file, "--tls-key-file"};
  files.server_name = settings.tls_server_name;
  return files;
}

}  // namespace

bool UsesTls(const Settings& settings) { return TlsFiles(settings).enabled(); }

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const Settings& settings,
                                                             const std::string& address) {
  const tls::ClientTlsFiles files = TlsFiles(settings);
  auto credentials = tls::CreateChannelCredentials(files);
  if (!credentials.ok()) return UsageError(std::string(credentials.status().message()));
  grpc::ChannelArguments arguments;
  if (!files.server_name.empty()) arguments.SetSslTargetNameOverride(files.server_name);
  arguments.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, *credentials, arguments);
}

}  // namespace protomesh::ctl
