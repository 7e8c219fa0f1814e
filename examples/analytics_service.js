// The analytics service, in Node.js: it knows nothing of the hub but its
// address. It uses Google's own Pub/Sub client (@google-cloud/pubsub),
// unchanged, pointed at the hub by PUBSUB_EMULATOR_HOST, and joins the
// running estate by making one subscription to "payments" of its own.
// Runs until SIGTERM; prints a line per payment and the count at the end.
'use strict';
const {PubSub} = require('@google-cloud/pubsub');

async function main() {
  const pubsub = new PubSub({projectId: process.env.PUBSUB_PROJECT_ID || 'hub'});
  const [subscription] =
      await pubsub.topic('payments').subscription('analytics').get({autoCreate: true});
  let seen = 0;
  subscription.on('message', message => {
    seen++;
    console.log(`analytics: ${message.data.toString()}`);
    message.ack();
  });
  subscription.on('error', error => {
    console.error(`analytics: ${error.message}`);
    process.exit(1);
  });
  console.log('analytics: ready');
  process.on('SIGTERM', async () => {
    await subscription.close();
    console.log(`analytics: ${seen} payments seen`);
    process.exit(0);
  });
}

main().catch(error => {
  console.error(`analytics: ${error.message}`);
  process.exit(1);
});
