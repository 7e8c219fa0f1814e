// The chaos workload (tests/chaos/workload.h) through google.pubsub.v1 with
// Google's own Node.js client (@google-cloud/pubsub), for the kill -9
// scenario of docs/reliability.md. `node pubsub_load.js TOPIC SUBSCRIPTION`
// with PUBSUB_EMULATOR_HOST set to hubd. Four publishers send batches of
// unique values, each value its own `hub-idempotency-key` attribute, 10 ms
// apart, and send a batch again until it is answered, as a careful service
// would; one
// subscriber acks everything it receives. Events go to stdout, a line each,
// for the C++ side's checker:
//   SENT <value>          before the first send of a value
//   ACK <value> <id>      the hub answered OK with that message id
//   FAIL                  a call failed (the batch is sent again)
//   GOT <value>           a delivery
// stdin: "stop" ends publishing (after the batches in hand are answered;
// then "STOPPED" is printed), "exit" or EOF ends the process.
'use strict';
const {PubSub} = require('@google-cloud/pubsub');
const readline = require('readline');

const [topicName, subscriptionName] = process.argv.slice(2);
const kPublishers = 4;
const kBatch = 10;
const kPause = 10;  // ms between a publisher's batches

let out = [];
function emit(line) {
  out.push(line);
  if (out.length >= 256) flush();
}
function flush() {
  if (out.length === 0) return;
  process.stdout.write(out.join('\n') + '\n');
  out = [];
}
setInterval(flush, 50);
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

let publishing = true;

async function publisher(index, topic) {
  for (let n = 0; publishing; n++) {
    const values = Array.from({length: kBatch}, (_, j) => `p${index}-${n * kBatch + j}`);
    values.forEach(v => emit(`SENT ${v}`));
    for (;;) {
      try {
        const ids = await Promise.all(values.map(v => topic.publishMessage({
          data: Buffer.from(v), attributes: {'hub-idempotency-key': v}})));
        values.forEach((v, j) => emit(`ACK ${v} ${ids[j]}`));
        // A pace the one subscriber keeps up with, as scenario 1's does:
        // otherwise a soak ends with a backlog of minutes to drain.
        await sleep(kPause);
        break;
      } catch (e) {
        emit('FAIL');
        await sleep(200);  // hubd is down: the same values again, deduplicated
      }
    }
  }
}

async function main() {
  const ps = new PubSub({projectId: process.env.PUBSUB_PROJECT_ID || 'hub'});
  const topic = ps.topic(topicName, {batching: {maxMessages: kBatch, maxMilliseconds: 5}});
  const subscription = ps.subscription(subscriptionName, {flowControl: {maxMessages: 500}});
  subscription.on('message', m => {
    emit(`GOT ${m.data.toString()}`);
    m.ack();
  });
  // The client reconnects its streams by itself; errors it reports on the
  // way are the kills, not failures of the scenario.
  subscription.on('error', () => emit('FAIL'));
  const publishers = Array.from({length: kPublishers}, (_, i) => publisher(i, topic));
  const input = readline.createInterface({input: process.stdin});
  input.on('line', async line => {
    if (line === 'stop') {
      publishing = false;
      await Promise.all(publishers);
      emit('STOPPED');
      flush();
    } else if (line === 'exit') {
      input.close();
    }
  });
  input.on('close', async () => {
    flush();
    await subscription.close().catch(() => {});
    process.exit(0);
  });
}

main().catch(e => {
  console.error('FAILED', e);
  process.exit(1);
});
