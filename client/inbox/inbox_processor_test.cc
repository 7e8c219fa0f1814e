#include "client/inbox/inbox_processor.h"

#include <algorithm>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hub::client::inbox {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// The consumer's database: recorded ids and side effects, each committed
// only by Commit.
class FakeStore : public InboxStore {
 public:
  absl::Status Begin() override {
    pending_ids_.clear();
    pending_effects_.clear();
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> Record(const std::vector<std::string>& ids) override {
    std::vector<std::string> fresh;
    for (const std::string& id : ids) {
      if (recorded.count(id) == 0 && pending_ids_.insert(id).second) fresh.push_back(id);
    }
    return fresh;
  }
  absl::Status Commit() override {
    if (fail_commit) return absl::UnavailableError("connection lost");
    recorded.insert(pending_ids_.begin(), pending_ids_.end());
    effects.insert(effects.end(), pending_effects_.begin(), pending_effects_.end());
    return absl::OkStatus();
  }
  void Rollback() override { ++rollbacks; }
  void Effect(const std::string& what) { pending_effects_.push_back(what); }

  std::set<std::string> recorded;
  std::vector<std::string> effects;
  int rollbacks = 0;
  bool fail_commit = false;

 private:
  std::set<std::string> pending_ids_;
  std::vector<std::string> pending_effects_;
};

class InboxProcessorTest : public ::testing::Test {
 protected:
  InboxItem Item(const std::string& id) {
    Message m;
    m.message_id = id;
    m.data = "data of " + id;
    return InboxItem{m, [this, id] { acked.push_back(id); }, [this, id] { nacked.push_back(id); }};
  }

  std::vector<InboxItem> Items(std::initializer_list<std::string> ids) {
    std::vector<InboxItem> items;
    for (const std::string& id : ids) items.push_back(Item(id));
    return items;
  }

  FakeStore store;
  std::set<std::string> failing;
  std::vector<std::string> committed_ids;
  InboxProcessor processor{store,
                           [this](const Message& m) {
                             if (failing.count(m.message_id) != 0) {
                               return absl::InternalError("handler failed");
                             }
                             store.Effect(m.data);
                             return absl::OkStatus();
                           },
                           [this](const std::vector<std::string>& ids) {
                             // Commit comes first: none of its messages is acked yet.
                             for (const std::string& id : ids) {
                               EXPECT_EQ(std::count(acked.begin(), acked.end(), id), 0) << id;
                             }
                             committed_ids.insert(committed_ids.end(), ids.begin(), ids.end());
                           }};
  std::vector<std::string> acked;
  std::vector<std::string> nacked;
};

TEST_F(InboxProcessorTest, NewMessagesRunTheHandlerCommitThenAck) {
  const InboxOutcome o = processor.Process(Items({"m1", "m2"}));
  EXPECT_EQ(o.handled, 2);
  EXPECT_THAT(store.effects, ElementsAre("data of m1", "data of m2"));
  EXPECT_THAT(committed_ids, ElementsAre("m1", "m2"));
  EXPECT_THAT(acked, ElementsAre("m1", "m2"));
  EXPECT_THAT(nacked, IsEmpty());
}

TEST_F(InboxProcessorTest, ARedeliveryIsAckedWithoutTheHandler) {
  processor.Process(Items({"m1"}));
  acked.clear();
  // The consumer crashed after its commit, before the ack: m1 comes again.
  const InboxOutcome o = processor.Process(Items({"m1", "m2"}));
  EXPECT_EQ(o.handled, 1);
  EXPECT_EQ(o.duplicates, 1);
  EXPECT_THAT(store.effects, ElementsAre("data of m1", "data of m2"));
  EXPECT_THAT(acked, ElementsAre("m1", "m2"));
}

TEST_F(InboxProcessorTest, TheSameMessageTwiceInOneBatchRunsOnce) {
  const InboxOutcome o = processor.Process(Items({"m1", "m1"}));
  EXPECT_EQ(o.handled, 1);
  EXPECT_EQ(o.duplicates, 1);
  EXPECT_THAT(store.effects, ElementsAre("data of m1"));
  EXPECT_THAT(acked, ElementsAre("m1", "m1"));
}

TEST_F(InboxProcessorTest, AFailingHandlerNacksOnlyItsMessage) {
  failing = {"m2"};
  const InboxOutcome o = processor.Process(Items({"m1", "m2", "m3"}));
  EXPECT_EQ(o.handled, 2);
  EXPECT_EQ(o.failed, 1);
  // The batch rolled back, then went one message per transaction.
  EXPECT_EQ(store.rollbacks, 2);
  EXPECT_THAT(store.effects, ElementsAre("data of m1", "data of m3"));
  EXPECT_THAT(store.recorded, UnorderedElementsAre("m1", "m3"));
  EXPECT_THAT(acked, ElementsAre("m1", "m3"));
  EXPECT_THAT(nacked, ElementsAre("m2"));
}

TEST_F(InboxProcessorTest, NothingIsAckedWhenTheCommitFails) {
  store.fail_commit = true;
  const InboxOutcome o = processor.Process(Items({"m1"}));
  EXPECT_EQ(o.failed, 1);
  EXPECT_THAT(acked, IsEmpty());
  EXPECT_THAT(nacked, ElementsAre("m1"));
  EXPECT_THAT(store.effects, IsEmpty());
  EXPECT_THAT(committed_ids, IsEmpty());
}

}  // namespace
}  // namespace hub::client::inbox
