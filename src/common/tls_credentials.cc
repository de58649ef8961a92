#include "src/common/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace protomesh::tls {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* x509) const { X509_free(x509); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

absl::StatusOr<std::string> ReadFile(const PemFile& file) {
  std::ifstream in(file.path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(file.setting, ": cannot read ", file.path,
                                                   ": ", std::strerror(errno)));
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of `pem`, or nullptr when it holds none.
X509Ptr FirstCertificate(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return certificate;
}

// The file's text, once it is known to hold at least one PEM certificate.
absl::StatusOr<std::string> ReadCertificates(const PemFile& file) {
  auto pem = ReadFile(file);
  if (!pem.ok()) return pem.status();
  if (FirstCertificate(*pem) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.setting, ": ", file.path,
        " holds no PEM certificate (a block starting with -----BEGIN CERTIFICATE-----)"));
  }
  return pem;
}

struct KeyPair {
  std::string cert_chain;
  std::string private_key;
};

// Both files, or neither: a certificate is useless without its key.
absl::Status CheckPaired(const PemFile& cert, const PemFile& key) {
  if (cert.set() && !key.set()) {
    return absl::InvalidArgumentError(absl::StrCat(
        cert.setting, " is set but ", key.setting,
        " is not: give the certificate's private key (PEM) too, or neither"));
  }
  if (key.set() && !cert.set()) {
    return absl::InvalidArgumentError(absl::StrCat(
        key.setting, " is set but ", cert.setting,
        " is not: give the certificate (PEM) of that key too, or neither"));
  }
  return absl::OkStatus();
}

// The certificate chain and its private key, checked to belong together.
absl::StatusOr<KeyPair> ReadKeyPair(const PemFile& cert, const PemFile& key) {
  KeyPair pair;
  auto chain = ReadCertificates(cert);
  if (!chain.ok()) return chain.status();
  pair.cert_chain = *std::move(chain);
  auto private_key = ReadFile(key);
  if (!private_key.ok()) return private_key.status();
  pair.private_key = *std::move(private_key);

  BioPtr bio = MemoryBio(pair.private_key);
  KeyPtr parsed(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (parsed == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        key.setting, ": ", key.path,
        " holds no unencrypted PEM private key (a block starting with -----BEGIN PRIVATE "
        "KEY----- or -----BEGIN RSA/EC PRIVATE KEY-----)"));
  }
  X509Ptr leaf = FirstCertificate(pair.cert_chain);
  const bool matches = X509_check_private_key(leaf.get(), parsed.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return absl::InvalidArgumentError(absl::StrCat(
        key.setting, ": the key in ", key.path, " is not the private key of the certificate in ",
        cert.path, " (", cert.setting, ")"));
  }
  return pair;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> CreateServerCredentials(
    const ServerTlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  if (auto s = CheckPaired(files.cert_file, files.key_file); !s.ok()) return s;
  if (!files.cert_file.set()) {
    return absl::InvalidArgumentError(absl::StrCat(
        files.client_ca_file.setting, " needs TLS: set ", files.cert_file.setting, " and ",
        files.key_file.setting, " (the server's certificate and key) too"));
  }
  auto pair = ReadKeyPair(files.cert_file, files.key_file);
  if (!pair.ok()) return pair.status();
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({pair->private_key, pair->cert_chain});
  if (files.client_ca_file.set()) {
    auto ca = ReadCertificates(files.client_ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CreateChannelCredentials(
    const ClientTlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureChannelCredentials();
  if (auto s = CheckPaired(files.cert_file, files.key_file); !s.ok()) return s;
  grpc::SslCredentialsOptions options;
  if (files.ca_file.set()) {
    auto ca = ReadCertificates(files.ca_file);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  if (files.cert_file.set()) {
    auto pair = ReadKeyPair(files.cert_file, files.key_file);
    if (!pair.ok()) return pair.status();
    options.pem_cert_chain = std::move(pair->cert_chain);
    options.pem_private_key = std::move(pair->private_key);
  }
  return grpc::SslCredentials(options);
}

bool ClosedLikeATlsServer(std::string_view grpc_error_message) {
  return grpc_error_message.find("Socket closed") != std::string_view::npos;
}

std::string Describe(const ServerTlsFiles& files) {
  if (!files.enabled()) return "plaintext";
  if (!files.client_ca_file.set()) return "TLS";
  return absl::StrCat("mTLS (client certificates signed by ", files.client_ca_file.path,
                      " required)");
}

std::string Describe(const ClientTlsFiles& files) {
  if (!files.enabled()) return "plaintext";
  return files.cert_file.set() ? "TLS with a client certificate" : "TLS";
}

}  // namespace protomesh::tls
