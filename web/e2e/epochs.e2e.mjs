// End-to-end tests of the dashboard on a training folder (percept analyze --checkpoints): the epoch selector, the play
// button moving the dots between aligned maps, the accuracy chart, and a sample's history in the details.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/ [CHROMIUM=/usr/bin/chromium] [SCREENSHOTS=DIR] node e2e/epochs.e2e.mjs
// Exit code 0: every check passed; 1: a check failed; 77: no browser (the caller reports the tests as skipped).
import { join } from 'node:path';
import { assert, check, environment, finish, launch, watchErrors } from './harness.mjs';

const { url, shots } = environment();
const browser = await launch();

try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  const errors = watchErrors(page, (u) => u.includes('/image.png'));
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });

  await check('a training opens at its latest epoch, and the header offers the epochs in order', async () => {
    assert((await page.locator('#checkpoint-label').textContent()) === 'Epoch', 'the selector is not labelled Epoch');
    const options = await page.locator('[data-testid=checkpoint] option').allTextContents();
    assert(options.join('|') === '1 of 3|2 of 3|3 of 3', `options: ${options.join(', ')}`);
    const at = await page.locator('[data-testid=checkpoint]').evaluate((s) => s.selectedIndex);
    assert(at === 2, `opened at epoch ${at + 1} of 3`);
    assert(await page.getByTestId('play-epochs').isVisible(), 'no play button');
  });

  await check('the Training tab\'s chart fits its pane, with accuracy and loss on their own labelled axes and a hover read-out', async () => {
    await page.getByTestId('tab-training').click();
    const chart = page.locator('#epoch-chart svg');
    await chart.waitFor({ state: 'visible', timeout: 5000 });
    const box = await chart.boundingBox(), pane = await page.getByTestId('side').boundingBox();
    assert(box.width >= 0.8 * (pane.width - 30) && box.height >= 150, `chart ${box.width}×${box.height} in a pane ${pane.width} wide`);
    assert(await page.locator('#epoch-chart svg polyline').count() === 2, 'the chart lacks its two lines');
    const labels = await page.locator('#epoch-chart .axis text').allTextContents();
    assert(labels.some((t) => t.endsWith('%')) && labels.includes('epoch') && ['1', '2', '3'].every((e) => labels.includes(e)), `axis labels: ${labels.join(' ')}`);
    assert(labels.filter((t) => /^\d+(\.\d+)?$/.test(t) && !['1', '2', '3'].includes(t)).length >= 2, `no loss ticks: ${labels.join(' ')}`);
    let readout = await page.getByTestId('epoch-readout').textContent();
    assert(readout.startsWith('Epoch 3 of 3') && readout.includes('accuracy') && readout.includes('mean loss'), `read-out '${readout}'`);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.move(box.x + 45, box.y + box.height / 2, { steps: 4 });
    await page.waitForFunction(() => document.querySelector('[data-testid=epoch-readout]').textContent.startsWith('Epoch 1 of 3 (click'), null, { timeout: 3000 })
      .catch(async () => { throw new Error(`hover read-out '${await page.getByTestId('epoch-readout').textContent()}'`); });
    // A click on the chart goes to that epoch.
    await page.mouse.click(box.x + 45, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('[data-testid=checkpoint]').selectedIndex === 0, null, { timeout: 15000 });
    await page.mouse.move(10, 10); // off the chart
  });

  await check('play moves the dots through the epochs\' aligned maps to the last epoch, its icon drawn in SVG', async () => {
    await page.waitForTimeout(900);
    const before = await page.evaluate(() => window.perceptTest.screenPosition(5));
    const play = page.getByTestId('play-epochs');
    assert((await play.textContent()) === '' && await play.locator('svg.icon-play').count() === 1, 'the play button is not an SVG icon');
    await play.click();
    assert(await play.locator('svg.icon-pause').count() === 1, 'no pause icon while playing');
    await page.waitForFunction(() => document.querySelector('[data-testid=checkpoint]').selectedIndex === 2, null, { timeout: 15000 });
    await page.waitForTimeout(1000);
    const after = await page.evaluate(() => window.perceptTest.screenPosition(5));
    assert(Math.hypot(after[0] - before[0], after[1] - before[1]) > 0.5, `dot 5 stayed at ${before}`);
    await page.waitForFunction(() => document.querySelector('[data-testid=epoch-readout]').textContent.startsWith('Epoch 3 of 3'), null, { timeout: 3000 }).catch(() => {});
    const readout = await page.getByTestId('epoch-readout').textContent();
    assert(readout.startsWith('Epoch 3 of 3 (on the map)') && readout.includes('dots moved'), `read-out '${readout}'`);
    await page.waitForFunction(() => document.querySelector('[data-testid=play-epochs] svg.icon-play') != null, null, { timeout: 5000 });
  });

  await check('count fields get a stepped legend, and samples never learned are drawn as missing, not as the minimum', async () => {
    await page.getByTestId('tab-encoding').click();
    await page.getByTestId('color-by').selectOption('forgotten');
    await page.waitForFunction(() => document.getElementById('legend').dataset.field === 'forgotten');
    assert(await page.getByTestId('legend').getAttribute('data-kind') === 'discrete', 'forgotten is not on a stepped scale');
    assert(await page.locator('#color-scale-box').isHidden(), 'a colour-scale picker for a count field');
    const steps = await page.locator('#legend [data-testid=legend-item] .legend-name').allTextContents();
    assert(steps[0] === '0' && steps.every((v, i) => Number(v) === i), `steps: ${steps.join(' ')}`);
    await page.getByTestId('color-by').selectOption('first_learned');
    await page.waitForFunction(() => document.getElementById('legend').dataset.field === 'first_learned');
    const run = await page.evaluate(() => new URLSearchParams(location.search).get('run'));
    const never = await page.evaluate(async (id) => {
      const r = await fetch(`api/runs/${encodeURIComponent(id)}/columns/first_learned`);
      return [...new Float32Array(await r.arrayBuffer())].filter(Number.isNaN).length;
    }, run);
    const missing = await page.locator('#legend .legend-item.missing .legend-count').textContent().catch(() => '0');
    assert(never > 0 && Number(missing.replace(/,/g, '')) === never, `${never} never learned, legend says ${missing} missing`);
    await page.getByTestId('color-by').selectOption('loss');
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
finish();
