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
//   test_consumer ADDRESS SUBSCRIPTION stream-crash PERCENT SEED
//     StreamingPull holding at most 10 messages; acks each message on its
//     own and prints "ACK <data>", except that PERCENT of the deliveries
//     kill the process (SIGKILL) before their ack.
//   test_consumer ADDRESS SUBSCRIPTION streams N
//     Opens N StreamingPull streams, prints "OPEN" and waits to be killed.
//   test_consumer ADDRESS SUBSCRIPTION pull-loop SEED
//     Pulls up to 10 messages at a time, prints "GOT <data>" for each,
//     works on them for 0-300 ms, acknowledges them and prints
//     "<STATUS> <data>" per result (OK, EXPIRED, INVALID), until killed.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

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

int StreamCrash(hub::v1::Subscriber::Stub& stub, const std::string& sub, int percent,
                unsigned seed) {
  std::mt19937 random(seed ^ static_cast<unsigned>(getpid()));
  grpc::ClientContext ctx;
  auto stream = stub.StreamingPull(&ctx);
  hub::v1::StreamingPullRequest first;
  first.set_subscription(sub);
  first.set_max_outstanding_messages(10);
  if (!stream->Write(first)) return 2;
  hub::v1::StreamingPullResponse resp;
  while (stream->Read(&resp)) {
    for (const auto& m : resp.received_messages()) {
      if (static_cast<int>(random() % 100) < percent) kill(getpid(), SIGKILL);
      hub::v1::StreamingPullRequest ack;
      ack.add_ack_ids(m.ack_id());
      if (!stream->Write(ack)) return 2;
      std::printf("ACK %s\n", m.message().data().c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

int ManyStreams(hub::v1::Subscriber::Stub& stub, const std::string& sub, int n) {
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<
      grpc::ClientReaderWriter<hub::v1::StreamingPullRequest, hub::v1::StreamingPullResponse>>>
      streams;
  hub::v1::StreamingPullRequest first;
  first.set_subscription(sub);
  for (int i = 0; i < n; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(stub.StreamingPull(contexts.back().get()));
    if (!streams.back()->Write(first)) return 2;
  }
  std::printf("OPEN\n");
  std::fflush(stdout);
  pause();
  return 0;
}

int PullLoop(hub::v1::Subscriber::Stub& stub, const std::string& sub, unsigned seed) {
  std::mt19937 random(seed ^ static_cast<unsigned>(getpid()));
  for (;;) {
    grpc::ClientContext ctx;
    hub::v1::PullRequest req;
    req.set_subscription(sub);
    req.set_max_messages(10);
    req.mutable_max_wait()->set_seconds(1);
    hub::v1::PullResponse resp;
    if (!stub.Pull(&ctx, req, &resp).ok()) {
      usleep(100000);
      continue;
    }
    if (resp.received_messages_size() == 0) continue;
    std::map<std::string, std::string> data_of;
    hub::v1::AcknowledgeRequest ack;
    ack.set_subscription(sub);
    for (const auto& m : resp.received_messages()) {
      std::printf("GOT %s\n", m.message().data().c_str());
      data_of[m.ack_id()] = m.message().data();
      ack.add_ack_ids(m.ack_id());
    }
    std::fflush(stdout);
    usleep(static_cast<useconds_t>(random() % 300000));
    grpc::ClientContext ack_ctx;
    hub::v1::AcknowledgeResponse results;
    if (!stub.Acknowledge(&ack_ctx, ack, &results).ok()) continue;
    for (const auto& r : results.results()) {
      std::printf("%s %s\n", hub::v1::AckStatus_Name(r.status()).c_str(),
                  data_of[r.ack_id()].c_str());
    }
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 64;
  auto stub = hub::v1::Subscriber::NewStub(
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  const std::string mode = argv[3];
  if (mode == "pull" && argc == 5) return PullAndAck(*stub, argv[2], std::stoi(argv[4]));
  if (mode == "stream") return Stream(*stub, argv[2]);
  if (mode == "stream-crash" && argc == 6) {
    return StreamCrash(*stub, argv[2], std::stoi(argv[4]),
                       static_cast<unsigned>(std::stoul(argv[5])));
  }
  if (mode == "streams" && argc == 5) return ManyStreams(*stub, argv[2], std::stoi(argv[4]));
  if (mode == "pull-loop" && argc == 5) {
    return PullLoop(*stub, argv[2], static_cast<unsigned>(std::stoul(argv[4])));
  }
  return 64;
}
