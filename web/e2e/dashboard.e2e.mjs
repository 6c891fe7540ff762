// End-to-end tests of the dashboard in a real headless Chromium, against a running `percept serve` of the demo run.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/ [CHROMIUM=/usr/bin/chromium] [SCREENSHOTS=../docs] node e2e/dashboard.e2e.mjs
// Exit code 0: every check passed; 1: a check failed; 77: no browser (the caller reports the tests as skipped).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
    // WebGL without a GPU: Chromium's software rasteriser.
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const results = [];
let failed = 0;
async function check(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    failed++;
    results.push(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}
function assert(condition, message) { if (!condition) throw new Error(message); }

try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 }, acceptDownloads: true });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });
  const count = await page.evaluate(() => window.perceptTest.count);
  const canvas = await page.locator('#map').boundingBox();

  // A dot near the middle of the map, on screen, to hover and click.
  async function dotOnScreen() {
    return page.evaluate(({ w, h }) => {
      const t = window.perceptTest;
      let best = -1, bestD = Infinity, pos = null;
      for (let i = 0; i < t.count; i += 7) {
        const p = t.screenPosition(i);
        if (!p) continue;
        const d = Math.hypot(p[0] - w * 0.62, p[1] - h * 0.4);
        if (d < bestD) { bestD = d; best = i; pos = p; }
      }
      return { index: best, x: pos[0], y: pos[1] };
    }, { w: canvas.width, h: canvas.height });
  }

  await check(`the map draws all ${count} dots`, async () => {
    const drawn = await page.evaluate(() => window.perceptTest.pointsDrawn());
    assert(drawn === count, `${drawn} points drawn, expected ${count}`);
    const counts = await page.getByTestId('counts').textContent();
    assert(counts.includes(count.toLocaleString('en-US')), `counts say '${counts}'`);
  });

  await check('changing "colour by" changes the legend', async () => {
    const before = await page.getByTestId('legend').getAttribute('data-field');
    await page.getByTestId('color-by').selectOption('label');
    await page.waitForFunction(() => document.getElementById('legend').dataset.field === 'label');
    const items = await page.locator('#legend .legend-item').allTextContents();
    assert(before !== 'label', `legend was already '${before}'`);
    assert(items.length === 10 && items[1].startsWith('Trouser'), `legend items: ${items.join(' | ')}`);
  });

  await check('a legend toggle hides a class and the counts follow', async () => {
    await page.locator('#legend .legend-item').nth(1).click();
    await page.waitForFunction((n) => window.perceptTest.shown() < n, count);
    const shown = await page.evaluate(() => window.perceptTest.shown());
    assert(shown === count - 1000, `showing ${shown} after hiding Trouser (1000 test images)`);
    await page.locator('#legend .legend-item').nth(1).click();
    await page.waitForFunction((n) => window.perceptTest.shown() === n, count);
  });

  if (shots) await page.screenshot({ path: join(shots, 'dashboard-map.png') });

  const dot = await dotOnScreen();
  await check('hovering a dot shows its preview', async () => {
    await page.mouse.move(canvas.x + dot.x - 30, canvas.y + dot.y - 30);
    await page.mouse.move(canvas.x + dot.x, canvas.y + dot.y, { steps: 5 });
    const tooltip = page.getByTestId('tooltip');
    await tooltip.waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => { const img = document.querySelector('#tooltip img'); return img && img.complete && img.naturalWidth > 0; });
    const text = await tooltip.textContent();
    assert(/label: .+prediction: .+loss: /.test(text), `tooltip says '${text}'`);
  });

  await check('clicking a dot opens its details', async () => {
    await page.mouse.click(canvas.x + dot.x, canvas.y + dot.y);
    const details = page.getByTestId('details');
    await details.waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=top-k] .bar').length > 0);
    const text = await details.textContent();
    assert(text.includes('Ground truth') && text.includes('Prediction') && text.includes('Loss'), 'details lack ground truth, prediction or loss');
  });

  await check('Analyze shows 10 class tabs and Loss Analysis', async () => {
    await page.getByTestId('analyze').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tab]').length > 0, null, { timeout: 30000 });
    const tabs = await page.getByTestId('tab').allTextContents();
    assert(tabs.length === 11 && tabs[10] === 'Loss Analysis' && tabs[0] === 'T-shirt/top', `tabs: ${tabs.join(' | ')}`);
    await page.getByTestId('tab').nth(10).click();
    await page.waitForFunction(() => { const img = document.querySelector('#heatmap img.overlay'); return img && img.complete && img.naturalWidth > 0; });
  });

  await check('another method (occlusion) computes too', async () => {
    await page.getByTestId('method').selectOption('occlusion');
    await page.getByTestId('analyze').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tab]').length === 11, null, { timeout: 30000 });
  });

  await check('integrated gradients show their completeness gap under the map', async () => {
    await page.getByTestId('method').selectOption('ig');
    await page.getByTestId('analyze').click();
    await page.waitForFunction(() => document.querySelector('#heatmap .note') != null, null, { timeout: 30000 });
    const note = await page.locator('#heatmap .note').textContent();
    assert(/^integrated gradients, \d+ gradients.*completeness gap \d+\.\d\d%/.test(note), `note: '${note}'`);
    await page.getByTestId('method').selectOption('gradcam');
    await page.getByTestId('analyze').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tab]').length === 11, null, { timeout: 30000 });
  });

  if (shots) await page.screenshot({ path: join(shots, 'dashboard-analysis.png') });

  await check('Fetch Similar shows k results with heat maps', async () => {
    await page.getByTestId('k').fill('6');
    await page.getByTestId('fetch-similar').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=similar-card]').length === 6, null, { timeout: 30000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#similar img.overlay')].every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 30000 });
    const selected = await page.evaluate(() => window.perceptTest.selection().length);
    assert(selected === 7, `${selected} highlighted on the map (the sample and its 6 neighbours)`);
  });

  if (shots) {
    await page.locator('#details').evaluate((e) => e.scrollTo(0, e.scrollHeight));
    await page.screenshot({ path: join(shots, 'dashboard-similar.png') });
  }

  await check('a lasso selection can be exported as CSV', async () => {
    await page.getByTestId('mode-lasso').click();
    const cx = canvas.x + canvas.width / 2, cy = canvas.y + canvas.height / 2, r = Math.min(canvas.width, canvas.height) / 4;
    await page.mouse.move(cx + r, cy);
    await page.mouse.down();
    // Stop short of the start: a lasso that ends where it began reads as a click.
    for (let a = 0; a <= 1.9 * Math.PI; a += Math.PI / 24) {
      await page.mouse.move(cx + r * Math.cos(a), cy + r * Math.sin(a), { steps: 2 });
      await page.waitForTimeout(20); // the lasso records a point at most every few milliseconds
    }
    await page.mouse.up();
    await page.waitForFunction(() => window.perceptTest.selection().length > 1, null, { timeout: 5000 });
    const selected = await page.evaluate(() => window.perceptTest.selection().length);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-selection').click()]);
    const path = await download.path();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert(lines[0] === 'index,id,label,prediction,loss', `CSV header '${lines[0]}'`);
    assert(lines.length === selected + 1, `${lines.length - 1} rows for ${selected} selected`);
  });

  await check('the checkpoint selector moves the dots to the other run\'s map', async () => {
    const options = await page.locator('[data-testid=checkpoint] option').allTextContents();
    assert(options.length >= 2, `checkpoint options: ${options.join(', ')}`);
    const before = await page.evaluate(() => window.perceptTest.screenPosition(100));
    const title = await page.locator('#run-title').textContent();
    await page.getByTestId('checkpoint').selectOption(options[1]);
    await page.waitForFunction((t) => document.getElementById('run-title').textContent !== t, title, { timeout: 30000 });
    await page.waitForTimeout(1000); // the 0.7 s transition
    const after = await page.evaluate(() => window.perceptTest.screenPosition(100));
    assert(after && Math.hypot(after[0] - before[0], after[1] - before[1]) > 0.5, `dot 100 stayed at ${before} → ${after}`);
    assert(await page.getByTestId('legend').getAttribute('data-field') === 'label', 'the colour field was not kept');
  });

  await check('no errors in the page', async () => {
    assert(errors.length === 0, errors.join(' / '));
  });
} finally {
  await browser.close();
}
console.log(results.join('\n'));
process.exit(failed ? 1 : 0);
