#ifndef HUB_SETTLEMENT_H_
#define HUB_SETTLEMENT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "hub/ack_id.h"
#include "hub/group_commit.h"
#include "hub/hub_probe.h"
#include "hub/store.h"
#include "hub/types.h"
#include "hub/wake_up_board.h"

namespace hub {

// Ack ids as a request names them: a result per id, INVALID for the
// malformed ones and OK (until the store says otherwise) for the rest, which
// are parsed into `ids` in order.
struct ParsedAckIds {
  std::vector<AckResult> results;
  std::vector<AckId> ids;
};
ParsedAckIds ParseAckIds(const std::vector<std::string>& ack_ids);

// Replaces the OK results, in order, with the store's verdicts on the parsed
// ids (`statuses` has one per parsed id).
void ApplyVerdicts(absl::Span<const AckStatus> statuses, std::vector<AckResult>& results);

// Ends deliveries: acks, rejects, nacks and deadline changes, by the
// subscription's guarantee. Plain at-least-once acks are coalesced across
// every stream and call into shared statements.
class Settlement {
 public:
  Settlement(Store& store, HubProbe& probe, WakeUpBoard& wake_ups, int max_ack_batch);

  // Commits the queued acks; later acks fail with UNAVAILABLE.
  void Stop() { acker_.Stop(); }

  // At-most-once has nothing to settle; plain at-least-once acks go through
  // the ack batcher with no verdict per id (OK for every well-formed id);
  // everything else gets the store's checked verdict per id.
  absl::StatusOr<std::vector<AckResult>> Settle(const SubscriptionRecord& sub,
                                                const std::vector<std::string>& ack_ids,
                                                SettleKind kind, absl::string_view reason);
  // 0 nacks (the message is due after its backoff), anything else extends.
  // The results are INVALID for malformed ids, OK for the rest.
  absl::StatusOr<std::vector<AckResult>> ModifyDeadline(const SubscriptionRecord& sub,
                                                        const std::vector<std::string>& ack_ids,
                                                        int seconds);
  // Counts acks and refusals (expired, invalid) of settled `results`.
  void CountAcks(absl::string_view subscription, absl::Span<const AckResult> results);

 private:
  struct AckItem {
    int64_t subscription_id;
    std::vector<AckId> ids;
  };
  void CountRefusals(absl::string_view subscription, absl::Span<const AckResult> results);

  Store& store_;
  HubProbe& probe_;
  WakeUpBoard& wake_ups_;
  GroupCommitter<AckItem> acker_;
};

}  // namespace hub

#endif  // HUB_SETTLEMENT_H_
