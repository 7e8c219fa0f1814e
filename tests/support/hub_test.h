#ifndef TESTS_SUPPORT_HUB_TEST_H_
#define TESTS_SUPPORT_HUB_TEST_H_

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/hub_client.h"
#include "tests/support/test_env.h"

namespace hub::testing {

// A fresh database and one real hubd on it, per test.
class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = SharedPostgres().CreateDatabase();
    hubd_ = std::make_unique<HubProcess>(url_, ExtraFlags());
    ASSERT_NO_FATAL_FAILURE(hubd_->Start());
    publisher_ = hubd_->Publisher();
    subscriber_ = hubd_->Subscriber();
  }

  virtual std::vector<std::string> ExtraFlags() { return {}; }

  int64_t CountRows(const std::string& sql) { return std::stoll(QueryValue(url_, sql)); }
  int64_t StoredMessages() { return CountRows(kCountStoredMessages); }

  std::string url_;
  std::unique_ptr<HubProcess> hubd_;
  std::unique_ptr<v1::Publisher::Stub> publisher_;
  std::unique_ptr<v1::Subscriber::Stub> subscriber_;
};

}  // namespace hub::testing

#endif  // TESTS_SUPPORT_HUB_TEST_H_
