// first-hour.mjs — what a newcomer opens after `make run` and `make demo`,
// in a real browser (headless Debian chromium, driven by playwright-core).
// Run by tests/integration/test_first_hour.py; see tests/browser/README.
//
//   dashboard  the default page (the last 30 days), in Vietnamese and in
//              English, after signing in with the API key on the page it
//              sends a person to: every KPI tile shows a value (no "—"),
//              every chart has data (no "no data" note); signing out ends
//              the session (the dashboard sends to sign in again)
//   survey     the URL `make run` prints: a page (not an API error) that
//              says what surveys are and links to an example of the form;
//              the example is filled in and sent, and says nothing was
//              recorded
// Along the way: every request stays on the page's origin and no page logs
// an error. Screenshots go to CAREBUS_ARTIFACTS.
//
// Environment: DASHBOARD_URL, SURVEY_URL (as printed), API_KEY (a key with
// the read scope: `make run`'s), CAREBUS_ARTIFACTS,
// CAREBUS_CHROMIUM (default /usr/bin/chromium). Prints one JSON line per
// step; exits 1 on failure.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const executablePath = process.env.CAREBUS_CHROMIUM || '/usr/bin/chromium';
const artifacts = process.env.CAREBUS_ARTIFACTS || 'tests/artifacts';
const STEP_TIMEOUT_MS = 15000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function watch(page, origin) {
  const problems = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(origin + '/') && !req.url().startsWith('data:'))
      problems.push(`external request: ${req.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

const WORDS = {
  vi: { key: 'Khóa API', signIn: 'Đăng nhập', signOut: 'Đăng xuất', out: 'Bạn đã đăng xuất.' },
  en: { key: 'API key', signIn: 'Sign in', signOut: 'Sign out', out: 'You are signed out.' },
};

// Without a session the dashboard sends to its sign-in page, in the
// dashboard's language; the key signs in and comes back. The answer of the
// page signed in to.
async function signIn(page, href, key, lang) {
  const first = await page.goto(href);
  const at = new URL(page.url());
  check(at.pathname === '/signin', `dashboard (${lang}): sends to sign in (at ${page.url()})`);
  check(first.status() === 200, `sign-in page (${lang}): 200 (got ${first.status()})`);
  check((await page.getAttribute('html', 'lang')) === lang, `sign-in page in ${lang}`);
  await page.getByLabel(WORDS[lang].key).fill(key);
  const [res] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: WORDS[lang].signIn }).click(),
  ]);
  check(page.url() === href, `signed in: back at ${href} (at ${page.url()})`);
  return res;
}

async function signOut(page, href, lang) {
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: WORDS[lang].signOut }).click()]);
  await page.getByText(WORDS[lang].out).waitFor();
  await page.goto(href);
  check(new URL(page.url()).pathname === '/signin', `signed out (${lang}): the dashboard sends to sign in`);
}

async function dashboard(browser, url, key, lang, noData) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = watch(page, new URL(url).origin);
  const target = new URL(url);
  target.searchParams.set('lang', lang);
  const res = await signIn(page, target.href, key, lang);
  check(res.status() === 200, `dashboard (${lang}): 200 (got ${res.status()})`);
  const tiles = await page.locator('dl.cards .card').evaluateAll((cards) =>
    cards.map((c) => ({
      label: c.querySelector('dt').textContent.trim(),
      value: c.querySelector('dd').textContent.trim(),
    }))
  );
  check(tiles.length >= 16, `dashboard (${lang}): the KPI tiles (${tiles.length})`);
  const empty = tiles.filter((t) => t.value === '' || t.value === '—');
  check(empty.length === 0, `dashboard (${lang}): every KPI has a value; without: ${JSON.stringify(empty)}`);
  const charts = await page.locator('section.charts svg').count();
  check(charts >= 7, `dashboard (${lang}): the charts (${charts})`);
  const bare = await page.locator('section.charts svg text', { hasText: noData }).count();
  check(bare === 0, `dashboard (${lang}): ${bare} chart(s) say "${noData}"`);
  await page.screenshot({ path: join(artifacts, `first-hour-dashboard-${lang}.png`), fullPage: true });
  await signOut(page, target.href, lang);
  check(problems.length === 0, `dashboard (${lang}): ${problems.join('; ')}`);
  await context.close();
  report({ dashboard: lang, tiles });
}

async function survey(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = watch(page, new URL(url).origin);
  const res = await page.goto(url);
  check(res.status() === 200, `survey front page: 200 (got ${res.status()})`);
  check(res.headers()['content-type'].startsWith('text/html'), 'survey front page: HTML');
  check((await page.getAttribute('html', 'lang')) === 'en', 'survey front page in English (Accept-Language)');
  await page.getByRole('heading', { name: 'Customer satisfaction surveys' }).waitFor();
  await page.screenshot({ path: join(artifacts, 'first-hour-survey-home.png'), fullPage: true });

  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /example of the form/ }).click()]);
  check(new URL(page.url()).pathname.endsWith('/example'), `the example is at /example (${page.url()})`);
  await page.getByText('answers are not recorded').waitFor();
  const csat = page.getByRole('group', { name: /How satisfied/ });
  const ces = page.getByRole('group', { name: /made it easy/ });
  check((await csat.getByRole('radio').count()) === 5, 'the example: five CSAT choices');
  check((await ces.getByRole('radio').count()) === 7, 'the example: seven CES choices');
  await csat.getByRole('radio', { name: /Very satisfied/ }).check();
  await ces.getByRole('radio', { name: /^7/ }).check();
  await page.screenshot({ path: join(artifacts, 'first-hour-survey-example.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Send my answers' }).click()]);
  await page.getByRole('heading', { name: 'This was only an example' }).waitFor();

  // Vietnamese by default, through the page's own language link.
  await page.goto(url);
  await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Tiếng Việt' }).click()]);
  await page.getByRole('heading', { name: 'Khảo sát mức độ hài lòng' }).waitFor();
  check(problems.length === 0, `survey: ${problems.join('; ')}`);
  await context.close();
  report({ survey: url });
}

async function main() {
  const dash = process.env.DASHBOARD_URL;
  const surveyUrl = process.env.SURVEY_URL;
  const key = process.env.API_KEY;
  check(dash && surveyUrl && key, 'DASHBOARD_URL, SURVEY_URL and API_KEY are set');
  mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    report({ browser: browser.version() });
    await dashboard(browser, dash, key, 'vi', 'Không có dữ liệu trong kỳ');
    await dashboard(browser, dash, key, 'en', 'No data in this period');
    await survey(browser, surveyUrl);
  } finally {
    await browser.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    report({ error: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  }
);
