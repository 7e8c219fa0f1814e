#ifndef TESTS_SUPPORT_PUBLISH_SQL_H_
#define TESTS_SUPPORT_PUBLISH_SQL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "hub/types.h"

// For tests that run the publish functions of migrations/0012_segments.sql
// themselves, in transactions of their own.
namespace hub::testing {

// The SQL call hub_publish_stage(...) that stores `messages` on `topic`,
// with the arguments hubd would send (records as hub/pg/segment_codec
// writes them, segments of at most 1,000), as one producer batch when
// `producer` is not empty: of `batch_count` messages (0: all of
// `messages`), the first of them `messages[0]`.
std::string StageCall(const std::string& topic, const std::vector<Message>& messages,
                      const std::string& producer = "", int64_t first_sequence = 0,
                      int batch_count = 0);

// `count` messages whose data is "<prefix><i>", i from 0, keyed "<key
// prefix><i>" unless the key prefix is empty.
std::vector<Message> NumberedMessages(int count, const std::string& prefix,
                                      const std::string& key_prefix = "");

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_PUBLISH_SQL_H_
