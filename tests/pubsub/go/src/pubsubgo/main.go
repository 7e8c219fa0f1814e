// A service written for Google Cloud Pub/Sub in Go, with Go's stock client
// (cloud.google.com/go/pubsub, Debian's golang-google-cloud-dev), unchanged:
// PUBSUB_EMULATOR_HOST points it at the hub. It makes a topic and an ordered
// subscription, publishes HUB_MESSAGES messages over 10 ordering keys with
// the client's batching, receives and acks them, takes a snapshot first and
// seeks back to it, and prints what it saw as `RESULT <json>`
// (tests/pubsub/pubsub_test.cc checks it). With HUB_TYPED_TOPIC it also
// publishes a conforming and a non-conforming message to that topic, whose
// schema (JSON) has an int64 `id`: this client's version has no schema
// calls of its own, but publishes to typed topics as any other.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"cloud.google.com/go/pubsub"
	"google.golang.org/grpc/status"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "FAILED", err)
	os.Exit(1)
}

// Receives until every one of n bodies came (or the time is up), acking
// each; the bodies seen, and whether each key came in publish order.
func receive(ctx context.Context, sub *pubsub.Subscription, n int) (map[string]int, int) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]int{}
	last := map[string]int{}
	outOfOrder := 0
	err := sub.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		mu.Lock()
		defer mu.Unlock()
		i, _ := strconv.Atoi(m.Attributes["i"])
		if prev, ok := last[m.OrderingKey]; ok && i <= prev {
			outOfOrder++
		}
		last[m.OrderingKey] = i
		seen[string(m.Data)]++
		m.Ack()
		if len(seen) == n {
			cancel()
		}
	})
	if err != nil && ctx.Err() == nil {
		fail(err)
	}
	return seen, outOfOrder
}

func main() {
	ctx := context.Background()
	run := os.Getenv("HUB_RUN")
	n, _ := strconv.Atoi(os.Getenv("HUB_MESSAGES"))
	client, err := pubsub.NewClient(ctx, "hub")
	if err != nil {
		fail(err)
	}
	defer client.Close()
	topic, err := client.CreateTopic(ctx, "go-orders-"+run)
	if err != nil {
		fail(err)
	}
	topic.EnableMessageOrdering = true
	sub, err := client.CreateSubscription(ctx, "go-billing-"+run, pubsub.SubscriptionConfig{
		Topic: topic, AckDeadline: 20 * time.Second, EnableMessageOrdering: true})
	if err != nil {
		fail(err)
	}
	snapshot, err := sub.CreateSnapshot(ctx, "go-before-"+run)
	if err != nil {
		fail(err)
	}
	var results []*pubsub.PublishResult
	for i := 0; i < n; i++ {
		results = append(results, topic.Publish(ctx, &pubsub.Message{
			Data:        []byte(fmt.Sprintf("m%d", i)),
			Attributes:  map[string]string{"i": strconv.Itoa(i)},
			OrderingKey: fmt.Sprintf("k%d", i%10),
		}))
	}
	ids := map[string]bool{}
	for _, r := range results {
		id, err := r.Get(ctx)
		if err != nil {
			fail(err)
		}
		ids[id] = true
	}
	first, outOfOrder := receive(ctx, sub, n)
	if err := sub.SeekToSnapshot(ctx, snapshot.Snapshot); err != nil {
		fail(err)
	}
	again, outOfOrderAgain := receive(ctx, sub, n)
	cfg, err := sub.Config(ctx)
	if err != nil {
		fail(err)
	}
	// This version of the client does not read enable_message_ordering
	// back; the C++ side checks it through hub.v1.
	result := map[string]interface{}{
		"published":      len(ids),
		"received":       len(first),
		"out_of_order":   outOfOrder + outOfOrderAgain,
		"after_seek":     len(again),
		"ack_deadline_s": cfg.AckDeadline.Seconds(),
		"topic":          cfg.Topic.String(),
	}
	if typed := os.Getenv("HUB_TYPED_TOPIC"); typed != "" {
		t := client.Topic(typed)
		_, goodErr := t.Publish(ctx, &pubsub.Message{Data: []byte(`{"id": "7"}`)}).Get(ctx)
		_, badErr := t.Publish(ctx, &pubsub.Message{Data: []byte(`{"id": "seven"}`)}).Get(ctx)
		t.Stop()
		result["typed_good"] = status.Code(goodErr).String()
		result["typed_bad"] = status.Code(badErr).String()
	}
	out, _ := json.Marshal(result)
	fmt.Printf("RESULT %s\n", out)
}
