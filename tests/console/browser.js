// The console's pages in a real browser: Debian's Chromium, driven over the
// DevTools protocol by puppeteer-core (installed into .tools/ by
// scripts/install-deps; it never downloads a browser). Run by
// tests/console/console_test.cc with the figures the RPCs gave:
//   node browser.js EXPECT.json OUT_DIR chromium|firefox
// Firefox (Debian's firefox-esr) is driven the same way, over WebDriver
// BiDi. Exits non-zero when a page shows another figure, an action fails,
// or a page throws or logs a JavaScript error. Leaves a screenshot of each
// page in OUT_DIR.
'use strict';

const fs = require('fs');
const path = require('path');
const puppeteer = require(path.join(__dirname, '../../.tools/node_modules/puppeteer-core'));

const [specPath, outDir, browserName] = process.argv.slice(2);
const firefox = browserName === 'firefox';
const expect = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const failures = [];
const jsErrors = [];

function check(what, actual, wanted) {
  const ok = actual === wanted;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${JSON.stringify(actual)}${ok ? '' : ` (wanted ${JSON.stringify(wanted)})`}`);
  if (!ok) failures.push(what);
}

const renders = (page) => page.evaluate(() => Number(document.body.dataset.renders || 0));

// Runs `act` and waits until the page rendered once more.
async function afterRender(page, act) {
  const before = await renders(page);
  await act();
  await page.waitForFunction((n) => Number(document.body.dataset.renders || 0) > n, { timeout: 15000 }, before);
}

async function show(page, hash) {
  await afterRender(page, () => page.evaluate((h) => { location.hash = h; }, hash));
}

const text = (page, selector) => page.$eval(selector, (el) => el.textContent.trim());
const shot = (page, name) => page.screenshot({ path: path.join(outDir, `${browserName}-${name}.png`), fullPage: true });
const number = (n) => Number(n).toLocaleString('en-US');

async function main() {
  const browser = await puppeteer.launch(firefox
    ? { browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true }
    : {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--no-first-run', '--no-default-browser-check', '--disable-extensions'],
    });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on('pageerror', (e) => jsErrors.push('uncaught: ' + e.message));
    page.on('console', (msg) => {
      // A refused fetch (the 401 before signing in) is the browser's
      // network notice, not the page's error.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) jsErrors.push(msg.text());
    });
    page.on('dialog', (dialog) => {
      console.log('confirm: ' + dialog.message());
      dialog.accept();
    });

    // Signing in: the token asked for once, kept in the tab.
    await page.goto(expect.url, { waitUntil: 'load' });
    await page.waitForSelector('#sign-in:not([hidden])');
    await page.type('#token', expect.token);
    await afterRender(page, () => page.click('#sign-in button[type=submit]'));

    // The estate: billing's figures are the RPC's.
    await page.waitForSelector('#estate');
    const billingRow = 'tr[data-subscription="billing"]';
    check('estate billing waiting', await text(page, `${billingRow} [data-field=backlog_messages]`), number(expect.billing.backlog_messages));
    check('estate billing in flight', await text(page, `${billingRow} [data-field=unacked_messages]`), number(expect.billing.unacked_messages));
    check('estate billing dead-lettered', await text(page, `${billingRow} [data-field=dead_lettered_messages]`), number(expect.billing.dead_lettered_messages));
    check('estate shipping waiting', await text(page, 'tr[data-subscription="shipping"] [data-field=backlog_messages]'), number(expect.shipping.backlog_messages));
    check('estate rate charts', await page.$$eval('svg.spark', (s) => s.length), 6);
    // events had traffic: its publish and audit's ack charts have a line
    // and a peak; dlq never had any.
    for (const row of ['tr[data-topic="events"]', 'tr[data-subscription="audit"]']) {
      check(`${row} chart drawn`, await page.$$eval(`${row} svg.spark polyline`, (l) => l.length), 1);
    }
    check('dlq chart empty', await page.$$eval('tr[data-topic="dlq"] svg.spark polyline', (l) => l.length), 0);
    await shot(page, 'estate');

    // "Where is order 42": the topic's browser with an attribute filter.
    await show(page, '#/topic/orders');
    await page.$eval('#browse input[name=filter]', (el) => { el.value = 'attributes.customer = "42"'; });
    await afterRender(page, () => page.click('#browse button[type=submit]'));
    const found = await page.$$eval('table.messages tbody tr', (rows) => rows.map((r) => r.dataset.messageId));
    check('browse customer 42', JSON.stringify(found), JSON.stringify([expect.order42]));
    await shot(page, 'topic');

    // The message: its data pretty-printed, its fate on each subscription.
    await afterRender(page, () => page.click(`tr[data-message-id="${expect.order42}"] a`));
    check('message data as JSON', (await text(page, '#data')).includes('"customer": "42"'), true);
    const fates = await page.$$eval('#fates tbody tr', (rows) => rows.map((r) => r.dataset.subscription + ':' + r.querySelector('[data-field=state]').textContent));
    check('message fates', fates.length, 2);
    await shot(page, 'message');

    // "What is stuck", and redrive two of it to billing alone.
    await show(page, '#/subscription/billing');
    check('billing page dead-lettered', await text(page, '#figures [data-field=dead_lettered_messages]'), number(expect.billing.dead_lettered_messages));
    await afterRender(page, () => page.click('button[data-state=dead_lettered]'));
    check('dead letters listed', await page.$$eval('input.pick', (p) => p.length), expect.billing.dead_lettered_messages);
    for (const id of expect.redrive) await page.click(`input.pick[value="${id}"]`);
    await afterRender(page, () => page.click('#redrive'));
    check('redrive reported', (await text(page, '#banner')).startsWith('Redrove 2 message(s) to billing'), true);
    check('dead letters left', await page.$$eval('input.pick', (p) => p.length), expect.billing.dead_lettered_messages - 2);
    check('billing page dead-lettered after', await text(page, '#figures [data-field=dead_lettered_messages]'), number(expect.billing.dead_lettered_messages - 2));
    await shot(page, 'subscription');

    // Seek shipping to now: everything published counts as acknowledged.
    await show(page, '#/subscription/shipping');
    await page.$eval('#seek input[name=time]', (el, now) => { el.value = now; }, new Date().toISOString());
    await afterRender(page, () => page.click('#seek button[type=submit]'));
    check('seek reported', (await text(page, '#banner')).startsWith('Seeked shipping'), true);
    check('shipping waiting after seek', await text(page, '#figures [data-field=backlog_messages]'), '0');

    // The hub: this replica among those its database sees.
    await show(page, '#/hub');
    check('hub sees this replica', (await page.$$eval('#replicas tbody tr', (rows) => rows.map((r) => r.textContent))).some((t) => t.includes('(this one)')), true);
    check('hub database', await text(page, '[data-field=database]'), 'up');
    await shot(page, 'hub');

    // A phone's width: the page fits, wide tables scroll inside themselves.
    await page.setViewport({ width: 390, height: 844, isMobile: !firefox });
    await show(page, '#/');
    check('phone width fits', await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
    await shot(page, 'phone-estate');

    // Another token sees names but not what it may not read.
    await afterRender(page, () => page.click('#sign-out'));
    await page.waitForSelector('#sign-in:not([hidden])');
    await page.$eval('#token', (el) => { el.value = ''; });
    await page.type('#token', expect.viewer_token);
    await afterRender(page, () => page.click('#sign-in button[type=submit]'));
    await show(page, '#/subscription/billing');
    check('viewer may not consume', (await text(page, '#page')).includes('You may not read or change'), true);
  } finally {
    await browser.close();
  }
  for (const e of jsErrors) console.log('JavaScript error: ' + e);
  if (failures.length || jsErrors.length) {
    console.log(`${failures.length} check(s) failed, ${jsErrors.length} JavaScript error(s)`);
    process.exit(1);
  }
  console.log('every page checked');
}

main().catch((e) => {
  console.log('FAIL ' + (e.stack || e));
  process.exit(1);
});
