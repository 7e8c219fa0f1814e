#ifndef SERVICES_AUTH_TLS_H_
#define SERVICES_AUTH_TLS_H_

#include <memory>
#include <string>

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

// TLS on the gRPC port and the identity of client certificates
// (docs/security.md).
namespace hub::services::auth {

struct TlsFiles {
  std::string cert_file;  // the server's certificate chain, PEM
  std::string key_file;
  // Clients may present a certificate signed by this CA; their principal
  // is then its first DNS or URI subject alternative name, or its common
  // name.
  std::string client_ca_file;
  // Every file is read again this often; a change applies to new
  // connections (certificate rotation without a restart).
  absl::Duration reload_interval = absl::Seconds(10);
};

// TLS server credentials on `files`, which are checked now (readable, a
// certificate and its key) so that a mistake stops hubd at start rather
// than failing every handshake. With a client CA, a client certificate is
// requested and checked by ClientCertificates per call, so that a missing,
// foreign or expired one is answered UNAUTHENTICATED instead of an opaque
// handshake failure.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Verifies the certificate a caller presented against the client CA (chain,
// validity, client-auth purpose), and names its principal. Results are
// cached by certificate chain until the certificate expires; the CA file is
// read again when it changes.
class ClientCertificates {
 public:
  static absl::StatusOr<std::shared_ptr<ClientCertificates>> Load(const std::string& ca_file,
                                                                  absl::Duration reload_interval);

  // The principal of the verified certificate in `context`; NOT_FOUND when
  // the caller presented none, UNAUTHENTICATED when it does not verify.
  absl::StatusOr<std::string> Principal(const grpc::AuthContext& context);

  // The same for a PEM chain (leaf first), for tests.
  absl::StatusOr<std::string> Verify(const std::string& pem_chain);

  ~ClientCertificates();

 private:
  struct Store;
  struct Verdict {
    absl::StatusOr<std::string> principal;
    absl::Time good_until;
  };
  ClientCertificates(std::string ca_file, absl::Duration reload_interval);
  // Re-reads the CA file when it changed; keeps the old CA if the new one
  // does not parse.
  absl::Status Refresh() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Verdict VerifyNow(const std::string& pem_chain) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string ca_file_;
  const absl::Duration reload_interval_;
  absl::Mutex mu_;
  std::unique_ptr<Store> store_ ABSL_GUARDED_BY(mu_);
  std::string ca_text_ ABSL_GUARDED_BY(mu_);
  absl::Time checked_at_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Verdict> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hub::services::auth

#endif  // SERVICES_AUTH_TLS_H_
