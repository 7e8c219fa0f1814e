// A consumer in its own process, driven over stdin/stdout by tests that
// need to SIGSTOP or kill a consumer.
//
//   test_consumer ADDRESS SUBSCRIPTION pull N
//     Pulls up to N messages (waiting up to 10 s) and prints
//     "MSG <ack_id> <message_id> <attempt>" for each, then "PULLED". Then, for
//     each "ack" line on stdin, acknowledges them all and prints
//     "RESULT <ack_id> <status>" for each, then "DONE".
//   test_consumer ADDRESS SUBSCRIPTION stream
//     StreamingPull, acking everything; prints "MSG <data>" per message as
//     it arrives, until killed.
#include <cstdio>
#include <iostream>
#include <string>

#include <grpcpp/create_channel.h>

#include "hub/v1/subscriber.grpc.pb.h"

namespace {

int PullAndAck(hub::v1::Subscriber::Stub& stub, const std::string& sub, int n) {
  grpc::ClientContext ctx;
  hub::v1::PullRequest req;
  req.set_subscription(sub);
  req.set_max_messages(n);
  req.mutable_max_wait()->set_seconds(10);
  hub::v1::PullResponse resp;
  if (!stub.Pull(&ctx, req, &resp).ok()) return 2;
  for (const auto& m : resp.received_messages()) {
    std::printf("MSG %s %s %d\n", m.ack_id().c_str(), m.message().message_id().c_str(),
                m.delivery_attempt());
  }
  std::printf("PULLED\n");
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line != "ack") continue;
    grpc::ClientContext ack_ctx;
    hub::v1::AcknowledgeRequest ack;
    ack.set_subscription(sub);
    for (const auto& m : resp.received_messages()) ack.add_ack_ids(m.ack_id());
    hub::v1::AcknowledgeResponse results;
    grpc::Status s = stub.Acknowledge(&ack_ctx, ack, &results);
    if (!s.ok()) std::printf("ERROR %d\n", s.error_code());
    for (const auto& r : results.results()) {
      std::printf("RESULT %s %s\n", r.ack_id().c_str(),
                  hub::v1::AckStatus_Name(r.status()).c_str());
    }
    std::printf("DONE\n");
    std::fflush(stdout);
  }
  return 0;
}

int Stream(hub::v1::Subscriber::Stub& stub, const std::string& sub) {
  grpc::ClientContext ctx;
  auto stream = stub.StreamingPull(&ctx);
  hub::v1::StreamingPullRequest first;
  first.set_subscription(sub);
  if (!stream->Write(first)) return 2;
  hub::v1::StreamingPullResponse resp;
  while (stream->Read(&resp)) {
    hub::v1::StreamingPullRequest acks;
    for (const auto& m : resp.received_messages()) {
      std::printf("MSG %s\n", m.message().data().c_str());
      acks.add_ack_ids(m.ack_id());
    }
    std::fflush(stdout);
    stream->Write(acks);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 64;
  auto stub = hub::v1::Subscriber::NewStub(
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  const std::string mode = argv[3];
  if (mode == "pull" && argc == 5) return PullAndAck(*stub, argv[2], std::stoi(argv[4]));
  if (mode == "stream") return Stream(*stub, argv[2]);
  return 64;
}
