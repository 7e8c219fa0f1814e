// The hub's web console (docs/console.md): plain JavaScript over the JSON
// API under /console/api/. The bearer token stays in this tab's
// sessionStorage; changes are POSTs with the session's CSRF token, each
// confirmed first.
'use strict';

const TOKEN_KEY = 'hub-console-token';
let session = null;

// An element with attributes and children (strings become text, never HTML).
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body.error || ('HTTP ' + status));
    this.status = status;
  }
}

async function api(path, params, change) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v) query.set(k, v);
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { headers };
  if (change) {
    init.method = 'POST';
    headers['Content-Type'] = 'application/json';
    headers['X-Hub-Csrf'] = session ? session.csrf_token : '';
    init.body = JSON.stringify(change);
  }
  const qs = query.toString();
  const response = await fetch('api/' + path + (qs ? '?' + qs : ''), init);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function banner(text, ok) {
  const el = document.getElementById('banner');
  el.textContent = text || '';
  el.hidden = !text;
  el.className = ok ? 'ok' : '';
}

// --- Formatting -----------------------------------------------------------

function count(n) {
  return n === undefined || n === null ? '—' : Number(n).toLocaleString('en-US');
}

function bytes(n) {
  if (n === undefined || n === null) return '—';
  n = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
}

// A protobuf JSON duration ("12.5s") as words.
function age(duration) {
  if (!duration) return '—';
  const s = parseFloat(duration);
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  if (s < 3600) return (s / 60).toFixed(1) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

function rate(r) {
  return r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(r >= 10 ? 1 : 2);
}

// What the rate charts span: 90 steps of the session's step.
function windowText() {
  const seconds = 90 * ((session && session.rate_step_seconds) || 10);
  return seconds >= 120 ? `the last ${Math.round(seconds / 60)} minutes` : `the last ${seconds} seconds`;
}

// The rates of the charts' window as a small line, with the last value.
function spark(rates, what) {
  const w = 120, ht = 24;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', w);
  svg.setAttribute('height', ht);
  svg.setAttribute('viewBox', `0 0 ${w} ${ht}`);
  const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
  title.textContent = `${what} per second, ${windowText()} (this replica)`;
  svg.append(title);
  if (rates && rates.length > 1) {
    const max = Math.max(...rates, 1e-9);
    const step = w / (rates.length - 1);
    const points = rates.map((r, i) => `${(i * step).toFixed(1)},${(ht - 2 - (r / max) * (ht - 4)).toFixed(1)}`);
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', points.join(' '));
    svg.append(line);
  }
  const last = rates && rates.length ? rate(rates[rates.length - 1]) + '/s' : '—';
  return h('span', { class: 'rate' }, svg, ' ', h('span', { 'data-field': what }, last));
}

// Settings as a definition list; nested values as JSON.
function settings(obj) {
  const dl = h('dl', { class: 'settings' });
  for (const [k, v] of Object.entries(obj)) {
    if (v === '' || v === null || (typeof v === 'object' && Object.keys(v).length === 0)) continue;
    dl.append(h('dt', {}, k), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v)));
  }
  return dl;
}

function link(text, route) {
  return h('a', { href: '#/' + route.map(encodeURIComponent).join('/') }, text);
}

function stateName(s) {
  return (s || '').replace('MESSAGE_STATE_', '').toLowerCase().replace('_', ' ');
}

