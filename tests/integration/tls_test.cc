// TLS and mutual TLS on the gRPC port (docs/security.md), with certificates
// the test makes with openssl: handshakes, the principal taken from a client
// certificate's SAN or CN, refusals of a missing, foreign or expired
// certificate as UNAUTHENTICATED with nothing written, certificate reload
// without a restart, and the per-connection limits.
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "client/publisher.h"
#include "tests/support/hub_client.h"
#include "tests/support/test_certificates.h"
#include "tests/support/test_env.h"

namespace hub::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void StartHub(std::vector<std::string> flags) {
    url_ = SharedPostgres().CreateDatabase();
    flags.push_back("--tls_cert_file=" + Certs().Path("server.pem"));
    flags.push_back("--tls_key_file=" + Certs().Path("server.key"));
    hubd_ = std::make_unique<HubProcess>(url_, flags);
    hubd_->UseCredentials(Certs().Credentials("ca"));
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  }

  std::unique_ptr<v1::Publisher::Stub> PublisherAs(
      std::shared_ptr<grpc::ChannelCredentials> creds) {
    return v1::Publisher::NewStub(MakeChannel(hubd_->address(), std::move(creds)));
  }
  int64_t Messages() { return std::stoll(QueryValue(url_, kCountStoredMessages)); }

  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
};

