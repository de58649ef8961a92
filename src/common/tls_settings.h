#pragma once
// The TLS settings of our daemons, declared once: a gRPC port's
// (tls-cert-file, tls-key-file, tls-client-ca-file) and a channel's
// (PREFIX-tls-ca-file, PREFIX-tls-cert-file, PREFIX-tls-key-file,
// PREFIX-tls-server-name). Like every setting, each is a flag, an
// environment variable and a config file key.
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/common/config.h"
#include "src/common/tls_credentials.h"

namespace protomesh::tls {

class ServerTlsSettings {
 public:
  // Declares the settings on `flags`, which must outlive this.
  explicit ServerTlsSettings(config::Flags* flags);
  ServerTlsSettings(const ServerTlsSettings&) = delete;
  ServerTlsSettings& operator=(const ServerTlsSettings&) = delete;

  // After flags->Parse(): the port's credentials, or INVALID_ARGUMENT
  // naming the setting (as it was given) and what to fix.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials() const;
  std::string Describe() const;

 private:
  ServerTlsFiles Files() const;

  config::Flags* flags_;
  ServerTlsFiles files_;  // paths bound to the flags; names filled by Files()
};

class ClientTlsSettings {
 public:
  // `prefix`: "store-" declares store-tls-ca-file...; `server`: who the
  // channel talks to, for --help ("the store").
  ClientTlsSettings(config::Flags* flags, const std::string& prefix, const std::string& server);
  ClientTlsSettings(const ClientTlsSettings&) = delete;
  ClientTlsSettings& operator=(const ClientTlsSettings&) = delete;

  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() const;
  // The name to verify in the server's certificate; empty: its address's host.
  const std::string& server_name() const { return files_.server_name; }
  std::string Describe() const;
  bool enabled() const { return files_.enabled(); }

 private:
  ClientTlsFiles Files() const;

  config::Flags* flags_;
  std::string prefix_;
  ClientTlsFiles files_;
};

}  // namespace protomesh::tls