function decodeData(b64) {
  const raw = atob(b64 || '');
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function asText(data) {
  try { return new TextDecoder('utf-8', { fatal: true }).decode(data); } catch { return null; }
}

function asHex(data) {
  const lines = [];
  for (let i = 0; i < data.length; i += 16) {
    const row = Array.from(data.slice(i, i + 16));
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const chars = row.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(i.toString(16).padStart(8, '0') + '  ' + hex.padEnd(48) + '  ' + chars);
  }
  return lines.join('\n');
}

function preview(message) {
  const data = decodeData(message.data);
  const text = asText(data);
  const shown = text !== null ? text : asHex(data.slice(0, 24));
  return shown.length > 80 ? shown.slice(0, 80) + '…' : shown;
}

function attributes(attrs) {
  return Object.entries(attrs || {}).map(([k, v]) => `${k}=${v}`).join(', ');
}

// --- Shared parts ---------------------------------------------------------

const STAT_COLUMNS = [
  ['backlog_messages', 'Waiting', count],
  ['unacked_messages', 'In flight', count],
  ['unacked_bytes', 'Unacked bytes', bytes],
  ['oldest_unacked_age', 'Oldest unacked', age],
  ['dead_lettered_messages', 'Dead-lettered', count],
];

function statCells(stats) {
  return STAT_COLUMNS.map(([field, , format], i) => h('td', { class: 'num' + (i === 2 ? ' wide' : ''), 'data-field': field },
    stats ? format(stats[field]) : '—'));
}

function statHeads() {
  return STAT_COLUMNS.map(([, label], i) => h('th', { class: 'num' + (i === 2 ? ' wide' : '') }, label));
}

// Rows of a topic's subscriptions (the estate's and a topic page's table).
function subscriptionRows(topic, subs, more) {
  const rows = subs.map((s) => h('tr', { class: 'sub', 'data-subscription': s.name },
    h('td', { class: 'name' }, link(s.name, ['subscription', s.name])),
    statCells(s.stats),
    h('td', {}, spark(s.acked, 'acks'))));
  if (more) rows.push(h('tr', { class: 'sub' }, h('td', { colspan: 7 }, link('more subscriptions…', ['topic', topic]))));
  if (!subs.length) rows.push(h('tr', { class: 'sub' }, h('td', { colspan: 7, class: 'muted' }, 'no subscriptions')));
  return rows;
}

function pager(next, go, first) {
  return h('div', { class: 'pager' },
    first ? h('button', { type: 'button', onclick: first }, 'First page') : null,
    next ? h('button', { type: 'button', class: 'next', onclick: () => go(next) }, 'Next page') : null);
}

// --- Pages ----------------------------------------------------------------

async function estatePage(params) {
  const page = await api('estate', { page_token: params.get('page_token'), page_size: params.get('page_size') });
  const table = h('table', { id: 'estate' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Topic / subscription'), statHeads(), h('th', {}, 'Rate'))));
  const body = h('tbody');
  for (const t of page.topics) {
    body.append(h('tr', { class: 'topic', 'data-topic': t.name },
      h('td', { class: 'name' }, link(t.name, ['topic', t.name])),
      h('td', { colspan: 5 }),
      h('td', {}, spark(t.published, 'publishes'))));
    body.append(...subscriptionRows(t.name, t.subscriptions, t.more_subscriptions));
  }
  table.append(body);
  return [
    h('h1', {}, 'Estate'),
    h('p', { class: 'muted' }, `Rates are what this replica (${session.replica || 'hubd'}) served, per second over ${windowText()}: publishes on a topic's row, acks on a subscription's. The other figures are the database's.`),
    page.topics.length ? h('div', { class: 'scroll' }, table) : h('p', {}, 'No topics on this page.'),
    pager(page.next_page_token, (t) => go('', { page_token: t }), params.get('page_token') ? () => go('', {}) : null),
  ];
}

function messageTable(topic, messages, withFate) {
  const table = h('table', { class: 'messages' }, h('thead', {}, h('tr', {},
    withFate ? h('th', {}, '') : null, h('th', {}, 'Message id'), h('th', {}, 'Published'),
    withFate ? h('th', {}, 'State') : null, withFate ? h('th', { class: 'num' }, 'Attempts') : null,
    h('th', { class: 'wide' }, 'Attributes'), h('th', {}, 'Data'))));
  const body = h('tbody');
  for (const item of messages) {
    const m = withFate ? item.message : item;
    body.append(h('tr', { 'data-message-id': m.message_id },
      withFate ? h('td', {}, h('input', { type: 'checkbox', class: 'pick', value: m.message_id, 'aria-label': 'choose ' + m.message_id })) : null,
      h('td', {}, link(m.message_id, ['message', topic, m.message_id])),
      h('td', {}, m.publish_time),
      withFate ? h('td', {}, h('span', { class: 'state' }, stateName(item.fate.state))) : null,
      withFate ? h('td', { class: 'num' }, item.fate.delivery_attempt) : null,
      h('td', { class: 'wide' }, attributes(m.attributes)),
      h('td', {}, preview(m))));
  }
  table.append(body);
  return h('div', { class: 'scroll' }, table);
}

async function topicPage(params, name) {
  const t = await api('topic', { name });
  const parts = [h('h1', {}, 'Topic ', name), h('h2', {}, 'Settings'), settings(t.topic)];
  if (t.schema) parts.push(h('h2', {}, 'Schema ', t.schema.name), h('pre', {}, t.schema.definition));
  const table = h('table', { id: 'subscriptions' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Subscription'), statHeads(), h('th', {}, 'Acks'))),
    h('tbody', {}, subscriptionRows(name, t.subscriptions, t.more_subscriptions)));
  parts.push(h('h2', {}, 'Subscriptions'), h('div', { class: 'scroll' }, table));
  parts.push(h('h2', {}, 'Messages'));
  if (!t.may_browse) {
    parts.push(h('p', { class: 'muted' }, 'You may not read this topic\'s messages.'));
    return parts;
  }
  const browse = {
    start_time: params.get('start_time') || '', start_message_id: params.get('start_message_id') || '',
    filter: params.get('filter') || '', page_token: params.get('page_token') || '',
  };
  const form = h('form', { class: 'inline', id: 'browse' },
    h('label', {}, 'From time (RFC 3339)', h('input', { name: 'start_time', value: browse.start_time, placeholder: '2026-01-02T15:04:05Z' })),
    h('label', {}, 'or from message id', h('input', { name: 'start_message_id', value: browse.start_message_id, size: 10 })),
    h('label', {}, 'Attribute filter', h('input', { name: 'filter', value: browse.filter, placeholder: 'attributes.customer = "42"' })),
    h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    go(`topic/${encodeURIComponent(name)}`, Object.fromEntries(f.entries()));
  });
  parts.push(form);
  const page = await api('topic/messages', Object.assign({ topic: name }, browse));
  parts.push(page.messages.length ? messageTable(name, page.messages, false) : h('p', { class: 'muted' }, 'No messages.'));
  parts.push(pager(page.next_page_token, (tok) => go(`topic/${encodeURIComponent(name)}`, Object.assign({}, browse, { page_token: tok }))));
  return parts;
}

async function confirmAndPost(question, path, change, done) {
  if (!window.confirm(question)) return;
  try {
    const result = await api(path, null, change);
    banner(done(result), true);
    await render(false);
  } catch (e) {
    banner(e.message);
  }
}

async function subscriptionPage(params, name) {
  const s = await api('subscription', { name });
  const sub = s.subscription;
  const stats = s.stats;
  const parts = [h('h1', {}, 'Subscription ', name),
    h('p', {}, 'Topic ', link(sub.topic, ['topic', sub.topic]))];
  if (stats) {
    parts.push(h('div', { class: 'figures', id: 'figures' }, STAT_COLUMNS.map(([field, label, format]) =>
      h('div', { class: 'figure' }, h('div', { class: 'value', 'data-field': field }, format(stats[field])), h('div', { class: 'label' }, label))),
    h('div', { class: 'figure' }, h('div', { class: 'value' }, spark(s.acked, 'acks')), h('div', { class: 'label' }, 'Acks per second'))));
  }
  parts.push(h('h2', {}, 'Settings'), settings(sub));
  if (!s.may_consume) {
    parts.push(h('p', { class: 'muted' }, 'You may not read or change what this subscription holds.'));
    return parts;
  }
  // Seek.
  const seek = h('form', { class: 'inline', id: 'seek' },
    h('label', {}, 'Seek to a time (RFC 3339)', h('input', { name: 'time', placeholder: new Date().toISOString() })),
    h('label', {}, 'or to a snapshot', h('select', { name: 'snapshot' }, h('option', { value: '' }, '—'),
      s.snapshots.map((n) => h('option', { value: n }, n)))),
    h('button', { type: 'submit', class: 'danger' }, 'Seek'));
  seek.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(seek).entries());
    const change = { subscription: name };
    if (f.snapshot) change.snapshot = f.snapshot; else change.time = f.time;
    const what = f.snapshot ? `snapshot ${f.snapshot}` : `time ${f.time}`;
    confirmAndPost(`Seek ${name} to ${what}? Messages after it are delivered again; those before it count as acknowledged.`,
      'seek', change, () => `Seeked ${name} to ${what}.`);
  });
  parts.push(h('h2', {}, 'Seek'), seek);
  // What it holds.
  const state = params.get('state') || 'waiting';
  const tabs = h('div', { class: 'tabs', role: 'tablist' }, [['waiting', 'Waiting'], ['in_flight', 'In flight'], ['dead_lettered', 'Dead-lettered']]
    .map(([key, label]) => h('button', { type: 'button', 'aria-pressed': String(key === state), 'data-state': key,
      onclick: () => go(`subscription/${encodeURIComponent(name)}`, { state: key }) }, label)));
  parts.push(h('h2', {}, 'Messages'), tabs);
  const page = await api('subscription/messages', { name, state, page_token: params.get('page_token') });
  if (!page.messages.length) {
    parts.push(h('p', { class: 'muted' }, 'None.'));
  } else {
    parts.push(messageTable(sub.topic, page.messages, true));
    if (state === 'dead_lettered') {
      parts.push(h('button', { type: 'button', class: 'danger', id: 'redrive', onclick: () => {
        const ids = Array.from(document.querySelectorAll('input.pick:checked')).map((c) => c.value);
        if (!ids.length) { banner('Choose the dead letters to redrive first.'); return; }
        confirmAndPost(`Redrive ${ids.length} dead letter(s) to ${name} alone? They are delivered to it again.`,
          'redrive', { subscription: name, message_ids: ids },
          (r) => `Redrove ${r.message_ids.length} message(s) to ${name}` + (r.more ? '; more remain.' : '.'));
      } }, 'Redrive chosen to this subscription'));
    }
  }
  parts.push(pager(page.next_page_token, (tok) => go(`subscription/${encodeURIComponent(name)}`, { state, page_token: tok })));
  return parts;
}

