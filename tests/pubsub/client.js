// Scenarios of Google's own Node.js Pub/Sub client (@google-cloud/pubsub,
// unchanged) against a Pub/Sub endpoint: the hub, or Google's emulator for
// the differential test. `node client.js <scenario>`; the endpoint comes
// from PUBSUB_EMULATOR_HOST (plain text) or, for TLS, from HUB_TLS_ENDPOINT
// with HUB_TLS_CA and HUB_TOKEN. Each scenario prints facts it observed as
// the last line, `RESULT <json>`; the C++ test asserts on them
// (tests/pubsub/pubsub_test.cc). A client error the scenario did not expect
// fails it (exit 1).
'use strict';
const {PubSub, v1, Duration, SchemaTypes, SchemaViews, Encodings} = require('@google-cloud/pubsub');
const {grpc} = require('google-gax');

const project = process.env.PUBSUB_PROJECT_ID || 'hub';
const run = process.env.HUB_RUN || String(Date.now());

function client(options = {}) {
  if (process.env.HUB_TLS_ENDPOINT) {
    const [host, port] = process.env.HUB_TLS_ENDPOINT.split(':');
    let creds = grpc.credentials.createSsl(require('fs').readFileSync(process.env.HUB_TLS_CA));
    if (process.env.HUB_TOKEN) {
      creds = grpc.credentials.combineChannelCredentials(
          creds, grpc.credentials.createFromMetadataGenerator((_, callback) => {
            const metadata = new grpc.Metadata();
            metadata.add('authorization', `Bearer ${process.env.HUB_TOKEN}`);
            callback(null, metadata);
          }));
    }
    return new PubSub({projectId: project, servicePath: host, port, sslCreds: creds, ...options});
  }
  return new PubSub({projectId: project, ...options});
}

// The low-level generated client, for calls the high-level one hides.
function subscriberClient() {
  const [host, port] = process.env.PUBSUB_EMULATOR_HOST.split(':');
  return new v1.SubscriberClient(
      {servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure()});
}

// The gRPC code a call failed with, or 0.
async function code(promise) {
  try {
    await promise;
    return 0;
  } catch (e) {
    return e.code === undefined ? -1 : e.code;
  }
}

