// The README's picture of a model without class scores: opens a served run in headless Chromium, opens one sample,
// makes its heat maps (what makes it like each class's mean direction in perception space), shows the tab of CLASS
// (a class name; default: the tab that opens first, the nearest mean) and saves the page.
//
//   percept serve RUN --port 5082 &
//   PERCEPT_URL=http://127.0.0.1:5082/ node tools/screenshot_class_means.mjs SAMPLE OUT.png [CLASS]
//
// CHROMIUM overrides /usr/bin/chromium. Exit code 0, 1 when the page failed, 77 when there is no browser.
import { assert, check, environment, finish, launch, watchErrors } from '../web/e2e/harness.mjs';

const { url } = environment();
const [sample, out, cls] = [Number(process.argv[2]), process.argv[3] ?? 'class-means.png', process.argv[4]];
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 60000 });
  await check(`sample ${sample}'s maps of the likeness to each class's mean`, async () => {
    await page.evaluate((i) => window.perceptTest.open(i), sample);
    await page.getByTestId('details').waitFor({ state: 'visible', timeout: 10000 });
    await page.locator('#analyze').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tab]').length > 0, null, { timeout: 300000 });
    if (cls) await page.getByTestId('tab').filter({ hasText: new RegExp(`^${cls}$`) }).click();
    await page.waitForFunction(() => [...document.querySelectorAll('#heatmap img')].every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 120000 });
    assert((await page.locator('#heatmap').innerText()).includes('resemble the class'), 'the caption names the class mean');
    assert(errors.length === 0, errors.join(' / '));
    await page.locator('#analysis').scrollIntoViewIfNeeded();
    await page.screenshot({ path: out });
  });
} finally {
  await browser.close();
}
finish();
