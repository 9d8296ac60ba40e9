// survey.mjs — the survey page in a real browser (headless Debian chromium,
// driven by playwright-core). Run by tests/integration/test_survey_browser.py,
// which makes the surveys and checks PostgreSQL; see tests/browser/README.
//
// Two customers answer, each picking 5 (CSAT) and 6 (CES) and writing a
// comment:
//   phone    390x844, touch, Vietnamese (vi-VN): taps the choices
//   desktop  1280x800, English browser (en-US): keyboard only (Tab, arrows,
//            Enter), which proves the form is usable without a mouse
// and both save screenshots of the form and the thank-you page under
// CAREBUS_ARTIFACTS. Along the way: every request stays on the survey's
// origin (no external asset), the page logs no error (a style blocked by
// the CSP would), the style sheet applies, nothing scrolls sideways on the
// phone, and the questions are labelled groups of labelled radios.
//
// Environment: SURVEY_LINK_PHONE, SURVEY_LINK_DESKTOP (links of two open
// surveys), CAREBUS_ARTIFACTS (folder), CAREBUS_CHROMIUM (default
// /usr/bin/chromium). Prints one JSON line per step; exits 1 on failure.
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

async function shot(page, name) {
  const path = join(artifacts, name);
  await page.screenshot({ path, fullPage: true });
  report({ screenshot: path });
}

// What every page must be: self-contained, styled, error-free.
function watch(page, origin) {
  const problems = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(origin + '/')) problems.push(`external request: ${req.url()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

async function checkForm(page, { lang, csatQuestion, cesQuestion }) {
  check((await page.getAttribute('html', 'lang')) === lang, `html lang="${lang}"`);
  // Each question is a group named by its legend, holding labelled radios.
  const csat = page.getByRole('group', { name: csatQuestion });
  const ces = page.getByRole('group', { name: cesQuestion });
  check((await csat.getByRole('radio').count()) === 5, 'five CSAT radios in their group');
  check((await ces.getByRole('radio').count()) === 7, 'seven CES radios in their group');
  for (const r of await page.getByRole('radio').all()) {
    const id = await r.getAttribute('id');
    const label = (await page.locator(`label[for="${id}"]`).innerText()).trim();
    check(label.length > 1, `radio ${id} has a visible label`);
  }
  check((await page.getByRole('textbox').count()) === 1, 'one comment box');
  // The inline style sheet applied (its CSP hash is right).
  const bg = await page
    .getByRole('button')
    .evaluate((b) => getComputedStyle(b).backgroundColor);
  check(bg === 'rgb(11, 92, 173)', `button styled by the page's CSS (got ${bg})`);
  return { csat, ces };
}

async function phone(browser, link) {
  const origin = new URL(link).origin;
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'vi-VN',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = watch(page, origin);
  const res = await page.goto(link);
  check(res.status() === 200, `phone: GET form 200 (got ${res.status()})`);
  const { csat, ces } = await checkForm(page, {
    lang: 'vi',
    csatQuestion: /hài lòng thế nào/,
    cesQuestion: /dễ dàng/,
  });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth
  );
  check(overflow <= 0, `phone: no sideways scrolling (${overflow}px too wide)`);
  await shot(page, 'survey-form-phone.png');

  await csat.getByRole('radio', { name: /Rất hài lòng/ }).tap();
  await ces.getByRole('radio', { name: /^6/ }).tap();
  check(await page.locator('#csat-5').isChecked(), 'phone: CSAT 5 chosen');
  check(await page.locator('#ces-6').isChecked(), 'phone: CES 6 chosen');
  await page.getByLabel(/Góp ý thêm/).fill('Nhân viên hỗ trợ nhiệt tình, cảm ơn!');
  await shot(page, 'survey-form-filled-phone.png');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Gửi đánh giá' }).tap()]);
  await page.getByRole('heading', { name: 'Cảm ơn anh/chị!' }).waitFor();
  await shot(page, 'survey-thanks-phone.png');
  check(problems.length === 0, `phone: ${problems.join('; ')}`);
  await context.close();
  report({ answered: 'phone', link });
}

async function desktop(browser, link) {
  const origin = new URL(link).origin;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const problems = watch(page, origin);
  const res = await page.goto(link);
  check(res.status() === 200, `desktop: GET form 200 (got ${res.status()})`);
  await checkForm(page, {
    lang: 'en',
    csatQuestion: /How satisfied/,
    cesQuestion: /made it easy/,
  });
  await shot(page, 'survey-form-desktop.png');

  // Keyboard only: Tab into each radio group, arrows to choose.
  const focused = () => page.evaluate(() => document.activeElement && document.activeElement.id);
  for (let i = 0; i < 10 && (await focused()) !== 'csat-1'; i++) await page.keyboard.press('Tab');
  check((await focused()) === 'csat-1', 'desktop: Tab reaches the first CSAT choice');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
  check(await page.locator('#csat-5').isChecked(), 'desktop: arrows choose CSAT 5');
  await page.keyboard.press('Tab');
  check((await focused()) === 'ces-1', 'desktop: Tab moves to the CES group');
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowDown');
  check(await page.locator('#ces-6').isChecked(), 'desktop: arrows choose CES 6');
  await page.keyboard.press('Tab');
  check((await focused()) === 'comment', 'desktop: Tab moves to the comment');
  await page.keyboard.type('Quick and friendly, thank you.');
  await page.keyboard.press('Tab');
  await shot(page, 'survey-form-filled-desktop.png');
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.getByRole('heading', { name: 'Thank you!' }).waitFor();
  await shot(page, 'survey-thanks-desktop.png');
  check(problems.length === 0, `desktop: ${problems.join('; ')}`);
  await context.close();
  report({ answered: 'desktop', link });
}

async function main() {
  const links = { phone: process.env.SURVEY_LINK_PHONE, desktop: process.env.SURVEY_LINK_DESKTOP };
  check(links.phone && links.desktop, 'SURVEY_LINK_PHONE and SURVEY_LINK_DESKTOP are set');
  mkdirSync(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    report({ browser: browser.version() });
    await phone(browser, links.phone);
    await desktop(browser, links.desktop);
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
