// End-to-end test of a self-contained report (percept report) opened from disk in headless Chromium, with no server.
// Usage: REPORT=/path/report.html [CHROMIUM=/usr/bin/chromium] node e2e/report.e2e.mjs   (exit 77: no browser)
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const report = process.env.REPORT;
if (!report || !existsSync(report)) { console.error(`no report at '${report}'`); process.exit(2); }
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) { console.error(`no browser at ${executablePath}`); process.exit(77); }
const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const failures = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  const requests = [];
  page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) requests.push(r.url()); });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.goto(pathToFileURL(report).href);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });
  const { count, drawn } = await page.evaluate(() => ({ count: window.perceptTest.count, drawn: window.perceptTest.pointsDrawn() }));
  if (drawn !== count || count < 1) failures.push(`${drawn} of ${count} points drawn`);
  // Open a sample the way a click does, then its details and neighbours.
  await page.evaluate(() => window.perceptTest.open(5));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=top-k] .bar').length === 5, null, { timeout: 10000 });
  const src = await page.locator('#details-head img').getAttribute('src');
  if (!src?.startsWith('data:image/png')) failures.push(`thumbnail is not cut from the embedded atlas: ${src?.slice(0, 40)}`);
  if (await page.locator('#analysis').isVisible()) failures.push('Sample Analysis is offered without a server');
  await page.getByTestId('fetch-similar').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=similar-card]').length === 12, null, { timeout: 10000 });
  // The run's insights travel with the report: a card fills the gallery with thumbnails from the atlas.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=insight]').length > 0, null, { timeout: 10000 });
  await page.locator('[data-testid=insight]:not([disabled]) .insight-head').first().click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=gallery-card]').length > 0, null, { timeout: 10000 });
  const thumb = await page.locator('[data-testid=gallery-card] img').first().getAttribute('src');
  if (!thumb?.startsWith('data:image/png')) failures.push(`gallery thumbnail is not cut from the atlas: ${thumb?.slice(0, 40)}`);
  if (requests.length) failures.push(`network requests: ${requests.join(', ')}`);
} finally {
  await browser.close();
}
console.log(failures.length ? failures.map((f) => `FAIL ${f}`).join('\n') : 'ok   report opens from disk with no server: map, details, neighbours, insights and gallery');
process.exit(failures.length ? 1 : 0);
