#pragma once
// TLS for our gRPC ports and channels, from PEM file settings: the one place
// that reads and checks certificate files and turns them into gRPC
// credentials. Used by protomesh-store and protomesh-xds (server side), and
// by protomeshctl and protomesh-xds's store client (client side).
#include <memory>
#include <string>
#include <string_view>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/status/statusor.h"

namespace protomesh::tls {

// A PEM file setting: the path (empty: not set) and how the setting is named
// in error messages ("--tls-cert-file", "$TLS_CERT_FILE", ...).
struct PemFile {
  std::string path;
  std::string setting;

  bool set() const { return !path.empty(); }
};

// A gRPC port's TLS: off when nothing is set; cert_file and key_file serve
// TLS; client_ca_file as well requires clients to present a certificate
// signed by that CA (mTLS).
struct ServerTlsFiles {
  PemFile cert_file;
  PemFile key_file;
  PemFile client_ca_file;

  bool enabled() const { return cert_file.set() || key_file.set() || client_ca_file.set(); }
};

// A channel's TLS: on when any setting is set. ca_file verifies the server
// (empty: the system's roots); cert_file and key_file are the client's
// certificate (mTLS); server_name is the name checked in the server's
// certificate (empty: the host of the address dialed).
struct ClientTlsFiles {
  PemFile ca_file;
  PemFile cert_file;
  PemFile key_file;
  std::string server_name;

  bool enabled() const {
    return ca_file.set() || cert_file.set() || key_file.set() || !server_name.empty();
  }
};

// Insecure credentials when TLS is off. INVALID_ARGUMENT naming the setting
// and what to fix when the settings do not go together (a certificate
// without its key, a client CA without a certificate) or a file cannot be
// read, holds no PEM certificate (or key), or the key is not the
// certificate's.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> CreateServerCredentials(
    const ServerTlsFiles& files);
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CreateChannelCredentials(
    const ClientTlsFiles& files);

// Whether a plaintext channel's error says that the server hung up on it,
// as a TLS server does: gRPC then says no more than "Socket closed".
bool ClosedLikeATlsServer(std::string_view grpc_error_message);

// For the start-up log: "plaintext", "TLS" or "mTLS (client certificates
// signed by FILE required)".
std::string Describe(const ServerTlsFiles& files);
// "plaintext", "TLS" or "TLS with a client certificate".
std::string Describe(const ClientTlsFiles& files);

}  // namespace protomesh::tls
