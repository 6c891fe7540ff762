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
finish();
