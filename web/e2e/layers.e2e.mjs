// End-to-end tests of the layer map: the toolbar's picker lists the run's layers; picking one shows its making's
// progress, then moves the dots to that layer's map and names it in the address (a reload opens it again); the Charts
// tab's chart has a bar per layer and one for the perception vectors with the values the API gives, a bar's click
// switches the map; "all layers" brings the run's map back.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/?run=RUN EXPECTED='{"layers":["conv1",…]}' [CHROMIUM=…] [SCREENSHOTS=DIR] node e2e/layers.e2e.mjs
// Exit code 0: every check passed; 1: a check failed; 77: no browser (the caller reports the tests as skipped).
import { join } from 'node:path';
import { assert, check, environment, finish, launch, watchErrors } from './harness.mjs';

const { url, shots } = environment();
const expected = JSON.parse(process.env.EXPECTED ?? '{}');
const browser = await launch();

try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = watchErrors(page, (u) => u.includes('/image.png'));
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=layer-map] option').length > 1, null, { timeout: 10000 });
  const original = await page.evaluate(() => [5, 500, 5000].map((i) => window.perceptTest.screenPosition(i)));

  await check('the picker lists the run\'s layers in network order after the run\'s own map', async () => {
    const values = await page.locator('[data-testid=layer-map] option').evaluateAll((os) => os.map((o) => o.value));
    assert(values[0] === '' && JSON.stringify(values.slice(1)) === JSON.stringify(expected.layers), `options: ${values.join(', ')}`);
  });

  const first = expected.layers[0];
  await check('picking a layer shows its progress, then moves the dots to its map and puts it in the address', async () => {
    await page.selectOption('[data-testid=layer-map]', first);
    await page.waitForFunction((l) => { const p = document.querySelector('[data-testid=layer-progress]'); return !p.hidden && p.textContent.includes(l); }, first, { timeout: 3000 });
    await page.waitForFunction((l) => window.perceptTest.layer() === l, first, { timeout: 90000 });
    await page.waitForTimeout(1200);
    const moved = await page.evaluate(() => [5, 500, 5000].map((i) => window.perceptTest.screenPosition(i)));
    const distance = Math.max(...moved.map((p, k) => Math.hypot(p[0] - original[k][0], p[1] - original[k][1])));
    assert(distance > 5, `the dots stayed (moved ${distance.toFixed(1)} px at most)`);
    assert(new URL(page.url()).searchParams.get('layer') === first, `address ${page.url()}`);
    assert(await page.getByTestId('layer-progress').isHidden(), 'the progress stays shown');
  });

  await check('a page opened at that address shows the same layer\'s map', async () => {
    const other = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await other.goto(page.url());
    await other.waitForFunction((l) => window.perceptTest?.ready === true && window.perceptTest.layer() === l, first, { timeout: 30000 });
    await other.waitForTimeout(1200);
    const [a, b] = await Promise.all([page, other].map((p) => p.evaluate(() => window.perceptTest.camera())));
    assert(Math.abs(a.distance - b.distance) < 1e-6, 'cameras differ');
    const [pa, pb] = await Promise.all([page, other].map((p) => p.evaluate(() => window.perceptTest.screenPosition(500))));
    assert(Math.hypot(pa[0] - pb[0], pa[1] - pb[1]) < 1, `sample 500 at ${pa} and ${pb}`);
    await other.close();
  });

  await check('the Charts tab charts each layer\'s separation as the API gives it, and a bar opens that layer\'s map', async () => {
    await page.getByTestId('tab-charts').click();
    await page.waitForSelector('#layer-chart .bar', { timeout: 60000 });
    const bars = await page.locator('#layer-chart .bar').evaluateAll((bs) => bs.map((b) => b.dataset.layer));
    assert(JSON.stringify(bars) === JSON.stringify([...expected.layers, '']), `bars: ${bars.join(', ')}`);
    const texts = await page.locator('#layer-chart svg text').allTextContents();
    for (const s of expected.separation) assert(texts.includes(`${Math.round(100 * s.agreement)}%`), `no ${Math.round(100 * s.agreement)}% for ${s.layer}: ${texts.join(' ')}`);
    assert(await page.locator('#layer-chart .bar.on').evaluate((b) => b.dataset.layer) === first, 'the shown layer\'s bar is not marked');
    const last = expected.layers[expected.layers.length - 1];
    await page.locator(`#layer-chart .bar[data-layer="${last}"]`).click();
    await page.waitForFunction((l) => window.perceptTest.layer() === l, last, { timeout: 90000 });
    await page.waitForTimeout(1200);
    if (shots) await page.screenshot({ path: join(shots, 'dashboard-layer.png') });
  });

  await check('"all layers" brings the run\'s own map back', async () => {
    await page.selectOption('[data-testid=layer-map]', '');
    await page.waitForFunction(() => window.perceptTest.layer() === '', null, { timeout: 5000 });
    await page.waitForTimeout(1200);
    const back = await page.evaluate(() => [5, 500, 5000].map((i) => window.perceptTest.screenPosition(i)));
    const worst = Math.max(...back.map((p, k) => Math.hypot(p[0] - original[k][0], p[1] - original[k][1])));
    assert(worst < 1, `dots ${worst.toFixed(1)} px from where they were`);
    assert(!new URL(page.url()).searchParams.has('layer'), 'the address still names a layer');
  });

  await check('no errors on the page', async () => assert(errors.length === 0, errors.join('; ')));
} finally {
  await browser.close();
}
finish();
