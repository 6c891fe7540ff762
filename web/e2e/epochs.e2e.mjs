// End-to-end tests of the dashboard on a training folder (percept analyze --checkpoints): the epoch selector, the play
// button moving the dots between aligned maps, the accuracy chart, and a sample's history in the details.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/ [CHROMIUM=/usr/bin/chromium] [SCREENSHOTS=DIR] node e2e/epochs.e2e.mjs
// Exit code 0: every check passed; 1: a check failed; 77: no browser (the caller reports the tests as skipped).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.PERCEPT_URL;
if (!url) { console.error('PERCEPT_URL is not set'); process.exit(2); }
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) { console.error(`no browser at ${executablePath}`); process.exit(77); }
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const results = [];
let failed = 0;
async function check(name, fn) {
  const start = Date.now();
  try { await fn(); results.push(`ok   ${name} (${Date.now() - start} ms)`); } catch (e) { failed++; results.push(`FAIL ${name}: ${e.message.split('\n')[0]}`); }
}
function assert(condition, message) { if (!condition) throw new Error(message); }

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400 && !r.url().includes('/image.png')) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });

  await check('the header offers the epochs in order, and a chart shows accuracy and loss per epoch', async () => {
    assert((await page.locator('#checkpoint-label').textContent()) === 'Epoch', 'the selector is not labelled Epoch');
    const options = await page.locator('[data-testid=checkpoint] option').allTextContents();
    assert(options.join('|') === '1 of 3|2 of 3|3 of 3', `options: ${options.join(', ')}`);
    assert(await page.getByTestId('play-epochs').isVisible(), 'no play button');
    assert(await page.locator('#epoch-chart svg polyline').count() === 2, 'the chart lacks its two lines');
    const note = await page.locator('#epoch-chart .note').textContent();
    assert(note.startsWith('epoch 1 of 3: accuracy'), `chart note '${note}'`);
  });

  await check('play moves the dots through the epochs\' aligned maps to the last epoch', async () => {
    const before = await page.evaluate(() => window.perceptTest.screenPosition(5));
    await page.getByTestId('play-epochs').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=checkpoint]').selectedIndex === 2, null, { timeout: 15000 });
    await page.waitForTimeout(1000);
    const after = await page.evaluate(() => window.perceptTest.screenPosition(5));
    assert(Math.hypot(after[0] - before[0], after[1] - before[1]) > 0.5, `dot 5 stayed at ${before}`);
    const note = await page.locator('#epoch-chart .note').textContent();
    assert(note.startsWith('epoch 3 of 3') && note.includes('dots moved'), `chart note '${note}'`);
    assert((await page.getByTestId('play-epochs').textContent()) === '▶', 'play did not stop at the last epoch');
  });

  await check('the details show the sample\'s prediction and loss at every epoch, and history fields colour the map', async () => {
    await page.evaluate(() => window.perceptTest.open(5));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=history] span').length === 3, null, { timeout: 10000 });
    const entries = await page.locator('[data-testid=history] span').allTextContents();
    assert(entries[0].startsWith('1: ') && entries[2].startsWith('3: '), `history: ${entries.join(' / ')}`);
    const fields = await page.locator('[data-testid=color-by] option').allTextContents();
    assert(['first_learned', 'forgotten', 'never_learned'].every((f) => fields.includes(f)), `colour-by fields: ${fields.join(', ')}`);
  });

  if (shots) await page.screenshot({ path: join(shots, 'dashboard-epochs.png') });

  await check('no errors in the page', async () => { assert(errors.length === 0, errors.join(' / ')); });
} finally {
  await browser.close();
}
console.log(results.join('\n'));
process.exit(failed ? 1 : 0);
