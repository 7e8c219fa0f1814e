#ifndef HUBCTL_PRINTER_H_
#define HUBCTL_PRINTER_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/message.h"
#include "hub/v1/publisher.pb.h"
#include "hub/v1/schemas.pb.h"
#include "hub/v1/subscriber.pb.h"

namespace hub::hubctl {

enum class OutputFormat { kText, kJson };

struct EstatePlan;

// Everything hubctl prints on stdout. Text is for people (tables, one line
// per message); JSON is for scripts: one document per command, in the API's
// field names, except `tail`, which prints one document per line.
class Printer {
 public:
  Printer(OutputFormat format, std::ostream& out) : format_(format), out_(out) {}

  void Topics(const std::vector<v1::Topic>& topics, bool one);
  void Subscriptions(const std::vector<v1::Subscription>& subscriptions, bool one);
  void Schemas(const std::vector<v1::Schema>& schemas, bool one);
  void Snapshots(const std::vector<v1::Snapshot>& snapshots, bool one);
  // A revision's definition, byte for byte, in text; the Schema in JSON.
  void Definition(const v1::Schema& schema);
  // One line (or JSON entry) per message, in order; a failed one shows its
  // error.
  void Published(const std::vector<absl::StatusOr<client::PublishAck>>& acks);
  void Received(const std::vector<v1::ReceivedMessage>& messages);
  // One delivery of a stream, printed at once.
  void ReceivedLine(const v1::ReceivedMessage& message);
  void Stats(const std::vector<v1::SubscriptionStats>& stats);
  // One line per ack id: its verdict.
  void AckResults(const std::vector<v1::AckResult>& results);
  // A message, then one line per subscription: its state there.
  void Fate(const v1::MessageFate& fate);
  // A topic's messages, one line each as Received prints them.
  void Messages(const std::vector<v1::Message>& messages);
  // A subscription's messages with their state, one line each.
  void SubscriptionMessages(const std::vector<v1::SubscriptionMessage>& messages);
  void Redriven(const v1::RedriveResponse& redriven);
  // apply's changes, one a line ("create topic orders", "update
  // subscription billing: ack_deadline_seconds"), and whether they were made.
  void Plan(const EstatePlan& plan, bool applied);
  // A command with nothing to show but success, e.g. "deleted topic orders".
  void Done(const std::string& text);

 private:
  template <typename Proto>
  void JsonList(const std::vector<Proto>& items, bool one);

  const OutputFormat format_;
  std::ostream& out_;
};

}  // namespace hub::hubctl

#endif  // HUBCTL_PRINTER_H_