TEST_F(TlsTest, ServesTlsAndRefusesPlaintextAndUntrustedServers) {
  ASSERT_NO_FATAL_FAILURE(StartHub({}));
  auto trusted = PublisherAs(Certs().Credentials("ca"));
  EXPECT_TRUE(CreateTopic(*trusted, "orders").ok());
  EXPECT_TRUE(PublishOne(*trusted, "orders", "over tls", "").ok());
  // A plaintext client, and a client that trusts another CA, never get a
  // call through.
  EXPECT_EQ(PublishOne(*PublisherAs(nullptr), "orders", "plain", "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(
      PublishOne(*PublisherAs(Certs().Credentials("other-ca")), "orders", "x", "").error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Messages(), 1);
}

TEST_F(TlsTest, MutualTlsTakesThePrincipalFromTheCertificate) {
  const std::string policy =
      absl::StrCat(Certs().Path("policy-"), ::testing::UnitTest::GetInstance()->random_seed());
  std::ofstream(policy)
      << "allow orders publish topic:orders\nallow billing publish topic:billing\n"
         "allow ops * *\n";
  const std::string token = "t-ops-secret";
  const std::string tokens = policy + ".tokens";
  CommandResult hash = RunCommand(absl::StrCat("printf %s ", token, " | sha256sum | cut -c1-64"));
  std::ofstream(tokens) << hash.out.substr(0, 64) << " ops\n";
  ASSERT_NO_FATAL_FAILURE(StartHub({"--tls_client_ca_file=" + Certs().Path("ca.pem"),
                                    "--policy_file=" + policy, "--tokens_file=" + tokens}));
  // The operator, by token over TLS, without a certificate.
  auto ops = PublisherAs(grpc::CompositeChannelCredentials(Certs().Credentials("ca"),
                                                           grpc::AccessTokenCredentials(token)));
  ASSERT_TRUE(CreateTopic(*ops, "orders").ok());
  ASSERT_TRUE(CreateTopic(*ops, "billing").ok());

  auto orders = PublisherAs(Certs().Credentials("ca", "orders"));
  EXPECT_TRUE(PublishOne(*orders, "orders", "o1", "").ok());  // SAN DNS:orders
  EXPECT_TRUE(PublishOne(*PublisherAs(Certs().Credentials("ca", "billing")), "billing", "b1", "")
                  .ok());  // CN
  // The client library (and so hubctl and the adapters) over mutual TLS.
  auto connection = client::Connection::Open({.endpoint = hubd_->address(),
                                              .ca_file = Certs().Path("ca.pem"),
                                              .cert_file = Certs().Path("orders.pem"),
                                              .key_file = Certs().Path("orders.key")});
  ASSERT_TRUE(connection.ok()) << connection.status();
  auto ack = client::Publisher(*connection, "orders").Publish({.data = "o2"}).get();
  EXPECT_TRUE(ack.ok()) << ack.status();
  const int64_t stored = Messages();
  EXPECT_EQ(stored, 3);

  struct Refusal {
    std::string what;
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    std::string topic;
    grpc::StatusCode code;
    std::string message;
  };
  const Refusal refusals[] = {
      {"orders' certificate on billing's topic", Certs().Credentials("ca", "orders"), "billing",
       grpc::StatusCode::PERMISSION_DENIED, "orders may not publish on topic 'billing'"},
      {"no certificate, no token", Certs().Credentials("ca"), "orders",
       grpc::StatusCode::UNAUTHENTICATED, "a valid bearer token or client certificate is required"},
      {"a certificate from another CA", Certs().Credentials("ca", "foreign"), "orders",
       grpc::StatusCode::UNAUTHENTICATED, "unable to get local issuer certificate"},
      {"an expired certificate", Certs().Credentials("ca", "expired"), "orders",
       grpc::StatusCode::UNAUTHENTICATED, "certificate has expired"},
      {"a server certificate used by a client", Certs().Credentials("ca", "server-as-client"),
       "orders", grpc::StatusCode::UNAUTHENTICATED, "unsuitable certificate purpose"},
      {"a valid certificate with a wrong token",
       grpc::CompositeChannelCredentials(Certs().Credentials("ca", "orders"),
                                         grpc::AccessTokenCredentials("t-wrong")),
       "orders", grpc::StatusCode::UNAUTHENTICATED, "the bearer token is not valid"},
  };
  for (const Refusal& r : refusals) {
    grpc::Status status = PublishOne(*PublisherAs(r.credentials), r.topic, "refused", "");
    EXPECT_EQ(status.error_code(), r.code) << r.what << ": " << status.error_message();
    EXPECT_NE(status.error_message().find(r.message), std::string::npos)
        << r.what << ": " << status.error_message();
    EXPECT_EQ(Messages(), stored) << r.what << " wrote";
  }
}

TEST_F(TlsTest, ServerCertificateIsReloadedWithoutARestart) {
  // The files hubd watches, replaced later by rename as a Secret update is.
  const std::string cert = Certs().Path("live.pem"), key = Certs().Path("live.key");
  ASSERT_EQ(RunCommand(absl::StrCat("cp ", Certs().Path("server.pem"), " ", cert, " && cp ",
                                    Certs().Path("server.key"), " ", key))
                .exit_code,
            0);
  url_ = SharedPostgres().CreateDatabase();
  hubd_ = std::make_unique<HubProcess>(
      url_, std::vector<std::string>{"--tls_cert_file=" + cert, "--tls_key_file=" + key,
                                     "--tls_reload_interval=1s"});
  hubd_->UseCredentials(Certs().Credentials("ca"));
  ASSERT_NO_FATAL_FAILURE(hubd_->Start());
  grpc::Status created = CreateTopic(*PublisherAs(Certs().Credentials("ca")), "tls");
  ASSERT_TRUE(created.ok()) << created.error_message();

  ASSERT_EQ(RunCommand(absl::StrCat("cp ", Certs().Path("server2.pem"), " ", cert, ".new && cp ",
                                    Certs().Path("server2.key"), " ", key, ".new && mv ", key,
                                    ".new ", key, " && mv ", cert, ".new ", cert))
                .exit_code,
            0);
  const pid_t pid = hubd_->pid();
  grpc::Status renewed;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    renewed = PublishOne(*PublisherAs(Certs().Credentials("other-ca")), "tls", "after reload", "");
  } while (!renewed.ok() && absl::Now() < deadline);
  EXPECT_TRUE(renewed.ok()) << renewed.error_message();
  EXPECT_EQ(hubd_->pid(), pid);
  // New connections no longer get the old certificate.
  EXPECT_EQ(PublishOne(*PublisherAs(Certs().Credentials("ca")), "tls", "old", "").error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(TlsStartTest, BadTlsFilesStopHubdAtStart) {
  const std::string url = SharedPostgres().CreateDatabase();
  struct Case {
    std::string flags, expected;
  } cases[] = {
      {"--tls_cert_file=" + Certs().Path("server.pem"), "go together"},
      {absl::StrCat("--tls_cert_file=", Certs().Path("server.pem"),
                    " --tls_key_file=", Certs().Path("orders.key")),
       "not a PEM certificate and its private key"},
      {"--tls_client_ca_file=" + Certs().Path("ca.pem"), "needs --tls_cert_file"},
      {absl::StrCat("--tls_cert_file=", Certs().Path("server.pem"), " --tls_key_file=",
                    Certs().Path("server.key"), " --tls_client_ca_file=/nonexistent"),
       "cannot read --tls_client_ca_file"},
  };
  for (const Case& c : cases) {
    CommandResult r =
        RunCommand(absl::StrCat("HUB_DATABASE_URL='", url, "' ", HUBD_PATH,
                                " --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0 ", c.flags));
    EXPECT_EQ(r.exit_code, 2) << c.flags << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.flags << "\n" << r.err;
  }
}

TEST(LimitsTest, OversizedMetadataIsRefusedAndStreamsPerConnectionAreBounded) {
  const std::string url = SharedPostgres().CreateDatabase();
  HubProcess hubd(url, {"--max_streams_per_connection=2", "--max_metadata_bytes=4096"});
  ASSERT_NO_FATAL_FAILURE(hubd.Start());
  auto publisher = hubd.Publisher();
  grpc::Status created = CreateTopic(*publisher, "limits");
  ASSERT_TRUE(created.ok()) << created.error_message();
  {
    grpc::ClientContext context;
    context.AddMetadata("x-padding", std::string(8192, 'p'));
    v1::PublishRequest request;
    request.set_topic("limits");
    request.add_messages()->set_data("x");
    v1::PublishResponse response;
    grpc::Status status = publisher->Publish(&context, request, &response);
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  }
  EXPECT_EQ(QueryValue(url, kCountStoredMessages), "0");

  // Two streams open on one connection; a third call on it waits for one to
  // end (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  auto channel = MakeChannel(hubd.address());
  auto subscriber = v1::Subscriber::NewStub(channel);
  ASSERT_TRUE(CreateSubscription(*subscriber, "sub", "limits").ok());
  grpc::ClientContext first, second;
  auto stream1 = subscriber->StreamingPull(&first);
  auto stream2 = subscriber->StreamingPull(&second);
  v1::StreamingPullRequest open;
  open.set_subscription("sub");
  open.set_stream_ack_deadline_seconds(10);
  ASSERT_TRUE(stream1->Write(open));
  ASSERT_TRUE(stream2->Write(open));
  absl::SleepFor(absl::Milliseconds(300));
  auto same_connection = v1::Publisher::NewStub(channel);
  {
    grpc::ClientContext third;
    third.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    v1::ListTopicsResponse out;
    EXPECT_EQ(same_connection->ListTopics(&third, v1::ListTopicsRequest(), &out).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  first.TryCancel();
  v1::StreamingPullResponse ignored;
  while (stream1->Read(&ignored)) {
  }
  stream1->Finish();
  grpc::ClientContext fourth;
  fourth.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::ListTopicsResponse out;
  EXPECT_TRUE(same_connection->ListTopics(&fourth, v1::ListTopicsRequest(), &out).ok());
  second.TryCancel();
  while (stream2->Read(&ignored)) {
  }
  stream2->Finish();
}

}  // namespace
}  // namespace hub::testing
