#ifndef TESTS_SUPPORT_TEST_CERTIFICATES_H_
#define TESTS_SUPPORT_TEST_CERTIFICATES_H_

#include <stdlib.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/support/test_env.h"

// Certificates for the TLS tests, made with openssl.
namespace hub::testing {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A certificate authority, the server's certificates and client
// certificates, made once for the suite.
class Certificates {
 public:
  Certificates() {
    char dir[] = "/tmp/hub-tls-XXXXXX";
    dir_ = mkdtemp(dir);
    Authority("ca");
    Authority("other-ca");
    Leaf("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    Leaf("server2", "other-ca",
         "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    Leaf("orders", "ca", "subjectAltName=DNS:orders\nextendedKeyUsage=clientAuth");
    Leaf("billing", "ca", "extendedKeyUsage=clientAuth");  // CN only
    Leaf("foreign", "other-ca", "subjectAltName=DNS:orders\nextendedKeyUsage=clientAuth");
    Leaf("server-as-client", "ca", "subjectAltName=DNS:orders\nextendedKeyUsage=serverAuth");
    Expired("expired", "ca", "subjectAltName=DNS:orders\nextendedKeyUsage=clientAuth");
  }

  std::string Path(const std::string& name) const { return absl::StrCat(dir_, "/", name); }

  // Trusts `ca`; presents `client` when given.
  std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string& ca,
                                                        const std::string& client = "") const {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadText(Path(ca + ".pem"));
    if (!client.empty()) {
      options.pem_cert_chain = ReadText(Path(client + ".pem"));
      options.pem_private_key = ReadText(Path(client + ".key"));
    }
    return grpc::SslCredentials(options);
  }

 private:
  void Run(const std::string& command) {
    CommandResult r = RunCommand(absl::StrCat("cd ", dir_, " && ", command));
    ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.err;
  }
  void Authority(const std::string& name) {
    Run(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ",
                     "-keyout ", name, ".key -out ", name, ".pem -days 30 -subj /CN=", name));
  }
  void Request(const std::string& name, const std::string& extensions) {
    std::ofstream(Path(name + ".ext")) << extensions << "\n";
    Run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ",
                     "-keyout ", name, ".key -out ", name, ".csr -subj /CN=", name));
  }
  void Leaf(const std::string& name, const std::string& ca, const std::string& extensions) {
    Request(name, extensions);
    Run(absl::StrCat("openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ", ca,
                     ".key -CAcreateserial -days 30 -extfile ", name, ".ext -out ", name, ".pem"));
  }
  // Valid for one day in 2020: `openssl ca` is the tool that sets dates.
  void Expired(const std::string& name, const std::string& ca, const std::string& extensions) {
    Request(name, extensions);
    std::ofstream(Path("ca.cnf"))
        << "[ca]\ndefault_ca = d\n[d]\ndatabase = " << dir_
        << "/index.txt\nnew_certs_dir = " << dir_ << "\nserial = " << dir_
        << "/serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n";
    std::ofstream(Path("index.txt")).close();
    std::ofstream(Path("serial")) << "1000\n";
    Run(absl::StrCat("openssl ca -batch -notext -config ca.cnf -cert ", ca, ".pem -keyfile ", ca,
                     ".key -in ", name, ".csr -out ", name, ".pem -extfile ", name,
                     ".ext -startdate 20200101000000Z -enddate 20200102000000Z"));
  }

  std::string dir_;
};

// Made once per test binary.
inline const Certificates& Certs() {
  static const Certificates* certificates = new Certificates();
  return *certificates;
}

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_TEST_CERTIFICATES_H_
