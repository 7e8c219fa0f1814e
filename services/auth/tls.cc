#include "services/auth/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <vector>

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "services/auth/config_lines.h"

namespace hub::services::auth {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Every certificate in PEM `text`, in order.
std::vector<X509Ptr> ParseCertificates(const std::string& text) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  std::vector<X509Ptr> certificates;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(x);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return certificates;
}

// The first DNS or URI subject alternative name, else the common name.
std::string NameOf(X509* certificate) {
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  std::string name;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names) && name.empty(); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(names, i);
    if (entry->type == GEN_DNS || entry->type == GEN_URI) {
      const ASN1_IA5STRING* value =
          entry->type == GEN_DNS ? entry->d.dNSName : entry->d.uniformResourceIdentifier;
      name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                  ASN1_STRING_length(value));
    }
  }
  GENERAL_NAMES_free(names);
  if (!name.empty()) return name;
  X509_NAME* subject = X509_get_subject_name(certificate);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                     ASN1_STRING_length(cn));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  absl::StatusOr<std::string> cert = ReadConfigFile(files.cert_file, "--tls_cert_file");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadConfigFile(files.key_file, "--tls_key_file");
  if (!key.ok()) return key.status();
  std::vector<X509Ptr> chain = ParseCertificates(*cert);
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(key->data(), static_cast<int>(key->size())));
  EVP_PKEY* private_key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  const bool matches = !chain.empty() && private_key != nullptr &&
                       X509_check_private_key(chain[0].get(), private_key) == 1;
  EVP_PKEY_free(private_key);
  ERR_clear_error();
  if (!matches) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.cert_file, " and ", files.key_file,
                     " are not a PEM certificate and its private key"));
  }
  const auto seconds =
      static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(files.reload_interval)));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      files.key_file, files.cert_file, seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(files.client_ca_file.empty()
                                    ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                    : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

struct ClientCertificates::Store {
  X509_STORE* store = X509_STORE_new();
  ~Store() { X509_STORE_free(store); }
};

ClientCertificates::ClientCertificates(std::string ca_file, absl::Duration reload_interval)
    : ca_file_(std::move(ca_file)), reload_interval_(reload_interval) {}

ClientCertificates::~ClientCertificates() = default;

absl::StatusOr<std::shared_ptr<ClientCertificates>> ClientCertificates::Load(
    const std::string& ca_file, absl::Duration reload_interval) {
  std::shared_ptr<ClientCertificates> certificates(
      new ClientCertificates(ca_file, reload_interval));
  absl::MutexLock lock(&certificates->mu_);
  if (absl::Status status = certificates->Refresh(); !status.ok()) return status;
  return certificates;
}

absl::Status ClientCertificates::Refresh() {
  checked_at_ = absl::Now();
  absl::StatusOr<std::string> text = ReadConfigFile(ca_file_, "--tls_client_ca_file");
  if (!text.ok()) return text.status();
  if (*text == ca_text_) return absl::OkStatus();
  std::vector<X509Ptr> authorities = ParseCertificates(*text);
  if (authorities.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(ca_file_, " holds no PEM certificate"));
  }
  auto store = std::make_unique<Store>();
  for (const X509Ptr& authority : authorities) X509_STORE_add_cert(store->store, authority.get());
  const bool first = store_ == nullptr;
  store_ = std::move(store);
  ca_text_ = *std::move(text);
  cache_.clear();
  if (!first) Log(LogLevel::kInfo, "client_ca_reloaded", {{"file", ca_file_}});
  return absl::OkStatus();
}

ClientCertificates::Verdict ClientCertificates::VerifyNow(const std::string& pem_chain) {
  const absl::Time now = absl::Now();
  // A refused chain is remembered briefly: verifying costs more than asking.
  Verdict refused{absl::UnauthenticatedError(""), now + absl::Minutes(1)};
  std::vector<X509Ptr> chain = ParseCertificates(pem_chain);
  if (chain.empty()) {
    refused.principal = absl::UnauthenticatedError("the client certificate does not parse");
    return refused;
  }
  STACK_OF(X509)* intermediates = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(intermediates, chain[i].get());
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  X509_STORE_CTX_init(context, store_->store, chain[0].get(), intermediates);
  X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_CLIENT);
  const bool verified = X509_verify_cert(context) == 1;
  const int error = X509_STORE_CTX_get_error(context);
  X509_STORE_CTX_free(context);
  sk_X509_free(intermediates);
  ERR_clear_error();
  if (!verified) {
    refused.principal = absl::UnauthenticatedError(
        absl::StrCat("the client certificate is refused: ", X509_verify_cert_error_string(error)));
    return refused;
  }
  std::string name = NameOf(chain[0].get());
  if (name.empty()) {
    refused.principal =
        absl::UnauthenticatedError("the client certificate names no principal (SAN or CN)");
    return refused;
  }
  int days = 0, seconds = 0;
  ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(chain[0].get()));
  return {std::move(name), now + absl::Hours(24) * days + absl::Seconds(seconds)};
}

absl::StatusOr<std::string> ClientCertificates::Verify(const std::string& pem_chain) {
  absl::MutexLock lock(&mu_);
  if (absl::Now() - checked_at_ >= reload_interval_) {
    if (absl::Status status = Refresh(); !status.ok()) {
      Log(LogLevel::kError, "client_ca_reload_failed", {{"error", status.ToString()}});
    }
  }
  auto it = cache_.find(pem_chain);
  if (it == cache_.end() || absl::Now() >= it->second.good_until) {
    if (cache_.size() >= 4096) cache_.clear();  // bounded: chains are attacker-chosen
    it = cache_.insert_or_assign(pem_chain, VerifyNow(pem_chain)).first;
  }
  return it->second.principal;
}

absl::StatusOr<std::string> ClientCertificates::Principal(const grpc::AuthContext& context) {
  // The leaf, then what else the client sent (on a server, OpenSSL's peer
  // chain leaves the leaf out): intermediates, for building the path only.
  std::vector<grpc::string_ref> leaf = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (leaf.empty()) return absl::NotFoundError("no client certificate");
  std::string chain(leaf[0].data(), leaf[0].size());
  for (const grpc::string_ref& more :
       context.FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME)) {
    chain.append(more.data(), more.size());
  }
  return Verify(chain);
}

}  // namespace hub::services::auth
