// desk.mjs — the agent desk in a real browser (headless Debian chromium,
// driven by playwright-core). Run by tests/integration/test_desk_browser.py,
// which starts the stack and does what happens outside the browser: this
// script prints {"need": ...} and reads the answer (one JSON line) on stdin.
//
//   lan (desktop, Vietnamese) watches her team's queue; a Zalo message
//   appears live; she opens it, sees the earlier e-mail and call; the desk
//   is killed (-9) and restarted: she is still signed in (a reload shows
//   the ticket), replies, sees it delivered (live), solves it
//   sup (desktop, English) reassigns a ticket of Lan's to Minh, whose inbox
//   (another browser) shows it live
//   then every page (sign-in, inbox, ticket, supervisor) at phone and
//   desktop sizes in both languages: a screenshot, axe-core with no serious
//   or critical violation, nothing scrolling sideways on the phone
//
// Every request must stay on the desk's origin and no page may log an
// error. Environment: DESK_URL, DESK_PASSWORD, CAREBUS_ARTIFACTS,
// CAREBUS_CHROMIUM. Prints one JSON line per step; exits 1 on failure.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.CAREBUS_CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.CAREBUS_ARTIFACTS || 'tests/artifacts';
const url = process.env.DESK_URL;
const password = process.env.DESK_PASSWORD;
const LIVE_MS = 20000;
const REPLY = 'Chào chị Hoa, kỹ thuật viên sẽ đến lúc 9 giờ sáng mai ạ.';
const axeSource = readFileSync('node_modules/axe-core/axe.min.js', 'utf8');
const SIZES = {
  phone: { viewport: { width: 360, height: 780 }, isMobile: true, hasTouch: true },
  desktop: { viewport: { width: 1280, height: 800 } },
  wide: { viewport: { width: 1920, height: 1080 } },
};

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
function report(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
function check(cond, what) { if (!cond) throw new Error(`check failed: ${what}`); }
async function need(name, extra = {}) {
  report({ need: name, ...extra });
  const { value, done } = await lines.next();
  check(!done, `an answer to ${name}`);
  return JSON.parse(value);
}

const problems = [];
// While the desk is down (killed and restarted), the pages' calls to it
// fail: the browser logs those as errors, expected then.
let deskDown = false;
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function open(size, lang) {
  const ctx = await browser.newContext({ ...SIZES[size], locale: lang === 'vi' ? 'vi-VN' : 'en-US' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(LIVE_MS);
  page.on('request', (req) => {
    if (!req.url().startsWith(url + '/')) problems.push(`external request: ${req.url()}`);
  });
  page.on('console', (msg) => { if (msg.type() === 'error' && !deskDown) problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return page;
}

async function signIn(page, login, lang) {
  await page.goto(`${url}/?lang=${lang}`);
  check(new URL(page.url()).pathname === '/signin', 'no session: sent to /signin');
  check((await page.getAttribute('html', 'lang')) === lang, `sign-in page in ${lang}`);
  await page.fill('#login', login);
  await page.fill('#password', password);
  await Promise.all([page.waitForNavigation(), page.click('form.stack button[type=submit]')]);
  await page.waitForSelector('body[data-inbox-ready="1"]');
  await page.waitForSelector('body[data-live="1"]');
}

async function shot(page, name) {
  const path = join(artifacts, `desk-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  report({ screenshot: path });
}

async function axe(page, name) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe on ${name}: ${JSON.stringify(bad.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target) })))}`);
  report({ axe: name, violations: r.violations.length });
}

async function noSideScroll(page, name) {
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(over <= 1, `${name}: nothing scrolls sideways (${over}px)`);
}

try {
  mkdirSync(artifacts, { recursive: true });

  // 1. Lan's team queue: a Zalo message appears live.
  const lan = await open('desktop', 'vi');
  await signIn(lan, 'lan', 'vi');
  await lan.click('button[data-tab="team"]');
  await lan.waitForSelector('button[data-tab="team"][aria-selected="true"]');
  const { ticket } = await need('zalo_contact');
  await lan.waitForSelector(`#ticket-list li[data-ticket="${ticket}"]`, { timeout: LIVE_MS });
  report({ done: 'live-contact' });
  // Found without diacritics ("may giat" for "Máy giặt"), then the queue again.
  await lan.fill('#search', 'may giat loi');
  await lan.press('#search', 'Enter');
  await lan.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('#ticket-list li')];
    return rows.length > 0 && rows.some((r) => r.dataset.ticket === id);
  }, ticket);
  check(await lan.locator('#ticket-list li').count() >= 1, 'the search finds the contact');
  await lan.fill('#search', 'khong co tu nay');
  await lan.press('#search', 'Enter');
  await lan.waitForSelector('p.empty');
  await lan.fill('#search', '');
  await lan.press('#search', 'Enter');
  await lan.waitForSelector(`#ticket-list li[data-ticket="${ticket}"]`);
  report({ done: 'search' });

  // 2. Opened: the earlier e-mail and call are on the timeline.
  await lan.click(`#ticket-list li[data-ticket="${ticket}"] a`);
  await lan.waitForSelector('#timeline li[data-channel="zalo"]');
  check(await lan.locator('#timeline li[data-channel="email"]').count() >= 1, 'the earlier e-mail on the timeline');
  check(await lan.locator('#timeline li[data-kind="call"]').count() >= 1, 'the earlier call on the timeline');
  check(await lan.locator('#timeline .attachments a').count() >= 1, 'the e-mail\'s attachment shown');
  report({ done: 'history' });

  // The desk killed mid-shift and restarted: Lan is still signed in, on
  // the same ticket, and her reply (CSRF token and all) goes through.
  deskDown = true;
  await need('restart_desk');
  await lan.reload();
  check(new URL(lan.url()).pathname === '/', 'still signed in after the desk restarted');
  await lan.waitForSelector('#timeline li[data-channel="zalo"]');
  await lan.waitForSelector('body[data-live="1"]');
  deskDown = false;
  report({ done: 'restarted' });

  // 3. Reply; Zalo receives it; the receipt turns it delivered, live.
  await lan.fill('#composer', REPLY);
  await lan.click('#send-reply');
  await lan.waitForSelector('#timeline li.dir-out');
  await need('zalo_receipt');
  await lan.waitForSelector('#timeline [data-delivery="delivered"]', { timeout: LIVE_MS });
  report({ done: 'delivered' });

  // 4. Solved (the keyboard's "s").
  await lan.focus('#ticket-title');
  await lan.keyboard.press('s');
  await lan.waitForSelector('[data-status="solved"]');
  report({ done: 'solved' });

  // 5. The supervisor reassigns a ticket of Lan's to Minh; Minh sees it live.
  const { ticket: other } = await need('other_ticket');
  const minh = await open('desktop', 'en');
  await signIn(minh, 'minh@example.vn', 'en');
  check((await minh.locator(`#ticket-list li[data-ticket="${other}"]`).count()) === 0, 'not Minh\'s yet');
  const sup = await open('desktop', 'en');
  await signIn(sup, 'sup', 'en');
  await sup.goto(`${url}/#/supervisor`);
  await sup.waitForSelector(`body[data-sup-ready="1"] li[data-ticket="${other}"]`);
  const row = sup.locator(`li[data-ticket="${other}"]`);
  await row.locator('select').selectOption('minh');
  await row.locator('button[type=submit]').click();
  await minh.waitForSelector(`#ticket-list li[data-ticket="${other}"]`, { timeout: LIVE_MS });
  report({ done: 'reassigned-live' });
  // Minh steps away: the supervisor's view shows it live.
  await minh.selectOption('#presence', 'away');
  await sup.waitForSelector('tr[data-agent="minh"] .pres-away', { timeout: LIVE_MS });
  report({ done: 'presence-live' });

  // 6. Every page, phone and desktop, both languages: screenshots and axe.
  let presence = 'away'; // Minh's, changed during each sign-out
  for (const size of ['phone', 'desktop']) {
    for (const lang of ['vi', 'en']) {
      const page = await open(size, lang);
      await page.goto(`${url}/signin?lang=${lang}`);
      await axe(page, `signin-${size}-${lang}`);
      await shot(page, `signin-${size}-${lang}`);
      await signIn(page, 'sup', lang);
      await axe(page, `inbox-${size}-${lang}`);
      await noSideScroll(page, `inbox-${size}-${lang}`);
      await shot(page, `inbox-${size}-${lang}`);
      await page.goto(`${url}/#/t/${ticket}`);
      await page.waitForSelector('#timeline li[data-channel="zalo"]');
      await axe(page, `ticket-${size}-${lang}`);
      await noSideScroll(page, `ticket-${size}-${lang}`);
      await shot(page, `ticket-${size}-${lang}`);
      await page.goto(`${url}/#/supervisor`);
      await page.waitForSelector('body[data-sup-ready="1"]');
      await axe(page, `supervisor-${size}-${lang}`);
      await noSideScroll(page, `supervisor-${size}-${lang}`);
      await shot(page, `supervisor-${size}-${lang}`);
      // Sign-out ends the session: the page is the sign-in page again. Its
      // navigation is held, as on a loaded machine, while a change goes
      // live (Minh's presence, seen by the supervisor's other page): the
      // page left behind must not call the desk meanwhile (its stream
      // reconnects 250 ms after each answer, its list reloads), for the
      // session is gone (401, an error in the console).
      await page.goto(`${url}/`);
      await page.waitForSelector('body[data-inbox-ready="1"]');
      let forgotten, release;
      const gone = new Promise((r) => { forgotten = r; });
      const held = new Promise((r) => { release = r; });
      await page.route('**/signout', async (route) => {
        const answer = await route.fetch({ maxRedirects: 0 });
        forgotten();
        await held;
        await route.fulfill({ response: answer });
      });
      const left = page.waitForNavigation();
      try {
        await page.click('form[action="/signout"] button', { noWaitAfter: true });
        await Promise.race([gone, new Promise((_, no) => {
          setTimeout(() => no(new Error('the sign-out did not come back')), LIVE_MS);
        })]);
        presence = presence === 'away' ? 'online' : 'away';
        await minh.selectOption('#presence', presence);
        await sup.waitForSelector(`tr[data-agent="minh"] .pres-${presence}`, { timeout: LIVE_MS });
        await page.waitForTimeout(1000); // the old page's turn to (not) call
      } finally {
        release();
      }
      await left;
      check(new URL(page.url()).pathname === '/signin', 'signed out');
      await page.context().close();
    }
  }
  const wide = await open('wide', 'vi');
  await signIn(wide, 'sup', 'vi');
  await noSideScroll(wide, 'inbox-wide');
  await shot(wide, 'inbox-wide-vi');
  report({ done: 'axe' });
  check(problems.length === 0, problems.join('\n'));
  await browser.close();
  process.exit(0);
} catch (e) {
  report({ failed: String(e && e.stack || e), problems });
  await browser.close();
  process.exit(1);
}
