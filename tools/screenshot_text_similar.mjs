// The README's picture of a text run: opens a served run in headless Chromium, opens one sample, fetches its most
// similar samples (Fetch Similar: each word of each neighbour shaded by its part in the similarity) and saves the page.
//
//   percept serve RUN --port 5081 &
//   PERCEPT_URL=http://127.0.0.1:5081/ node tools/screenshot_text_similar.mjs SAMPLE K OUT.png
//
// CHROMIUM overrides /usr/bin/chromium. Exit code 0, 1 when the page failed, 77 when there is no browser.
import { assert, check, environment, finish, launch, watchErrors } from '../web/e2e/harness.mjs';

const { url } = environment();
const [sample, k, out] = [Number(process.argv[2]), process.argv[3] ?? '4', process.argv[4] ?? 'text-similar.png'];
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 60000 });
  await check(`sample ${sample} and its ${k} most similar samples, scored per word`, async () => {
    await page.evaluate((i) => window.perceptTest.open(i), sample);
    await page.getByTestId('details').waitFor({ state: 'visible', timeout: 10000 });
    await page.getByTestId('k').fill(k);
    await page.getByTestId('fetch-similar').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=similar-card]').length === n, Number(k), { timeout: 300000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=similar-card] .token[data-score]').length > 0, null, { timeout: 300000 });
    assert(errors.length === 0, errors.join(' / '));
    await page.screenshot({ path: out });
  });
} finally {
  await browser.close();
}
finish();