async function messagePage(params, topic, id) {
  const fate = await api('message', { topic, id });
  const m = fate.message;
  const data = decodeData(m.data);
  const text = asText(data);
  let json = null;
  if (text !== null) { try { json = JSON.stringify(JSON.parse(text), null, 2); } catch { json = null; } }
  const views = { json, text, hex: asHex(data) };
  let view = params.get('view') || (json !== null ? 'json' : text !== null ? 'text' : 'hex');
  if (views[view] === null) view = 'hex';
  const pre = h('pre', { id: 'data' }, views[view]);
  const tabs = h('div', { class: 'tabs' }, ['json', 'text', 'hex'].filter((k) => views[k] !== null).map((k) =>
    h('button', { type: 'button', 'aria-pressed': String(k === view), 'data-view': k, onclick: (e) => {
      pre.textContent = views[k];
      for (const b of tabs.children) b.setAttribute('aria-pressed', String(b === e.target));
    } }, k.toUpperCase())));
  const fates = h('table', { id: 'fates' }, h('thead', {}, h('tr', {}, h('th', {}, 'Subscription'), h('th', {}, 'State'),
    h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Lease expires / due'), h('th', {}, 'Dead letter'))),
  h('tbody', {}, fate.subscriptions.map((f) => h('tr', { 'data-subscription': f.subscription },
    h('td', { class: 'name' }, link(f.subscription, ['subscription', f.subscription])),
    h('td', {}, h('span', { class: 'state', 'data-field': 'state' }, stateName(f.state))),
    h('td', { class: 'num' }, f.delivery_attempt),
    h('td', {}, f.lease_expire_time || f.next_delivery_time || ''),
    h('td', {}, f.dead_letter ? [link(f.dead_letter.message_id, ['message', f.dead_letter.topic, f.dead_letter.message_id]),
      ` on ${f.dead_letter.topic}: ${f.dead_letter.reason}`] : '')))));
  return [
    h('h1', {}, 'Message ', id),
    h('p', {}, 'Topic ', link(topic, ['topic', topic]), `, published ${m.publish_time}`,
      m.ordering_key ? `, ordering key ${m.ordering_key}` : ''),
    h('h2', {}, 'Data'), tabs, pre,
    h('h2', {}, 'Attributes'), settings(m.attributes || {}),
    h('h2', {}, 'Fate'), h('div', { class: 'scroll' }, fates),
  ];
}

async function hubPage() {
  const hub = await api('hub');
  const pool = h('table', { id: 'pool' }, h('thead', {}, h('tr', {}, h('th', {}, 'Pool'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Connections'))),
    h('tbody', {}, hub.pool.map((p) => h('tr', {}, h('td', {}, p.labels.pool || ''), h('td', {}, p.labels.state || ''), h('td', { class: 'num' }, count(p.value))))));
  const replicas = h('table', { id: 'replicas' }, h('thead', {}, h('tr', {}, h('th', {}, 'Replica'), h('th', { class: 'num' }, 'Connections'),
    h('th', { class: 'num' }, 'Active'), h('th', {}, 'Connected since'))),
  h('tbody', {}, hub.replicas.map((r) => h('tr', { class: r.name === hub.replica ? 'self' : '' },
    h('td', {}, r.name, r.name === hub.replica ? ' (this one)' : ''), h('td', { class: 'num' }, r.connections),
    h('td', { class: 'num' }, r.active), h('td', {}, r.connected_since)))));
  return [
    h('h1', {}, 'Hub'),
    h('div', { class: 'figures' },
      [['Version', hub.version, 'version'], ['gRPC connections', count(hub.connections), 'connections'],
        ['Streams', count(hub.streams), 'streams'], ['Database', hub.database_up ? 'up' : 'down', 'database']]
        .map(([label, value, field]) => h('div', { class: 'figure' }, h('div', { class: 'value', 'data-field': field }, value), h('div', { class: 'label' }, label)))),
    h('h2', {}, 'Replicas on this database'), h('div', { class: 'scroll' }, replicas),
    h('h2', {}, 'Database pool of this replica'), h('div', { class: 'scroll' }, pool),
  ];
}

// --- Routing ----------------------------------------------------------------

function go(route, params) {
  const qs = new URLSearchParams(Object.entries(params || {}).filter(([, v]) => v)).toString();
  location.hash = '#/' + route + (qs ? '?' + qs : '');
}

async function render(clearBanner = true) {
  const [path, qs] = location.hash.replace(/^#\/?/, '').split('?');
  const params = new URLSearchParams(qs || '');
  const parts = path.split('/').filter((p) => p).map(decodeURIComponent);
  const page = document.getElementById('page');
  if (clearBanner) banner('');
  try {
    if (!session) {
      session = await api('session');
      document.getElementById('who').textContent = `${session.principal} · ${session.replica || ''} · ${session.version}`;
      document.getElementById('sign-out').hidden = !sessionStorage.getItem(TOKEN_KEY);
    }
    let content;
    if (!parts.length) content = await estatePage(params);
    else if (parts[0] === 'topic' && parts.length === 2) content = await topicPage(params, parts[1]);
    else if (parts[0] === 'subscription' && parts.length === 2) content = await subscriptionPage(params, parts[1]);
    else if (parts[0] === 'message' && parts.length === 3) content = await messagePage(params, parts[1], parts[2]);
    else if (parts[0] === 'hub') content = await hubPage();
    else content = [h('h1', {}, 'Not found'), h('p', {}, link('The estate', []))];
    document.getElementById('sign-in').hidden = true;
    page.replaceChildren(...content);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      session = null;
      page.replaceChildren();
      document.getElementById('sign-in').hidden = false;
      if (sessionStorage.getItem(TOKEN_KEY)) banner('That token is not valid here.');
    } else {
      page.replaceChildren(h('p', { class: 'muted' }, 'Could not load this page.'));
      banner(e.message);
    }
  }
  // How many renders finished: what a test waits on after it acts.
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
}

document.getElementById('sign-in').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, document.getElementById('token').value);
  session = null;
  render();
});
document.getElementById('sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  session = null;
  render();
});
window.addEventListener('hashchange', () => render());
render();
