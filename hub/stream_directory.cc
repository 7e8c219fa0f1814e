#include "hub/stream_directory.h"

#include "hub/stream_session.h"

namespace hub {

void StreamDirectory::Add(const std::string& subscription, StreamSession* stream) {
  absl::MutexLock lock(&mu_);
  streams_[subscription].insert(stream);
}

void StreamDirectory::Remove(const std::string& subscription, StreamSession* stream) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(subscription);
  if (it == streams_.end()) return;
  it->second.erase(stream);
  if (it->second.empty()) streams_.erase(it);
}

// Under the lock, so that a stream is not destroyed while it hears.
void StreamDirectory::Acked(const std::string& subscription, absl::Span<const AckResult> results) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(subscription);
  if (it == streams_.end()) return;
  for (StreamSession* stream : it->second) stream->AckedElsewhere(results);
}

void StreamDirectory::DeadlinesChanged(const std::string& subscription,
                                       absl::Span<const std::string> ack_ids, int seconds) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(subscription);
  if (it == streams_.end()) return;
  for (StreamSession* stream : it->second) stream->DeadlinesChangedElsewhere(ack_ids, seconds);
}

}  // namespace hub
