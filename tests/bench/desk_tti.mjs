// desk_tti.mjs — the inbox's time to interactive in Chromium (headless
// Debian chromium, playwright-core), for tests/bench/desk.py.
//
// Signs in once, then loads the inbox DESK_RUNS times (a full page load
// each, the cache warm as an agent's is): the time from the navigation's
// start to the "inbox-ready" mark desk.js sets once the list and the
// queue counts are drawn and the page answers input. Prints one JSON
// line: every run's milliseconds, their median and slowest, the rows drawn.
// Environment: DESK_URL, DESK_LOGIN, DESK_PASSWORD, DESK_TAB (team),
// DESK_RUNS (10), CAREBUS_CHROMIUM.
import { chromium } from 'playwright-core';

const url = process.env.DESK_URL;
const runs = Number(process.env.DESK_RUNS || 10);
const tab = process.env.DESK_TAB || 'team';
const browser = await chromium.launch({
  executablePath: process.env.CAREBUS_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(30000);
  await page.goto(`${url}/signin?lang=en`);
  await page.fill('#login', process.env.DESK_LOGIN);
  await page.fill('#password', process.env.DESK_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form.stack button[type=submit]')]);
  await page.waitForSelector('body[data-inbox-ready="1"]');
  const ms = [];
  let rows = 0;
  for (let i = 0; i < runs; i++) {
    await page.goto(`${url}/?run=${i}#/${tab}`);
    await page.waitForSelector('body[data-inbox-ready="1"]');
    ms.push(await page.evaluate(() => performance.getEntriesByName('inbox-ready')[0].startTime));
    rows = await page.locator('#ticket-list li').count();
  }
  const sorted = [...ms].sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ runs: ms.map((x) => Math.round(x)), median: Math.round(sorted[Math.floor(sorted.length / 2)]), max: Math.round(sorted[sorted.length - 1]), rows }) + '\n');
  await browser.close();
} catch (e) {
  process.stderr.write(String(e && e.stack || e) + '\n');
  await browser.close();
  process.exit(1);
}
