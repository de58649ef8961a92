#include "src/common/tls_settings.h"

#include "absl/strings/str_cat.h"

namespace protomesh::tls {

ServerTlsSettings::ServerTlsSettings(config::Flags* flags) : flags_(flags) {
  flags->Add("tls-cert-file", &files_.cert_file.path,
             "serve gRPC over TLS with this certificate chain (PEM), with tls-key-file; "
             "empty: plaintext");
  flags->Add("tls-key-file", &files_.key_file.path,
             "the private key (PEM) of tls-cert-file");
  flags->Add("tls-client-ca-file", &files_.client_ca_file.path,
             "with tls-cert-file, require clients to present a certificate signed by one of "
             "these CA certificates (PEM): mTLS");
}

ServerTlsFiles ServerTlsSettings::Files() const {
  ServerTlsFiles files = files_;
  files.cert_file.setting = flags_->DescribeSource("tls-cert-file");
  files.key_file.setting = flags_->DescribeSource("tls-key-file");
  files.client_ca_file.setting = flags_->DescribeSource("tls-client-ca-file");
  return files;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsSettings::Credentials() const {
  return CreateServerCredentials(Files());
}

std::string ServerTlsSettings::Describe() const { return tls::Describe(files_); }

ClientTlsSettings::ClientTlsSettings(config::Flags* flags, const std::string& prefix,
                                     const std::string& server)
    : flags_(flags), prefix_(prefix) {
  flags->Add(prefix + "tls-ca-file", &files_.ca_file.path,
             absl::StrCat("connect to ", server,
                          " over TLS, verifying its certificate with these CA certificates "
                          "(PEM); empty: plaintext, unless another ",
                          prefix, "tls-* setting is given (then the system's CAs)"));
  flags->Add(prefix + "tls-cert-file", &files_.cert_file.path,
             absl::StrCat("client certificate chain (PEM) to present to ", server,
                          " (mTLS), with ", prefix, "tls-key-file"));
  flags->Add(prefix + "tls-key-file", &files_.key_file.path,
             absl::StrCat("the private key (PEM) of ", prefix, "tls-cert-file"));
  flags->Add(prefix + "tls-server-name", &files_.server_name,
             absl::StrCat("the name to verify in ", server,
                          "'s certificate; empty: the host of its address"));
}

ClientTlsFiles ClientTlsSettings::Files() const {
  ClientTlsFiles files = files_;
  files.ca_file.setting = flags_->DescribeSource(prefix_ + "tls-ca-file");
  files.cert_file.setting = flags_->DescribeSource(prefix_ + "tls-cert-file");
  files.key_file.setting = flags_->DescribeSource(prefix_ + "tls-key-file");
  return files;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsSettings::Credentials() const {
  return CreateChannelCredentials(Files());
}

std::string ClientTlsSettings::Describe() const { return tls::Describe(files_); }

}  // namespace protomesh::tls
