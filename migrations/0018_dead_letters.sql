-- What each subscription dead-lettered (docs/operations.md, "Dead
-- letters"): one row per message that left a subscription for its
-- dead-letter topic, written in the transaction that publishes the letter.
-- It is what lists a subscription's dead letters and a message's fate, and
-- what a redrive takes back: deleting the row and leasing the message to
-- its subscription again is one transaction, so a message is either
-- redriven or still dead-lettered. `letter_position` is the letter's
-- position in the dead-letter topic (its message id there).
CREATE TABLE dead_letters (
  subscription_id   bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  position          bigint NOT NULL,
  letter_topic_id   bigint NOT NULL,
  letter_position   bigint NOT NULL,
  attempts          int NOT NULL,
  reason            text NOT NULL,
  dead_lettered_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (subscription_id, position)
);
