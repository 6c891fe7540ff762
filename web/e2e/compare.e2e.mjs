// End-to-end tests of compare mode (percept serve A B --compare): the two maps side by side, coloured by change, one
// camera, a lasso in B selecting the same samples in A, a change card selecting its samples in both maps and the
// gallery, and leaving the mode. The expected counts come from the C# test, which computes them from the two runs.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/ EXPECTED='{"fixed":N,"broken":N}' [CHROMIUM=…] [SCREENSHOTS=DIR] node e2e/compare.e2e.mjs
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
  await page.waitForFunction(() => window.perceptTest?.ready === true && window.perceptTest.compare.b() != null && window.perceptTest.compare.pointsB() > 0, null, { timeout: 60000 });
  await page.waitForTimeout(500);

  await check('--compare opens A and B side by side, neither map covering the other or the panes, the Compare tab open', async () => {
    const a = await page.getByTestId('map-wrap').boundingBox(), b = await page.getByTestId('map-b-wrap').boundingBox();
    const side = await page.getByTestId('side').boundingBox();
    assert(a && b && a.width > 300 && b.width > 300 && Math.abs(a.width - b.width) < 4, `maps ${a?.width} and ${b?.width} wide`);
    assert(a.x + a.width <= b.x + 1 && Math.abs(a.y - b.y) < 1, `A ${JSON.stringify(a)} and B ${JSON.stringify(b)} are not side by side`);
    assert(side.x + side.width <= a.x + 1, 'the side pane covers map A');
    const labels = [await page.getByTestId('map-a-label').textContent(), await page.getByTestId('map-b-label').textContent()];
    assert(labels[0].startsWith('A: ') && labels[1].startsWith('B: '), `labels ${labels.join(' / ')}`);
    assert(await page.getByTestId('tab-compare').getAttribute('aria-selected') === 'true', 'the Compare tab is not open');
    assert(await page.getByTestId('compare-with').inputValue() === await page.evaluate(() => window.perceptTest.compare.b()), 'the picker does not name B');
  });

  await check('the map is coloured by change, and the legend and cards count fixed and broken as the runs do', async () => {
    assert(await page.getByTestId('legend').getAttribute('data-field') === 'change', 'not coloured by change');
    const items = await page.locator('[data-testid=legend] .legend-item').allTextContents();
    const count = (name) => Number((items.find((t) => t.startsWith(name)) ?? '').replace(name, '').replace(/[^\d]/g, ''));
    assert(count('fixed') === expected.fixed && count('broken') === expected.broken, `legend: ${items.join(' | ')}; expected ${JSON.stringify(expected)}`);
    const card = await page.getByTestId('change-broken').textContent();
    assert(card.replace(/[^\d]/g, '') === String(expected.broken), `broken card '${card}'`);
    // A fixed sample is fixed in the page's own field, and B holds it.
    const i = await page.evaluate(() => { for (let i = 0; i < window.perceptTest.count; i++) if (window.perceptTest.compare.change(i) === 'fixed') return i; return -1; });
    assert(i >= 0 && await page.evaluate((i) => window.perceptTest.compare.toB(i), i) >= 0, 'no fixed sample in B');
  });

  await check('one camera: zooming map A zooms map B the same way', async () => {
    const a = await page.getByTestId('map-wrap').boundingBox();
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.wheel(0, -400);
    await page.waitForTimeout(600);
    const [ca, cb] = await page.evaluate(() => [window.perceptTest.camera(), window.perceptTest.compare.cameraB()]);
    assert(ca.distance < 0.95, `A did not zoom: ${JSON.stringify(ca)}`);
    assert(Math.abs(ca.distance - cb.distance) < 1e-3 && Math.abs(ca.x - cb.x) < 1e-3 && Math.abs(ca.y - cb.y) < 1e-3, `A ${JSON.stringify(ca)}, B ${JSON.stringify(cb)}`);
    await page.getByTestId('reset-view').click();
    await page.waitForTimeout(700);
  });

  await check('a lasso in map B selects the same samples in map A and puts them in the gallery', async () => {
    await page.getByTestId('mode-lasso').click();
    const b = await page.getByTestId('map-b-wrap').boundingBox();
    // Round the middle of B's map.
    const cx = b.x + b.width / 2, cy = b.y + b.height / 2, r = Math.min(b.width, b.height) / 4;
    await page.mouse.move(cx + r, cy);
    await page.mouse.down();
    for (let k = 1; k <= 24; k++) await page.mouse.move(cx + r * Math.cos(k * Math.PI / 12), cy + r * Math.sin(k * Math.PI / 12), { steps: 2 });
    await page.mouse.up();
    await page.waitForTimeout(800);
    const { a, inB } = await page.evaluate(() => ({ a: window.perceptTest.selection(), inB: window.perceptTest.compare.selectionB() }));
    assert(inB.length > 10, `the lasso took ${inB.length} of B's dots`);
    const expectedA = await page.evaluate((inB) => inB.map((j) => window.perceptTest.compare.fromB(j)).filter((i) => i >= 0).sort((x, y) => x - y), inB);
    assert(JSON.stringify([...a].sort((x, y) => x - y)) === JSON.stringify(expectedA), `A selected ${a.length}, B ${inB.length}`);
    assert(await page.getByTestId('gallery').isVisible(), 'no gallery');
    await page.getByTestId('mode-pan').click();
  });

  await check('the broken card selects the broken samples in both maps and fills the gallery', async () => {
    await page.getByTestId('change-broken').click();
    await page.waitForTimeout(900);
    const { a, inB } = await page.evaluate(() => ({ a: window.perceptTest.selection(), inB: window.perceptTest.compare.selectionB() }));
    assert(a.length === expected.broken && inB.length === expected.broken, `A ${a.length}, B ${inB.length}, expected ${expected.broken}`);
    const changes = await page.evaluate((a) => [...new Set(a.map((i) => window.perceptTest.compare.change(i)))], a);
    assert(changes.join() === 'broken', `selected changes: ${changes.join(', ')}`);
    const title = await page.getByTestId('gallery-title').textContent();
    assert(title.startsWith('Broken'), `gallery '${title}'`);
    if (shots) await page.screenshot({ path: join(shots, 'dashboard-compare.png') });
  });

  await check('at 1920×1080 the two maps still share the centre evenly', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.waitForTimeout(800);
    const a = await page.getByTestId('map-wrap').boundingBox(), b = await page.getByTestId('map-b-wrap').boundingBox();
    assert(Math.abs(a.width - b.width) < 4 && a.width > 450, `maps ${a.width} and ${b.width}`);
    if (shots) await page.screenshot({ path: join(shots, 'dashboard-compare-1920.png') });
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.waitForTimeout(500);
  });

  await check('stopping leaves one map, without the change fields', async () => {
    await page.getByTestId('compare-stop').click();
    await page.waitForTimeout(700);
    assert(await page.getByTestId('map-b-wrap').isHidden(), 'map B is still shown');
    const options = await page.locator('#color-by option').allTextContents();
    assert(!options.includes('change') && !options.includes('neighbours kept'), `colour options: ${options.join(', ')}`);
    assert(!new URL(page.url()).searchParams.has('compare'), 'the address still names B');
    const a = await page.getByTestId('map-wrap').boundingBox(), center = await page.locator('#center').boundingBox();
    assert(a.width > center.width - 4, `map A is ${a.width} wide of ${center.width}`);
  });

  await check('no errors on the page', async () => assert(errors.length === 0, errors.join('; ')));
} finally {
  await browser.close();
}
finish();
