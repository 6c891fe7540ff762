// End-to-end tests of the dashboard on a text model's run (token ids): words instead of pictures in the tooltip, the
// details, Sample Analysis (each word shaded by its score) and Fetch Similar.
// Usage: PERCEPT_URL=http://127.0.0.1:PORT/ [CHROMIUM=/usr/bin/chromium] [SCREENSHOTS=../docs] node e2e/text.e2e.mjs
// Exit code 0: every check passed; 1: a check failed; 77: no browser (the caller reports the tests as skipped).
import { join } from 'node:path';
import { assert, check, environment, finish, launch, watchErrors } from './harness.mjs';

const { url, shots } = environment();
const browser = await launch();

try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(url);
  await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 30000 });
  const canvas = await page.locator('#map').boundingBox();
  // A labelled positive review near the middle of its cluster: sample 3 ("... loved ...").
  const sample = 3;
  const dot = await page.evaluate((i) => window.perceptTest.screenPosition(i), sample);

  await check('hovering a dot shows the sample\'s first words', async () => {
    await page.mouse.move(canvas.x + dot[0] - 30, canvas.y + dot[1] - 30);
    await page.mouse.move(canvas.x + dot[0], canvas.y + dot[1], { steps: 5 });
    const tooltip = page.getByTestId('tooltip');
    await tooltip.waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => { const t = document.querySelector('#tooltip .tooltip-text'); return t && t.textContent !== '…' && t.textContent.length > 3; }, null, { timeout: 10000 });
    assert(await page.locator('#tooltip img').count() === 0, 'a text sample shows a picture');
  });

  await check('opening a sample shows its words in the details', async () => {
    // Opened as a click does (dots of identical reviews overlap on the map, so a click may land on another of them).
    await page.evaluate((i) => window.perceptTest.open(i), sample);
    await page.getByTestId('details').waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => document.querySelector('#details-head [data-testid=tokens]') != null, null, { timeout: 10000 });
    const words = await page.locator('#details-head [data-testid=tokens] .token').allTextContents();
    assert(words.length >= 6 && words.includes('loved'), `words: ${words.join(' ')}`);
  });

  await check('the method picker offers the methods that apply to text (no Grad-CAM, no occlusion)', async () => {
    const methods = await page.locator('#method option').evaluateAll((o) => o.map((x) => x.value));
    assert(methods.includes('saliency') && methods.includes('ig') && !methods.includes('gradcam') && !methods.includes('occlusion'), `methods: ${methods.join(', ')}`);
  });

  await check('Analyze shades each word by its score, per class and for the loss', async () => {
    await page.getByTestId('method').selectOption('ig');
    await page.getByTestId('analyze').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=tab]').length === 4, null, { timeout: 30000 });
    const tabs = await page.getByTestId('tab').allTextContents();
    assert(tabs.join('|') === 'negative|neutral|positive|Loss Analysis', `tabs: ${tabs.join(' | ')}`);
    await page.getByTestId('tab').nth(2).click();
    const scored = await page.locator('#heatmap [data-testid=tokens] .token').evaluateAll((s) => s.map((x) => ({ word: x.textContent, score: Number(x.dataset.score), bg: x.style.background })));
    assert(scored.length >= 6 && scored.every((w) => Number.isFinite(w.score)), `scores: ${JSON.stringify(scored)}`);
    const top = scored.reduce((a, b) => (b.score > a.score ? b : a));
    assert(top.word === 'loved', `the word that supports "positive" most is '${top.word}'`);
    assert(top.bg.includes('rgba'), `the top word is not shaded (${top.bg})`);
    await page.getByTestId('colour-bar').waitFor({ state: 'visible', timeout: 5000 });
  });

  if (shots) await page.screenshot({ path: join(shots, 'dashboard-text.png') });

  await check('Fetch Similar lists neighbours with their words, scored', async () => {
    await page.getByTestId('k').fill('4');
    await page.getByTestId('fetch-similar').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=similar-card]').length === 4, null, { timeout: 30000 });
    const cards = await page.locator('[data-testid=similar-card] [data-testid=tokens]').count();
    assert(cards === 4, `${cards} neighbours show words`);
    const scored = await page.locator('[data-testid=similar-card] .token[data-score]').count();
    assert(scored > 0, 'no neighbour word is scored');
  });

  await check('no errors in the page', async () => {
    assert(errors.length === 0, errors.join(' / '));
  });
} finally {
  await browser.close();
}
finish();
