#ifndef CLIENT_MESSAGE_H_
#define CLIENT_MESSAGE_H_

#include <map>
#include <string>

#include "absl/time/time.h"

namespace hub::client {

// A message as published and as received. Limits are docs/api.md's: data may be
// empty only when attributes are not; at most 100 attributes.
struct Message {
  std::string data;
  std::map<std::string, std::string> attributes;
  // Messages of one key are delivered in publish order on subscriptions
  // with message ordering; the Publisher keeps one batch of a key in flight.
  std::string ordering_key;
  // Left empty, the Publisher generates one (PublisherOptions), so its
  // retries are never stored twice.
  std::string idempotency_key;
  // Delayed delivery: no subscription gets the message before its publish
  // time plus this (at most the topic's message_retention). Zero: at once.
  absl::Duration delivery_delay;
  // Set on received messages only.
  std::string message_id;
  absl::Time publish_time = absl::InfinitePast();
  // When a delayed message was due; InfinitePast when it was not delayed.
  absl::Time deliver_time = absl::InfinitePast();
};

// What a successful publish returns.
struct PublishAck {
  std::string message_id;
  // The idempotency key was used before within the topic's dedup window;
  // `message_id` is the original message's and nothing new was stored.
  bool duplicate = false;
};

}  // namespace hub::client

#endif  // CLIENT_MESSAGE_H_
