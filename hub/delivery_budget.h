#ifndef HUB_DELIVERY_BUDGET_H_
#define HUB_DELIVERY_BUDGET_H_

#include <cstdint>

namespace hub {

// How many messages a consumer may be handed now, beyond its flow control:
// a principal's pull quota (docs/security.md, "Quotas"). A consumer asks
// before each claim and reports what it was handed. Calls may come from any
// thread and must not block.
class DeliveryBudget {
 public:
  virtual ~DeliveryBudget() = default;
  virtual int64_t Available() = 0;
  virtual void Spent(int64_t messages) = 0;
};

}  // namespace hub

#endif  // HUB_DELIVERY_BUDGET_H_
