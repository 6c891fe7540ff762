// End-to-end tests of the dashboard in a real headless Chromium, against a running `percept serve` of the demo run.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/ [CHROMIUM=/usr/bin/chromium] [SCREENSHOTS=../docs] node e2e/dashboard.e2e.mjs
// Exit code 0: every check passed; 1: a check failed; 77: no browser (the caller reports the tests as skipped).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, check, environment, finish, launch, watchErrors } from './harness.mjs';

const { url, shots } = environment();
const browser = await launch();

try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 }, acceptDownloads: true });
  const errors = watchErrors(page);
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

  await check('the default colouring (loss) uses a rank scale that spreads it, and the legend says so', async () => {
    const legend = page.getByTestId('legend');
    assert(await legend.getAttribute('data-field') === 'loss', `coloured by ${await legend.getAttribute('data-field')}`);
    assert(await legend.getAttribute('data-scale') === 'rank', `scale ${await legend.getAttribute('data-scale')}`);
    const note = await page.getByTestId('legend-scale').textContent();
    assert(note.includes('rank scale'), `legend note '${note}'`);
    assert(await page.locator('#legend .ramp-ticks span').count() === 5, 'the legend does not show the quartiles');
  });

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

  await check('legend counts follow the filters', async () => {
    await page.getByTestId('filter-prediction').selectOption(['1']);
    await page.waitForFunction((n) => window.perceptTest.shown() < n, count);
    // The legend redraws after the map's filter: wait for its counts, not just the dots.
    await page.waitForFunction(() => [...document.querySelectorAll('#legend .legend-item')].some((e) => / of [\d,]+\)/.test(e.textContent)));
    const shown = await page.evaluate(() => window.perceptTest.shown());
    const items = await page.locator('#legend .legend-item').allTextContents();
    const counts = items.map((t) => Number((/\(([\d,]+) of 1,000\)/.exec(t) ?? [, 'NaN'])[1].replace(/,/g, '')));
    assert(counts.every((c) => !Number.isNaN(c)), `legend items: ${items.join(' | ')}`);
    assert(counts.reduce((a, b) => a + b, 0) === shown, `legend counts sum to ${counts.reduce((a, b) => a + b, 0)}, ${shown} shown`);
    assert(counts[1] > 900 && counts[1] < 1000, `Trouser predicted as Trouser: ${counts[1]}`);
    await page.locator('#clear-filters').click();
    await page.waitForFunction((n) => window.perceptTest.shown() === n, count);
    const after = await page.locator('#legend .legend-item').nth(1).textContent();
    assert(after.endsWith('(1,000)'), `after clearing: '${after}'`);
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

  await check('clicking a dot opens its details, and the map does not move', async () => {
    const before = await page.evaluate((i) => window.perceptTest.screenPosition(i), 100);
    await page.mouse.click(canvas.x + dot.x, canvas.y + dot.y);
    const details = page.getByTestId('details');
    await details.waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=top-k] .bar').length > 0);
    const text = await details.textContent();
    assert(text.includes('Ground truth') && text.includes('Prediction') && text.includes('Loss'), 'details lack ground truth, prediction or loss');
    await page.waitForTimeout(300);
    const after = await page.evaluate((i) => window.perceptTest.screenPosition(i), 100);
    assert(Math.hypot(after[0] - before[0], after[1] - before[1]) < 0.5, `dot 100 moved from ${before} to ${after} when the panel opened`);
  });

  await check('Analyze shows 10 class tabs and Loss Analysis', async () => {
    await page.getByTestId('analyze').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tab]').length > 0, null, { timeout: 30000 });
    const tabs = await page.getByTestId('tab').allTextContents();
    assert(tabs.length === 11 && tabs[10] === 'Loss Analysis' && tabs[0] === 'T-shirt/top', `tabs: ${tabs.join(' | ')}`);
    await page.getByTestId('tab').nth(10).click();
    await page.waitForFunction(() => { const img = document.querySelector('#heatmap img.overlay'); return img && img.complete && img.naturalWidth > 0; });
  });

  await check('heat maps have a colour bar, say how they are scaled, and can share one scale', async () => {
    await page.getByTestId('colour-bar').waitFor({ state: 'visible', timeout: 5000 });
    let note = await page.getByTestId('scale-note').textContent();
    assert(note.includes('own strongest value'), `scale note '${note}'`);
    const labels = await page.locator('[data-testid=colour-bar] .ramp-labels span').allTextContents();
    assert(labels.length === 3 && labels[0].startsWith('−') && labels[2].startsWith('+'), `colour bar labels ${labels.join(' ')}`);
    await page.getByTestId('shared-scale').check();
    await page.waitForFunction(() => document.querySelector('#heatmap img.overlay')?.getAttribute('src')?.includes('scale=shared'), null, { timeout: 30000 });
    note = await page.getByTestId('scale-note').textContent();
    assert(note.startsWith('One scale'), `scale note '${note}'`);
    await page.getByTestId('shared-scale').uncheck();
    await page.waitForFunction(() => !document.querySelector('#heatmap img.overlay')?.getAttribute('src')?.includes('scale=shared'), null, { timeout: 30000 });
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
    const note = await page.getByTestId('similar-note').textContent();
    assert(note.includes('Warm') && note.includes('blue'), `Fetch Similar overlay note '${note}'`);
  });

  if (shots) {
    await page.locator('#details').evaluate((e) => e.scrollTo(0, e.scrollHeight));
    await page.screenshot({ path: join(shots, 'dashboard-similar.png') });
  }

  await check('closing the details panel clears the selection', async () => {
    assert((await page.evaluate(() => window.perceptTest.selection().length)) > 0, 'nothing selected before closing');
    await page.getByTestId('close-details').click();
    await page.waitForFunction(() => window.perceptTest.selection().length === 0, null, { timeout: 5000 });
    assert(await page.getByTestId('details').isHidden(), 'the details panel is still open');
  });

  await check('the Insights panel shows the cards of most impact first, the rest behind "more"', async () => {
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=insight]').length > 0, null, { timeout: 10000 });
    const read = () => page.locator('[data-testid=insight]').evaluateAll((b) => b.map((x) => ({ kind: x.dataset.kind, impact: Number(x.dataset.impact) })));
    const primary = await read();
    assert(primary.length <= 12, `${primary.length} cards on the first screen`);
    assert(primary.every((c, i) => i === 0 || primary[i - 1].impact >= c.impact), `cards out of order: ${primary.map((c) => c.impact.toFixed(1)).join(' ')}`);
    const more = page.getByTestId('insights-more');
    if (await more.count()) await more.click();
    const cards = await read();
    assert(cards.length >= primary.length, 'the "more" cards replaced the first ones');
    for (const kind of ['suspected-mislabel', 'close-classes', 'rare-variant', 'weak-cluster'])
      assert(cards.some((c) => c.kind === kind), `no ${kind} card (kinds: ${[...new Set(cards.map((c) => c.kind))].join(', ')})`);
    // Every mislabel card says how sure it is, and opened, lists the evidence behind its samples.
    const mislabel = page.locator('[data-testid=insight][data-kind=suspected-mislabel]').first();
    assert(/≈\d+% right/.test(await mislabel.getByTestId('insight-precision').textContent()), 'a mislabel card without its precision');
    await mislabel.locator('.insight-head').click();
    const evidence = await mislabel.getByTestId('insight-evidence').locator('li').first().textContent();
    assert(/neighbours: .+ \d/.test(evidence) && /label_issue \d/.test(evidence), `evidence line: ${evidence}`);
    const fields = await page.locator('[data-testid=color-by] option').allTextContents();
    assert(['label_issue', 'neighbor_agreement', 'outlier_score', 'cluster'].every((f) => fields.includes(f)), `colour-by fields: ${fields.join(', ')}`);
  });

  await check('clicking a card selects its samples on the map and fills the gallery; a gallery card opens its details', async () => {
    const card = page.locator('[data-testid=insight][data-kind=rare-variant]').first();
    const title = await card.locator('.insight-title').textContent();
    await card.locator('.insight-head').click();
    await page.getByTestId('gallery').waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=gallery-card]').length > 0);
    const shown = await page.getByTestId('gallery-card').count();
    const selected = await page.evaluate(() => window.perceptTest.selection().length);
    const galleryTitle = await page.getByTestId('gallery-title').textContent();
    assert(galleryTitle.startsWith(title), `gallery title '${galleryTitle}' for card '${title}'`);
    assert(selected === shown && selected >= 3, `${selected} selected on the map, ${shown} in the gallery`);
    // Sorted by loss, highest first.
    await page.getByTestId('gallery-sort').selectOption('loss');
    await page.waitForTimeout(200);
    const losses = await page.locator('[data-testid=gallery-card]').evaluateAll((c) => c.map((x) => Number((x.textContent.match(/loss ([\d.e+-]+)/) ?? [])[1])));
    assert(losses.every((v, i) => i === 0 || losses[i - 1] >= v), `gallery not sorted by loss: ${losses.slice(0, 6).join(', ')}`);
    if (shots) {
      await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=gallery-card] img')].slice(0, 12).every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 15000 });
      await page.screenshot({ path: join(shots, 'dashboard-insights.png') });
    }
    const first = await page.getByTestId('gallery-card').first().getAttribute('data-sample');
    await page.getByTestId('gallery-card').first().click();
    await page.getByTestId('details').waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction((i) => document.getElementById('details').dataset.sample === i, first, { timeout: 5000 });
    await page.getByTestId('close-details').click();
    // The variant beside its class's typical samples: the pocket first, then the typical ones, in that order (the loss
    // order chosen above gives way).
    await card.getByRole('button', { name: /^Beside typical/ }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=gallery-title]')?.textContent.includes('typical'), null, { timeout: 5000 });
    assert((await page.getByTestId('gallery-sort').inputValue()) === 'given', 'the pocket and its typical samples are not shown as listed');
    await page.getByTestId('close-gallery').click();
    assert(await page.getByTestId('gallery').isHidden(), 'the gallery did not close');
  });

  await check('a closed lasso loop selects the group, and it can be exported as CSV', async () => {
    await page.getByTestId('mode-lasso').click();
    const cx = canvas.x + canvas.width / 2, cy = canvas.y + canvas.height / 2, r = Math.min(canvas.width, canvas.height) / 4;
    await page.mouse.move(cx + r, cy);
    await page.mouse.down();
    // The natural gesture: round and back to where it began.
    for (let a = 0; a <= 2 * Math.PI + 1e-9; a += Math.PI / 24) {
      await page.mouse.move(cx + r * Math.cos(a), cy + r * Math.sin(a), { steps: 2 });
      await page.waitForTimeout(20); // the lasso records a point at most every few milliseconds
    }
    await page.mouse.move(cx + r, cy);
    await page.mouse.up();
    await page.waitForFunction(() => window.perceptTest.selection().length > 1, null, { timeout: 5000 });
    await page.waitForTimeout(300);
    const selected = await page.evaluate(() => window.perceptTest.selection().length);
    assert(selected > 1, `${selected} selected after a closed loop`);
    assert(await page.getByTestId('details').isHidden(), 'a closed loop opened one sample\'s details');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-selection').click()]);
    const path = await download.path();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert(lines[0] === 'index,id,label,prediction,loss', `CSV header '${lines[0]}'`);
    assert(lines.length === selected + 1, `${lines.length - 1} rows for ${selected} selected`);
    // The gallery shows the lasso's samples.
    const galleryTitle = await page.getByTestId('gallery-title').textContent();
    assert(galleryTitle.startsWith(`Selection · ${selected.toLocaleString('en-US')} samples`), `gallery title '${galleryTitle}'`);
    await page.getByTestId('close-gallery').click();
    await page.getByTestId('mode-pan').click();
  });

  await check('"Clear filters" clears the selection too', async () => {
    await page.locator('#filter-selection').click();
    await page.waitForFunction((n) => window.perceptTest.shown() < n, count);
    await page.locator('#clear-filters').click();
    await page.waitForFunction((n) => window.perceptTest.shown() === n && window.perceptTest.selection().length === 0, count, { timeout: 5000 });
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

  await check('at 1280×720 the heat map shows without scrolling', async () => {
    const small = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    try {
      small.on('pageerror', (e) => errors.push(e.message));
      await small.goto(url);
      await small.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });
      await small.evaluate(() => window.perceptTest.open(42));
      await small.waitForFunction(() => document.querySelectorAll('[data-testid=top-k] .bar').length > 0, null, { timeout: 10000 });
      await small.getByTestId('analyze').click();
      await small.waitForFunction(() => { const img = document.querySelector('#heatmap img.overlay'); return img && img.complete && img.naturalWidth > 0; }, null, { timeout: 30000 });
      const box = await small.locator('#heatmap .stack').boundingBox();
      const scrolled = await small.locator('#details').evaluate((e) => e.scrollTop);
      assert(scrolled === 0 && box.y + box.height <= 720, `heat map at ${box.y}..${box.y + box.height} px, panel scrolled ${scrolled} px`);
    } finally { await small.close(); }
  });

  await check('no errors in the page', async () => {
    assert(errors.length === 0, errors.join(' / '));
  });
} finally {
  await browser.close();
}
finish();