function name(base) { return `${base}-${run}`; }
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// Receives until `done(received)` says so or `ms` pass; `onMessage` settles.
function receive(subscription, onMessage, done, ms) {
  return new Promise((resolve, reject) => {
    const received = [];
    const timer = setTimeout(() => finish(), ms);
    let over = false;
    const finish = () => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      subscription.removeAllListeners('message');
      subscription.close().then(() => resolve(received), reject);
    };
    subscription.on('message', m => {
      if (over) return;
      received.push(m);
      onMessage(m, received);
      if (done(received)) finish();
    });
    subscription.on('error', e => {
      if (!over) {
        over = true;
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

// Unary Pulls until `count` came or ten tries passed; sorted by data.
async function pullUntil(s, subscription, count) {
  const got = [];
  for (let i = 0; i < 10 && got.length < count; i++) {
    const [response] =
        await s.pull({subscription, maxMessages: count - got.length, returnImmediately: i > 0});
    got.push(...response.receivedMessages);
    if (response.receivedMessages.length === 0) await sleep(200);
  }
  return got.sort((a, b) => a.message.data.toString().localeCompare(b.message.data.toString()));
}

const scenarios = {
  // The differential test's script: one fixed story of calls whose answers
  // it prints as `step: value` lines, ids and times left out, so that the
  // lines of two servers can be compared (tests/pubsub/differential_test.cc).
  async transcript() {
    const lines = [];
    const say = (step, value) => lines.push(`${step}: ${JSON.stringify(value)}`);
    const ps = client();
    const s = subscriberClient();
    const t = name('story');
    const [topic] = await ps.createTopic({name: t, labels: {a: 'b'}});
    const [topicMeta] = await topic.getMetadata();
    say('topic.labels', topicMeta.labels);
    say('topic.message_retention', topicMeta.messageRetentionDuration);
    say('topic.create_again', await code(ps.createTopic(t)));
    say('topic.get_missing', await code(ps.topic(name('missing')).getMetadata()));
    say('topic.bad_name', await code(ps.createTopic('x')));
    say('topic.goog_name', await code(ps.createTopic('goog-x')));

    const [sub] = await topic.createSubscription(name('story-sub'));
    const [subMeta] = await sub.getMetadata();
    for (const field of ['ackDeadlineSeconds', 'retainAckedMessages', 'enableMessageOrdering',
                         'enableExactlyOnceDelivery', 'filter', 'detached', 'state',
                         'expirationPolicy', 'messageRetentionDuration', 'deadLetterPolicy',
                         'retryPolicy']) {
      say(`subscription.${field}`, subMeta[field]);
    }
    const [updated] = await sub.setMetadata({ackDeadlineSeconds: 42});
    say('subscription.update_ack_deadline', updated.ackDeadlineSeconds);
    say('subscription.create_again', await code(topic.createSubscription(name('story-sub'))));
    say('subscription.push', await code(s.modifyPushConfig(
        {subscription: sub.name, pushConfig: {pushEndpoint: 'https://example.com/p'}})));
    say('subscription.push_off', await code(s.modifyPushConfig({subscription: sub.name,
                                                                pushConfig: {}})));

    for (let i = 0; i < 3; i++) {
      await topic.publishMessage({data: Buffer.from(`d${i}`), attributes: {i: String(i)}});
    }
    let got = await pullUntil(s, sub.name, 3);
    say('pull.data', got.map(m => m.message.data.toString()));
    say('pull.attributes', got.map(m => m.message.attributes));
    say('pull.delivery_attempt', got.map(m => m.deliveryAttempt));
    await s.modifyAckDeadline({subscription: sub.name, ackIds: [got[0].ackId],
                               ackDeadlineSeconds: 0});
    await s.acknowledge({subscription: sub.name, ackIds: got.slice(1).map(m => m.ackId)});
    got = await pullUntil(s, sub.name, 1);
    say('pull.nacked_again', got.map(m => m.message.data.toString()));
    await s.acknowledge({subscription: sub.name, ackIds: got.map(m => m.ackId)});
    say('ack.unknown_id', await code(s.acknowledge({subscription: sub.name, ackIds: ['nope']})));
    say('pull.zero_max', await code(s.pull({subscription: sub.name, maxMessages: 0})));

    const [filtered] = await topic.createSubscription(name('story-filtered'),
                                                      {filter: 'attributes.kind = "a"'});
    await topic.publishMessage({data: Buffer.from('kind-a'), attributes: {kind: 'a'}});
    await topic.publishMessage({data: Buffer.from('kind-b'), attributes: {kind: 'b'}});
    got = await pullUntil(s, filtered.name, 2);
    say('filter.received', got.map(m => m.message.data.toString()));
    say('filter.bad', await code(topic.createSubscription(name('bad'), {filter: 'attributes.k =='})));

    const [ordered] = await topic.createSubscription(name('story-ordered'),
                                                     {enableMessageOrdering: true});
    const orderedTopic = ps.topic(topic.name, {messageOrdering: true});
    for (let i = 0; i < 3; i++) {
      await orderedTopic.publishMessage({data: Buffer.from(`o${i}`), orderingKey: 'k'});
    }
    const [first] = await s.pull({subscription: ordered.name, maxMessages: 10});
    say('ordering.first_pull_keys', first.receivedMessages.map(m => m.message.orderingKey));

    const [dead] = await ps.createTopic(name('story-dead'));
    const [withDlq] = await topic.createSubscription(
        name('story-dlq'), {deadLetterPolicy: {deadLetterTopic: dead.name}});
    const [dlqMeta] = await withDlq.getMetadata();
    say('deadletter.max_delivery_attempts', dlqMeta.deadLetterPolicy.maxDeliveryAttempts);
    await topic.publishMessage({data: Buffer.from('dl')});
    got = await pullUntil(s, withDlq.name, 1);
    say('deadletter.delivery_attempt', got.map(m => m.deliveryAttempt));

    const attributes = {'hub-idempotency-key': 'story-1'};
    const id1 = await topic.publishMessage({data: Buffer.from('same'), attributes});
    const id2 = await topic.publishMessage({data: Buffer.from('same'), attributes});
    say('publish.idempotency_attribute_same_id', id1 === id2);

    say('seek.time', await code(sub.seek(new Date(Date.now() - 3600 * 1000))));
    got = await pullUntil(s, sub.name, 20);
    say('seek.time_redelivers', got.some(m => m.message.data.toString() === 'd1'));
    say('snapshot.create', await code(sub.createSnapshot(name('story-snap'))));

    // Schemas: the same steps on both servers, Avro (the emulator has no
    // Protocol Buffers schemas).
    const [host, port] = process.env.PUBSUB_EMULATOR_HOST.split(':');
    const options = {servicePath: host, port: Number(port),
                     sslCreds: grpc.credentials.createInsecure()};
    const schemas = new v1.SchemaServiceClient(options);
    const publisher = new v1.PublisherClient(options);
    const avro = fields => JSON.stringify({type: 'record', name: 'Order', fields});
    const orderDef = avro([{name: 'id', type: 'long'}, {name: 'customer', type: 'string'}]);
    const schema = await ps.createSchema(name('story-schema'), SchemaTypes.Avro, orderDef);
    const schemaMeta = await schema.get();
    say('schema.type', schemaMeta.type);
    say('schema.definition', schemaMeta.definition);
    say('schema.revision_id_length', schemaMeta.revisionId.length);
    say('schema.basic_definition', (await schema.get(SchemaViews.Basic)).definition);
    say('schema.create_again', await code(ps.createSchema(name('story-schema'), SchemaTypes.Avro,
                                                          orderDef)));
    say('schema.bad_definition', await code(ps.validateSchema(
        {type: SchemaTypes.Avro, definition: '{"type": "record"'})));
    say('schema.unknown_type', await code(ps.validateSchema(
        {type: SchemaTypes.Avro, definition: avro([{name: 'x', type: 'nope'}])})));
    say('schema.valid_message', await code(schema.validateMessage(
        Buffer.from('{"id": 1, "customer": "ada"}'), Encodings.Json)));
    say('schema.invalid_message', await code(schema.validateMessage(
        Buffer.from('{"id": "one", "customer": "ada"}'), Encodings.Json)));
    const [typed] = await ps.createTopic({name: name('story-typed'),
                                          schemaSettings: {schema: schemaMeta.name,
                                                           encoding: Encodings.Json}});
    const [typedMeta] = await typed.getMetadata();
    say('schema.topic_encoding', typedMeta.schemaSettings.encoding);
    const [typedSub] = await typed.createSubscription(name('story-typed-sub'));
    say('schema.publish_bad_batch', await code(publisher.publish({topic: typed.name, messages: [
      {data: Buffer.from('{"id": 1, "customer": "a"}')},
      {data: Buffer.from('{"id": "one", "customer": "b"}')}]})));
    await publisher.publish({topic: typed.name,
                             messages: [{data: Buffer.from('{"id": 2, "customer": "c"}')}]});
    got = await pullUntil(s, typedSub.name, 2);
    say('schema.received', got.map(m => m.message.data.toString()));
    say('schema.attributes', got.map(m => Object.keys(m.message.attributes).sort()));
    const [committed] = await schemas.commitSchema({name: schemaMeta.name, schema: {
      type: 'AVRO', definition: avro([{name: 'id', type: 'long'}, {name: 'customer', type: 'string'},
                                      {name: 'note', type: 'string', default: ''}])}});
    say('schema.commit_new_revision', committed.revisionId !== schemaMeta.revisionId);
    say('schema.revisions', (await schemas.listSchemaRevisions({name: schemaMeta.name}))[0].length);
    await ps.schema(schemaMeta.name).delete();
    say('schema.deleted_get', await code(ps.schema(schemaMeta.name).get()));
    say('schema.topic_after_delete', (await typed.getMetadata())[0].schemaSettings.schema);

    const [listed] = await ps.getTopics();
    say('topics.listed', listed.map(x => x.name.split('/').pop()).filter(n => n.endsWith(run)).sort());
    say('detach', await code(ps.detachSubscription(sub.name)));
    await topic.delete();
    const after = await code(sub.getMetadata());
    say('topic_deleted.subscription_get', after);
    await s.close();
    return {lines};
  },

  // Topics and subscriptions: create, get, update, list, delete; two
  // projects; the codes of bad calls.
  async crud() {
    const ps = client();
    const other = client({projectId: 'shop'});
    const [topic] = await ps.createTopic({name: name('orders'), labels: {team: 'a'}});
    const [shopTopic] = await other.createTopic(name('orders'));
    const [sub] = await topic.createSubscription(name('billing'), {ackDeadlineSeconds: 20});
    const [topicMeta] = await topic.setMetadata({labels: {team: 'b'}});
    const [subMeta] = await sub.setMetadata({ackDeadlineSeconds: 30, labels: {x: 'y'}});
    const [got] = await sub.getMetadata();
    const [topics] = await ps.getTopics();
    const [shopTopics] = await other.getTopics();
    const [subs] = await topic.getSubscriptions();
    const [allSubs] = await ps.getSubscriptions();
    const results = {
      topic: topic.name,
      shop_topic: shopTopic.name,
      labels_after_update: topicMeta.labels,
      ack_deadline_after_update: subMeta.ackDeadlineSeconds,
      sub_labels: got.labels,
      sub_topic: got.topic,
      topics: topics.map(t => t.name).filter(n => n.endsWith(run)),
      shop_topics: shopTopics.map(t => t.name).filter(n => n.endsWith(run)),
      topic_subscriptions: subs.map(s => s.name),
      subscriptions: allSubs.map(s => s.name).filter(n => n.endsWith(run)),
      create_existing: await code(ps.createTopic(name('orders'))),
      get_missing: await code(ps.topic(name('nowhere')).getMetadata()),
      bad_name: await code(ps.createTopic('x')),
      bad_project: await code(client({projectId: 'Bad_Project'}).createTopic(name('t'))),
      tilde_at_home: await code(ps.createTopic(name('a~b'))),
      push: await code(topic.createSubscription(
          name('pushed'), {pushConfig: {pushEndpoint: 'https://example.com/push'}})),
      expiring: await code(topic.createSubscription(
          name('expiring'), {expirationPolicy: {ttl: {seconds: 86400}}})),
      // Pub/Sub's least is a day.
      expiring_soon: await code(topic.createSubscription(
          name('soon'), {expirationPolicy: {ttl: {seconds: 3600}}})),
      // Pub/Sub's least is 10 minutes.
      subscription_retention: await code(topic.createSubscription(
          name('retained'), {messageRetentionDuration: {seconds: 300}})),
      never_expires: await code(
          topic.createSubscription(name('forever'), {expirationPolicy: {}})),
      missing_topic_sub: await code(ps.topic(name('nowhere')).createSubscription(name('s'))),
    };
    await sub.delete();
    results.deleted_get = await code(sub.getMetadata());
    await ps.subscription(name('forever')).delete();
    const [expiring] = await ps.subscription(name('expiring')).getMetadata();
    results.expiring_ttl = Number(expiring.expirationPolicy.ttl.seconds);
    await ps.subscription(name('expiring')).delete();
    await shopTopic.delete();
    results.shop_topics_after_delete =
        (await other.getTopics())[0].map(t => t.name).filter(n => n.endsWith(run));
    // The topic stays for the C++ side to find through hub.v1.
    return results;
  },

  // The topics of two projects, as listed.
  async list() {
    const names = async ps => (await ps.getTopics())[0].map(t => t.name).filter(n => n.endsWith(run));
    return {hub: await names(client()), shop: await names(client({projectId: 'shop'}))};
  },

  // 10,000 messages with the client's batching; StreamingPull with acks,
  // every 100th nacked once and redelivered.
  async throughput() {
    const count = Number(process.env.HUB_MESSAGES || 10000);
    const ps = client();
    const [topic] = await ps.createTopic(name('load'));
    const [sub] = await topic.createSubscription(name('load-sub'), {ackDeadlineSeconds: 30});
    const batched = ps.topic(topic.name, {batching: {maxMessages: 500, maxMilliseconds: 20}});
    const started = Date.now();
    const ids = await Promise.all(Array.from(
        {length: count}, (_, i) => batched.publishMessage({data: Buffer.from(`m${i}`)})));
    const publishMs = Date.now() - started;
    const seen = new Map();
    const nacked = new Set();
    let redelivered = 0;
    const received = await receive(
        ps.subscription(sub.name, {flowControl: {maxMessages: 2000}}), m => {
          const body = m.data.toString();
          if (body.endsWith('00') && !nacked.has(body)) {
            nacked.add(body);
            m.nack();
            return;
          }
          if (nacked.has(body)) redelivered++;
          seen.set(body, (seen.get(body) || 0) + 1);
          m.ack();
        }, () => seen.size === count, 120000);
    await sleep(1000);  // the last acks leave the client's batch
    await ps.close();
    return {
      published: ids.length,
      unique_ids: new Set(ids).size,
      received: received.length,
      unique_received: seen.size,
      nacked: nacked.size,
      redelivered,
      publish_ms: publishMs,
    };
  },

  // IAM on the hub's policy: HUB_ADMIN_TOKEN may do everything (the policy
  // file), HUB_USER_TOKEN nothing until a binding says so. Bindings are
  // set through PUBSUB_EMULATOR_HOST and tried through HUB_OTHER_HOST, a
  // second hubd on the same database.
  async iam() {
    const endpoint = hostPort => {
      const [host, port] = hostPort.split(':');
      return {servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure()};
    };
    const here = endpoint(process.env.PUBSUB_EMULATOR_HOST);
    const there = endpoint(process.env.HUB_OTHER_HOST);
    const as = token => ({otherArgs: {headers: {authorization: `Bearer ${token}`}}});
    const admin = as(process.env.HUB_ADMIN_TOKEN);
    const user = as(process.env.HUB_USER_TOKEN);
    const publisher = new v1.PublisherClient(here);
    const otherPublisher = new v1.PublisherClient(there);
    const otherSubscriber = new v1.SubscriberClient(there);
    const schemas = new v1.SchemaServiceClient(here);
    const otherSchemas = new v1.SchemaServiceClient(there);
    const topic = `projects/${project}/topics/${name('guarded')}`;
    const sub = `projects/${project}/subscriptions/${name('guarded-sub')}`;
    await publisher.createTopic({name: topic}, admin);
    await new v1.SubscriberClient(here).createSubscription({name: sub, topic}, admin);
    const publishAs = (client, options) =>
        code(client.publish({topic, messages: [{data: Buffer.from('x')}]}, options));
    const permissions = ['pubsub.topics.publish', 'pubsub.topics.get',
                         'pubsub.topics.setIamPolicy'];
    const test = async options =>
        (await publisher.testIamPermissions({resource: topic, permissions}, options))[0]
            .permissions;
    const r = {};
    r.user_publish_before = await publishAs(otherPublisher, user);
    r.user_permissions_before = await test(user);
    r.admin_permissions = await test(admin);
    const [empty] = await publisher.getIamPolicy({resource: topic}, admin);
    r.bindings_before = empty.bindings;
    const policy = {bindings: [{role: 'roles/pubsub.publisher',
                                members: [`user:${process.env.HUB_USER}`]}],
                    etag: empty.etag};
    const [set] = await publisher.setIamPolicy({resource: topic, policy}, admin);
    r.etag_changed = Buffer.from(set.etag).toString() !== Buffer.from(empty.etag).toString();
    r.stale_etag = await code(publisher.setIamPolicy({resource: topic, policy}, admin));
    r.user_set = await code(publisher.setIamPolicy(
        {resource: topic, policy: {bindings: [], etag: set.etag}}, user));
    // The other replica learns of a change within its refresh (a second).
    const eventually = async call => {
      const started = Date.now();
      let result = await call();
      while (result !== 0 && Date.now() - started < 10000) {
        await sleep(100);
        result = await call();
      }
      return result;
    };
    r.user_publish_after = await eventually(() => publishAs(otherPublisher, user));
    r.user_permissions_after = await test(user);
    r.user_get_policy = await code(publisher.getIamPolicy({resource: topic}, user));
    const [read] = await publisher.getIamPolicy({resource: topic}, admin);
    r.bindings_after = read.bindings.map(b => ({role: b.role, members: b.members}));
    // A viewer of the subscription may read it and not consume it.
    const [subPolicy] = await otherSubscriber.getIamPolicy({resource: sub}, admin);
    await otherSubscriber.setIamPolicy({resource: sub, policy: {
      bindings: [{role: 'roles/pubsub.viewer', members: ['allAuthenticatedUsers']}],
      etag: subPolicy.etag}}, admin);
    r.viewer_get = await code(otherSubscriber.getSubscription({subscription: sub}, user));
    r.viewer_pull = await code(otherSubscriber.pull({subscription: sub, maxMessages: 1}, user));
    // Schemas have policies too.
    const schema = `projects/${project}/schemas/${name('guarded-schema')}`;
    await schemas.createSchema({parent: `projects/${project}`, schemaId: name('guarded-schema'),
                                schema: {type: 'AVRO', definition: '{"type": "string"}'}}, admin);
    r.user_schema_before = await code(otherSchemas.getSchema({name: schema}, user));
    await schemas.setIamPolicy({resource: schema, policy: {bindings: [
      {role: 'roles/pubsub.viewer', members: [`serviceAccount:${process.env.HUB_USER}`]}]}}, admin);
    r.user_schema_after = await eventually(() => code(otherSchemas.getSchema({name: schema}, user)));
    // And snapshots.
    const snapshot = `projects/${project}/snapshots/${name('guarded-snap')}`;
    await new v1.SubscriberClient(here).createSnapshot({name: snapshot, subscription: sub}, admin);
    const [snapshotPolicy] = await otherSubscriber.getIamPolicy({resource: snapshot}, admin);
    r.snapshot_bindings_before = snapshotPolicy.bindings.length;
    await otherSubscriber.setIamPolicy({resource: snapshot, policy: {
      bindings: [{role: 'roles/pubsub.viewer', members: [`user:${process.env.HUB_USER}`]}],
      etag: snapshotPolicy.etag}}, admin);
    r.user_snapshot_permissions = (await otherSubscriber.testIamPermissions(
        {resource: snapshot, permissions: ['pubsub.snapshots.get', 'pubsub.snapshots.delete']},
        user))[0].permissions;
    // What the hub refuses.
    const bad = bindings => code(publisher.setIamPolicy({resource: topic, policy: {bindings}},
                                                        admin));
    r.bad_role = await bad([{role: 'roles/owner', members: ['user:x']}]);
    r.bad_member = await bad([{role: 'roles/pubsub.viewer', members: ['group:x@example.com']}]);
    r.conditional = await bad([{role: 'roles/pubsub.viewer', members: ['user:x'],
                                condition: {expression: 'true'}}]);
    r.bad_permission = await code(publisher.testIamPermissions(
        {resource: topic, permissions: ['pubsub.subscriptions.consume']}, admin));
    r.missing_resource_policy = await code(publisher.getIamPolicy(
        {resource: `projects/${project}/topics/${name('nowhere')}`}, admin));
    r.missing_resource_permissions = (await publisher.testIamPermissions(
        {resource: `projects/${project}/topics/${name('nowhere')}`, permissions}, admin))[0]
        .permissions;
    return r;
  },

  // Without a policy the IAM calls say that everyone may do everything,
  // and refuse to store bindings that would change nothing.
  async iamoff() {
    const [host, port] = process.env.PUBSUB_EMULATOR_HOST.split(':');
    const publisher = new v1.PublisherClient(
        {servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure()});
    const topic = `projects/${project}/topics/${name('open')}`;
    await publisher.createTopic({name: topic});
    const [policy] = await publisher.getIamPolicy({resource: topic});
    return {
      bindings: policy.bindings.map(b => ({role: b.role, members: b.members})),
      set: await code(publisher.setIamPolicy({resource: topic, policy: {bindings: []}})),
      permissions: (await publisher.testIamPermissions(
          {resource: topic, permissions: ['pubsub.topics.publish', 'pubsub.topics.delete']}))[0]
          .permissions,
    };
  },

  // A subscription's own retention: reported as in effect (never longer
  // than its topic's), and changed by an update.
  async retention() {
    const ps = client();
    const [topic] = await ps.createTopic(
        {name: name('kept'), messageRetentionDuration: {seconds: 2 * 86400}});
    const seconds = async s => Number((await s.getMetadata())[0].messageRetentionDuration.seconds);
    const [own] = await topic.createSubscription(name('own'),
                                                 {messageRetentionDuration: {seconds: 3600}});
    const [plain] = await topic.createSubscription(name('plain'));
    const [longer] = await topic.createSubscription(name('longer'),
                                                    {messageRetentionDuration: {seconds: 10 * 86400}});
    const r = {
      own: await seconds(own),
      own_retains_acked: (await own.getMetadata())[0].retainAckedMessages,
      plain: await seconds(plain),
      longer: await seconds(longer),
    };
    await own.setMetadata({messageRetentionDuration: {seconds: 7200}});
    r.own_after_update = await seconds(own);
    r.too_long = await code(topic.createSubscription(
        name('too-long'), {messageRetentionDuration: {seconds: 32 * 86400}}));
    await ps.close();
    return r;
  },

  // Pub/Sub's largest messages: 9 MB ones between small ones, published
  // with the client's batching and received over StreamingPull, each
  // checked whole; then a unary Pull of one.
  async large() {
    const count = 6;
    const bytes = 9 * 1000 * 1000;
    const ps = client();
    const [topic] = await ps.createTopic(name('large'));
    const [sub] = await topic.createSubscription(name('large-sub'));
    const body = i => Buffer.alloc(bytes, `large-${i}|`);
    const published = [];
    for (let i = 0; i < count; i++) {
      published.push(topic.publishMessage({data: body(i)}));
      for (let j = 0; j < 10; j++) published.push(topic.publishMessage({data: Buffer.from(`s${j}`)}));
    }
    await Promise.all(published);
    let whole = 0;
    let small = 0;
    await receive(ps.subscription(sub.name), m => {
      if (m.data.length === bytes) {
        whole += m.data.equals(body(Number(m.data.toString('utf8', 6, 7)))) ? 1 : 0;
      } else {
        small++;
      }
      m.ack();
    }, received => received.length >= count * 11, 60000);
    await topic.publishMessage({data: body(7)});
    const got = await pullUntil(subscriberClient(), sub.name, 1);
    const pulled = got.length === 1 && Buffer.from(got[0].message.data).equals(body(7));
    const over = await code(topic.publishMessage({data: Buffer.alloc(10 * 1024 * 1024 + 1)}));
    await ps.close();
    return {whole, small, pulled, over};
  },

  // Schemas as a service's code uses them: the fixture's list, create, get
  // and validate through the high-level client, revisions through the
  // generated SchemaServiceClient, and a topic whose schema checks every
  // message of a publish before anything is stored.
  async schemas() {
    const ps = client();
    const [host, port] = process.env.PUBSUB_EMULATOR_HOST.split(':');
    const s = new v1.SchemaServiceClient(
        {servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure()});
    const protobuf = require('protobufjs');
    const r = {};
    r.listed_first = [];
    for await (const schema of ps.listSchemas()) r.listed_first.push(schema.name);
    const v1def = 'syntax = "proto3"; message Order { int64 id = 1; string customer = 2; }';
    const schema = await ps.createSchema(name('orders'), SchemaTypes.ProtocolBuffer, v1def);
    const full = await schema.get();
    r.name = full.name;
    r.type = full.type;
    r.definition_back = full.definition === v1def;
    r.first_revision = full.revisionId;
    r.basic_has_definition = Boolean((await schema.get(SchemaViews.Basic)).definition);
    r.listed = [];
    for await (const listed of ps.listSchemas()) r.listed.push(listed.name);
    r.create_again = await code(ps.createSchema(name('orders'), SchemaTypes.ProtocolBuffer, v1def));
    r.bad_definition = await code(ps.createSchema(name('bad'), SchemaTypes.ProtocolBuffer,
                                                  'message {'));
    r.valid_schema = await code(ps.validateSchema({type: SchemaTypes.ProtocolBuffer,
                                                   definition: v1def}));
    r.invalid_schema = await code(ps.validateSchema({type: SchemaTypes.ProtocolBuffer,
                                                     definition: 'syntax = "proto3";'}));
    // `message` is bytes: the client takes a string for base64.
    r.valid_json = await code(schema.validateMessage(Buffer.from('{"id": "7", "customer": "ada"}'),
                                                     Encodings.Json));
    r.invalid_json = await code(schema.validateMessage(Buffer.from('{"id": "seven"}'),
                                                       Encodings.Json));

    const Order = protobuf.parse(v1def).root.lookupType('Order');
    const good = i => Buffer.from(Order.encode({id: i, customer: `c${i}`}).finish());
    const [topic] = await ps.createTopic({
      name: name('typed'),
      schemaSettings: {schema: full.name, encoding: Encodings.Binary},
    });
    const [topicMeta] = await topic.getMetadata();
    r.topic_schema = topicMeta.schemaSettings.schema;
    r.topic_encoding = topicMeta.schemaSettings.encoding;
    const [sub] = await topic.createSubscription(name('typed-sub'));
    const publisher = new v1.PublisherClient(
        {servicePath: host, port: Number(port), sslCreds: grpc.credentials.createInsecure()});
    try {
      await publisher.publish({topic: topic.name, messages: [
        {data: good(1)}, {data: Buffer.from([0x0a, 0x01, 0x78])}, {data: good(3)}]});
      r.bad_batch = 0;
    } catch (e) {
      r.bad_batch = e.code;
      r.bad_batch_message = e.details;
    }
    await publisher.publish({topic: topic.name, messages: [{data: good(4)}, {data: good(5)}]});
    const got = await pullUntil(subscriberClient(), sub.name, 3);
    r.received = got.map(m => Order.decode(m.message.data).customer);
    r.attributes = got.length ? got[0].message.attributes : {};

    // Revisions: a compatible one, a breaking one refused, a rollback.
    const [added] = await s.commitSchema({name: full.name, schema: {type: 'PROTOCOL_BUFFER',
        definition: 'syntax = "proto3"; message Order { int64 id = 1; string customer = 2; ' +
            'string note = 3; }'}});
    r.second_revision_differs = added.revisionId !== r.first_revision;
    try {
      await s.commitSchema({name: full.name, schema: {type: 'PROTOCOL_BUFFER',
          definition: 'syntax = "proto3"; message Order { string id = 1; }'}});
      r.breaking = 0;
    } catch (e) {
      r.breaking = e.code;
      r.breaking_message = e.details;
    }
    const [revisions] = await s.listSchemaRevisions({name: full.name});
    r.revisions = revisions.length;
    // Back to the first revision drops `note` unreserved: breaking for
    // readers of the second, so it takes the hub's header to do on purpose.
    r.rollback = await code(s.rollbackSchema({name: full.name, revisionId: r.first_revision}));
    const [rolled] = await s.rollbackSchema(
        {name: full.name, revisionId: r.first_revision},
        {otherArgs: {headers: {'hub-allow-breaking-change': 'true'}}});
    r.rollback_definition = rolled.definition === v1def;
    const [deleted] = await s.deleteSchemaRevision({name: `${full.name}@${added.revisionId}`});
    r.deleted_revision = deleted.revisionId === added.revisionId;
    r.revisions_after = (await s.listSchemaRevisions({name: full.name}))[0].length;

    // A deleted schema leaves its topic refusing publishes.
    await schema.delete();
    r.get_deleted = await code(schema.get());
    r.topic_schema_after_delete = (await topic.getMetadata())[0].schemaSettings.schema;
    r.publish_after_delete = await code(publisher.publish({topic: topic.name,
                                                           messages: [{data: good(6)}]}));
    await ps.close();
    return r;
  },

  // An Avro schema on a JSON topic: conforming messages stored and tagged,
  // a batch with a bad one refused whole, a breaking revision refused.
  async avro() {
    const ps = client();
    const [host, port] = process.env.PUBSUB_EMULATOR_HOST.split(':');
    const options = {servicePath: host, port: Number(port),
                     sslCreds: grpc.credentials.createInsecure()};
    const s = new v1.SchemaServiceClient(options);
    const publisher = new v1.PublisherClient(options);
    const definition = JSON.stringify({type: 'record', name: 'Order', fields: [
      {name: 'id', type: 'long'},
      {name: 'note', type: ['null', 'string'], default: null}]});
    const schema = await ps.createSchema(name('avro-orders'), SchemaTypes.Avro, definition);
    const full = await schema.get();
    const r = {type: full.type};
    const [topic] = await ps.createTopic({
      name: name('avro-typed'),
      schemaSettings: {schema: full.name, encoding: Encodings.Json},
    });
    const [sub] = await topic.createSubscription(name('avro-sub'));
    const json = value => ({data: Buffer.from(JSON.stringify(value))});
    r.bad_batch = await code(publisher.publish({topic: topic.name, messages: [
      json({id: 1}), json({id: 2, note: 'not a union value'})]}));
    await publisher.publish({topic: topic.name, messages: [
      json({id: 3}), json({id: 4, note: {string: 'rush'}})]});
    const got = await pullUntil(subscriberClient(), sub.name, 3);
    r.received = got.map(m => JSON.parse(m.message.data.toString()).id);
    r.encoding = got.length ? got[0].message.attributes.googclient_schemaencoding : '';
    r.breaking = await code(s.commitSchema({name: full.name, schema: {type: 'AVRO',
        definition: JSON.stringify({type: 'record', name: 'Order', fields: [
          {name: 'note', type: ['null', 'string'], default: null}]})}}));
    r.compatible = await code(s.commitSchema({name: full.name, schema: {type: 'AVRO',
        definition: JSON.stringify({type: 'record', name: 'Order', fields: [
          {name: 'id', type: 'long'}, {name: 'note', type: ['null', 'string'], default: null},
          {name: 'tag', type: 'string', default: ''}]})}}));
    await ps.close();
    return r;
  },

  // Takes what the throughput scenario's subscription redelivers, acking
  // it, until something came or 20 s passed: the at-least-once path for an
  // ack the client never sent.
  async redelivered() {
    const ps = client();
    const got = await receive(ps.subscription(name('load-sub')), m => m.ack(),
                              received => received.length > 0, 20000);
    await sleep(1000);  // the acks leave the client's batch
    await ps.close();
    return {acked: got.length};
  },

  // The generated client's unary Pull, Acknowledge and ModifyAckDeadline.
  async pull() {
    const ps = client();
    const [topic] = await ps.createTopic(name('unary'));
    const [sub] = await topic.createSubscription(name('unary-sub'));
    for (let i = 0; i < 5; i++) await topic.publishMessage({data: Buffer.from(`u${i}`)});
    const s = subscriberClient();
    const [first] = await s.pull({subscription: sub.name, maxMessages: 3});
    const [rest] = await s.pull({subscription: sub.name, maxMessages: 10});
    const all = [...first.receivedMessages, ...rest.receivedMessages];
    await s.modifyAckDeadline(
        {subscription: sub.name, ackIds: [all[0].ackId], ackDeadlineSeconds: 0});
    await s.acknowledge({subscription: sub.name, ackIds: all.slice(1).map(m => m.ackId)});
    const [again] = await s.pull({subscription: sub.name, maxMessages: 10});
    await s.acknowledge({subscription: sub.name, ackIds: again.receivedMessages.map(m => m.ackId)});
    const [empty] = await s.pull({subscription: sub.name, maxMessages: 10, returnImmediately: true});
    const results = {
      first: first.receivedMessages.length,
      rest: rest.receivedMessages.length,
      redelivered: again.receivedMessages.map(m => m.message.data.toString()),
      nacked: all[0].message.data.toString(),
      delivery_attempt: all[0].deliveryAttempt,
      empty_after: empty.receivedMessages.length,
      zero_max: await code(s.pull({subscription: sub.name, maxMessages: 0})),
      bad_subscription: await code(s.pull({subscription: 'nope', maxMessages: 1})),
    };
    await s.close();
    return results;
  },

  // Ordering keys on an ordered subscription: every key's messages in
  // publish order.
  async ordering() {
    const ps = client();
    const [topic] = await ps.createTopic(name('ordered'));
    const [sub] = await topic.createSubscription(name('ordered-sub'), {enableMessageOrdering: true});
    const ordered = ps.topic(topic.name, {messageOrdering: true, batching: {maxMilliseconds: 5}});
    const keys = 10, perKey = 50;
    const sends = [];
    for (let i = 0; i < perKey; i++) {
      for (let k = 0; k < keys; k++) {
        sends.push(ordered.publishMessage({data: Buffer.from(`${i}`), orderingKey: `k${k}`}));
      }
    }
    await Promise.all(sends);
    const last = new Map();
    let outOfOrder = 0;
    const received = await receive(ps.subscription(sub.name), m => {
      const i = Number(m.data.toString());
      if (last.has(m.orderingKey) && last.get(m.orderingKey) + 1 !== i) outOfOrder++;
      last.set(m.orderingKey, i);
      m.ack();
    }, r => r.length >= keys * perKey, 60000);
    const [meta] = await sub.getMetadata();
    return {
      received: received.length,
      out_of_order: outOfOrder,
      keys: last.size,
      ordering_enabled: meta.enableMessageOrdering,
    };
  },

  // Pub/Sub's filter syntax on a subscription.
  async filter() {
    const ps = client();
    const [topic] = await ps.createTopic(name('filtered'));
    const [sub] = await topic.createSubscription(name('eu-orders'), {
      filter: 'attributes.kind = "order" AND (hasPrefix(attributes.region, "eu-") OR ' +
          'attributes:priority) AND NOT attributes.test = "yes"',
    });
    const messages = [
      {kind: 'order', region: 'eu-west'},   // in
      {kind: 'order', region: 'us-east'},   // out
      {kind: 'order', priority: 'high'},    // in
      {kind: 'refund', region: 'eu-west'},  // out
      {kind: 'order', region: 'eu-north', test: 'yes'},  // out
    ];
    for (const [i, attributes] of messages.entries()) {
      await topic.publishMessage({data: Buffer.from(`f${i}`), attributes});
    }
    await topic.publishMessage({data: Buffer.from('end'), attributes: {kind: 'order', priority: 'x'}});
    const received = await receive(ps.subscription(sub.name), m => m.ack(),
                                   r => r.some(m => m.data.toString() === 'end'), 30000);
    const [meta] = await sub.getMetadata();
    return {
      received: received.map(m => m.data.toString()).sort(),
      filter: meta.filter,
      bad_filter: await code(topic.createSubscription(name('bad'), {filter: 'attributes.k =='})),
    };
  },

  // A message nacked until its attempts run out goes to the dead-letter
  // topic; delivery_attempt counts.
  async deadletter() {
    const ps = client();
    const [topic] = await ps.createTopic(name('work'));
    const [dead] = await ps.createTopic(name('dead'));
    const [deadSub] = await dead.createSubscription(name('dead-sub'));
    const [sub] = await topic.createSubscription(name('work-sub'), {
      deadLetterPolicy: {deadLetterTopic: dead.name, maxDeliveryAttempts: 5},
      retryPolicy: {minimumBackoff: {seconds: 0, nanos: 100e6}, maximumBackoff: {seconds: 1}},
    });
    await topic.publishMessage({data: Buffer.from('poison')});
    // The hub moves a message out of attempts when it next claims for the
    // subscription (docs/pubsub.md): its consumer stays while the dead
    // letter is awaited.
    const attempts = [];
    const work = ps.subscription(sub.name);
    work.on('message', m => {
      attempts.push(m.deliveryAttempt);
      m.nack();
    });
    const dead_letters = await receive(ps.subscription(deadSub.name), m => m.ack(),
                                       r => r.length >= 1, 40000);
    await work.close();
    const [meta] = await sub.getMetadata();
    return {
      attempts,
      dead_letters: dead_letters.map(m => m.data.toString()),
      dead_letter_topic: meta.deadLetterPolicy.deadLetterTopic,
      max_delivery_attempts: meta.deadLetterPolicy.maxDeliveryAttempts,
    };
  },

  // Exactly-once: ackWithResponse() says success for a held lease; the
  // generated client's acks of expired leases and of a made-up ack id fail
  // with ErrorInfo naming each id, and the expired ones come again.
  async exactlyonce() {
    const ps = client();
    const [topic] = await ps.createTopic(name('payments'));
    const [sub] = await topic.createSubscription(name('payments-sub'),
                                                 {enableExactlyOnceDelivery: true});
    // Leases of 1 s (the hub allows it; Google's service starts at 10 s).
    const [late] = await topic.createSubscription(
        name('payments-late'), {enableExactlyOnceDelivery: true, ackDeadlineSeconds: 1});
    for (let i = 0; i < 3; i++) await topic.publishMessage({data: Buffer.from(`p${i}`)});
    const verdicts = [];
    await receive(ps.subscription(sub.name), m => {
      m.ackWithResponse().then(v => verdicts.push(v), e => verdicts.push(`error ${e.errorCode}`));
    }, r => r.length >= 3, 30000);
    await sleep(500);
    const [meta] = await sub.getMetadata();

    // A message held while the subscription is sought away: its ack id no
    // longer names a delivery, and ackWithResponse() says so.
    await topic.publishMessage({data: Buffer.from('held')});
    const held = ps.subscription(sub.name);
    const stale = await new Promise(resolve => {
      setTimeout(() => resolve('no answer'), 30000);
      held.once('message', m => {
        sub.seek(new Date(Date.now() + 1000))
            .then(() => m.ackWithResponse())
            .then(v => resolve(v), e => resolve(e.errorCode || `failed ${e.code}`));
      });
    });
    await held.close();

    const s = subscriberClient();
    const [pulled] = await s.pull({subscription: late.name, maxMessages: 10});
    const ids = pulled.receivedMessages.map(m => m.ackId);
    await sleep(2500);
    let expired = null;
    try {
      await s.acknowledge({subscription: late.name, ackIds: [...ids, 'made-up']});
    } catch (e) {
      expired = {code: e.code, reason: e.reason, metadata: e.errorInfoMetadata, message: e.details};
    }
    // What expired comes again, and acks now.
    const again = [];
    for (let i = 0; i < 20 && again.length < ids.length; i++) {
      const [response] = await s.pull({subscription: late.name, maxMessages: 10});
      again.push(...response.receivedMessages);
    }
    await s.acknowledge({subscription: late.name, ackIds: again.map(m => m.ackId)});
    await s.close();
    return {
      exactly_once: meta.enableExactlyOnceDelivery,
      verdicts,
      stale_verdict: stale,
      expired_ack: expired,
      expired_ack_ids: ids,
      redelivered: again.map(m => m.message.data.toString()).sort(),
    };
  },

  // Seek to a snapshot and to a time.
  async seek() {
    const ps = client();
    const [topic] = await ps.createTopic(name('replay'));
    const [sub] = await topic.createSubscription(name('replay-sub'));
    for (let i = 0; i < 5; i++) await topic.publishMessage({data: Buffer.from(`s${i}`)});
    const [snapshot] = await sub.createSnapshot(name('before'));
    const [snapshots] = await ps.getSnapshots();
    const all = r => r.length >= 5;
    const first = await receive(ps.subscription(sub.name), m => m.ack(), all, 30000);
    await sleep(1000);
    await sub.seek(snapshot.name);
    const afterSnapshot = await receive(ps.subscription(sub.name), m => m.ack(), all, 30000);
    await sleep(1000);
    await sub.seek(new Date(Date.now() - 3600 * 1000));
    const afterTime = await receive(ps.subscription(sub.name), m => m.ack(), all, 30000);
    await sleep(1000);
    await sub.seek(new Date(Date.now() + 1000));
    const [other] = await ps.createTopic(name('elsewhere'));
    const [otherSub] = await other.createSubscription(name('elsewhere-sub'));
    const results = {
      first: first.map(m => m.data.toString()).sort(),
      after_snapshot: afterSnapshot.map(m => m.data.toString()).sort(),
      after_time: afterTime.map(m => m.data.toString()).sort(),
      snapshot: snapshot.name,
      snapshots: snapshots.map(s => s.name).filter(n => n.endsWith(run)),
      other_topic_seek: await code(otherSub.seek(snapshot.name)),
      missing_snapshot: await code(sub.seek(name('never'))),
    };
    await snapshot.delete();
    results.deleted_seek = await code(sub.seek(snapshot.name));
    return results;
  },

  // A publish repeated with one idempotency attribute is stored once.
  async idempotent() {
    const ps = client();
    const [topic] = await ps.createTopic(name('dedup'));
    const [sub] = await topic.createSubscription(name('dedup-sub'));
    const attributes = {'hub-idempotency-key': 'order-42', kind: 'order'};
    const first = await topic.publishMessage({data: Buffer.from('once'), attributes});
    const second = await topic.publishMessage({data: Buffer.from('once'), attributes});
    const third = await topic.publishMessage({data: Buffer.from('other')});
    // Consumers see the attribute as it was published.
    const s = subscriberClient();
    const got = await pullUntil(s, sub.name, 2);
    await s.close();
    return {first, second, third, topic: topic.name,
            delivered: got.map(m => ({data: m.message.data.toString(),
                                      attributes: m.message.attributes}))};
  },

  // Delayed delivery through the stock client: a delay and a time as
  // attributes; each message's arrival, by the client's clock, against the
  // time the hub says it was due.
  async delayed() {
    const ps = client();
    const [topic] = await ps.createTopic(name('delayed'));
    const [sub] = await topic.createSubscription(name('delayed-sub'));
    const at = new Date(Date.now() + 2000).toISOString();
    await topic.publishMessage({data: Buffer.from('by-delay'),
                                attributes: {'hub-delivery-delay': '2s', kind: 'order'}});
    await topic.publishMessage({data: Buffer.from('by-time'), attributes: {'hub-deliver-time': at}});
    const bad = await code(topic.publishMessage(
        {data: Buffer.from('bad'), attributes: {'hub-delivery-delay': 'soon'}}));
    const got = await receive(sub, m => m.ack(), r => r.length >= 2, 15000);
    const arrived = got.map(m => ({data: m.data.toString(), attributes: m.attributes,
                                   arrived_ms: m.received,
                                   due_ms: Date.parse(m.attributes['hub-deliver-time'])}));
    return {asked_ms: Date.parse(at), bad, arrived};
  },

  // Detaching a subscription: it stays, marked detached, and delivers
  // nothing.
  async detach() {
    const ps = client();
    const [topic] = await ps.createTopic(name('detach'));
    const [sub] = await topic.createSubscription(name('detach-sub'));
    await topic.publishMessage({data: Buffer.from('d')});
    await ps.detachSubscription(sub.name);
    const [meta] = await sub.getMetadata();
    const s = subscriberClient();
    const pulled = await code(s.pull({subscription: sub.name, maxMessages: 1}));
    await s.close();
    return {detached: meta.detached, pull: pulled};
  },

  // A consumer for the kill -9 test: receives and acks until it has every
  // one of `HUB_MESSAGES` distinct bodies, printing progress, across hubd
  // restarts (the client reconnects by itself).
  async survivor() {
    const count = Number(process.env.HUB_MESSAGES);
    const ps = client();
    const sub = ps.subscription(name('survive-sub'), {flowControl: {maxMessages: 200}});
    const seen = new Set();
    let deliveries = 0;
    let lastReport = 0;
    await receive(sub, m => {
      deliveries++;
      seen.add(m.data.toString());
      m.ack();
      if (seen.size - lastReport >= 500) {
        lastReport = seen.size;
        console.log(`PROGRESS ${seen.size}`);
      }
    }, () => seen.size >= count, 180000);
    return {unique_received: seen.size, deliveries};
  },

  // Publishes `HUB_MESSAGES` for the kill -9 test, retrying what failed, and
  // reports every body the hub acknowledged.
  async survivorpublish() {
    const count = Number(process.env.HUB_MESSAGES);
    const ps = client();
    const [topic] = await ps.createTopic(name('survive'));
    await topic.createSubscription(name('survive-sub'));
    console.log('READY');
    const batched = ps.topic(topic.name, {batching: {maxMessages: 100, maxMilliseconds: 10}});
    let acknowledged = 0;
    for (let i = 0; i < count; i += 100) {
      const bodies = Array.from({length: Math.min(100, count - i)}, (_, j) => `v${i + j}`);
      for (;;) {
        try {
          await Promise.all(bodies.map(b => batched.publishMessage({
            data: Buffer.from(b), attributes: {'hub-idempotency-key': b}})));
          break;
        } catch (e) {
          await sleep(200);  // hubd is down: the same bodies again, deduplicated
        }
      }
      acknowledged += bodies.length;
      if (i % 1000 === 0) console.log(`PROGRESS ${acknowledged}`);
    }
    return {acknowledged};
  },

  // Over TLS with bearer tokens: HUB_ADMIN_TOKEN makes the topics, and
  // HUB_TOKEN may publish to one of them; without a token, and to the
  // other topic, the call is refused.
  async auth() {
    const token = process.env.HUB_TOKEN;
    process.env.HUB_TOKEN = process.env.HUB_ADMIN_TOKEN;
    const admin = client();
    await admin.createTopic(process.env.HUB_TOPIC);
    await admin.createTopic(process.env.HUB_OTHER_TOPIC);
    process.env.HUB_TOKEN = token;
    const ps = client();
    const topic = ps.topic(process.env.HUB_TOPIC);
    const allowed = await code(topic.publishMessage({data: Buffer.from('a')}));
    const refused = await code(ps.topic(process.env.HUB_OTHER_TOPIC)
                                   .publishMessage({data: Buffer.from('b')}));
    const saved = process.env.HUB_TOKEN;
    delete process.env.HUB_TOKEN;
    const anonymous = await code(client().topic(process.env.HUB_TOPIC)
                                     .publishMessage({data: Buffer.from('c')}));
    process.env.HUB_TOKEN = saved;
    return {allowed, refused, anonymous};
  },
};

async function main() {
  const scenario = scenarios[process.argv[2]];
  if (!scenario) throw new Error(`no scenario ${process.argv[2]}`);
  const result = await scenario();
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

main().catch(e => {
  console.error('FAILED', e);
  process.exit(1);
});
