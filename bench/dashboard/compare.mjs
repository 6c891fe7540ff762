// Compare mode and layer maps, timed in headless Chromium against a server started with --compare over two runs of
// the same samples (launched as web/e2e/harness.mjs does):
//   - compare ready: navigation start to both maps drawn (window.perceptTest.compare.pointsB() > 0: the comparison,
//     the per-sample columns and B's aligned map fetched, B drawn) — the server computes the pair on the first load
//     and keeps it, so the first load and the later ones are reported apart;
//   - layer map: the picker set to a layer until the dots have moved to its map (made by the server on first request,
//     then read from the run's cache: also reported apart).
//
//   node bench/dashboard/compare.mjs --url http://127.0.0.1:PORT/ [--repeat 3] [--layers conv1,fc1]
//
// Start the server first (percept serve A B --compare --port PORT) with A's cache/layers removed for a cold layer map.
// CHROMIUM overrides /usr/bin/chromium. Exit code: 0, 1 when a step failed, 2 bad arguments, 77 no browser.
import { launch } from '../../web/e2e/harness.mjs';

const args = process.argv.slice(2);
const get = (name, fallback) => { const i = args.indexOf(name); return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback; };
const url = get('--url', null), repeat = Number(get('--repeat', '3')), layers = get('--layers', '').split(',').filter(Boolean);
if (!url || !(repeat >= 1)) { console.error('usage: node bench/dashboard/compare.mjs --url http://127.0.0.1:PORT/ [--repeat N] [--layers a,b]'); process.exit(2); }

const browser = await launch();
let failed = 0;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const ready = [];
  for (let r = 0; r < repeat; r++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await context.newPage();
    const start = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => window.perceptTest?.compare?.pointsB?.() > 0, null, { timeout: 600_000, polling: 50 });
    ready.push((Date.now() - start) / 1000);
    console.log(`compare ready, load ${r + 1}${r === 0 ? ' (the server computes the pair)' : ''}: ${ready[r].toFixed(2)} s`);
    if (r === repeat - 1 && layers.length) {
      for (const layer of layers) {
        for (const pass of ['made', 'cached']) {
          if (pass === 'cached') { await page.selectOption('[data-testid=layer-map]', ''); await page.waitForFunction(() => window.perceptTest.layer() === '', null, { timeout: 60_000 }); }
          const t = Date.now();
          await page.selectOption('[data-testid=layer-map]', layer);
          await page.waitForFunction((l) => window.perceptTest.layer() === l, layer, { timeout: 900_000, polling: 100 });
          console.log(`layer map ${layer} (${pass === 'made' ? 'made by the server' : 'from the cache'}): ${((Date.now() - t) / 1000).toFixed(2)} s`);
        }
      }
    }
    await context.close();
  }
  if (repeat > 2) console.log(`compare ready, median of loads 2–${repeat}: ${median(ready.slice(1)).toFixed(2)} s`);
} catch (e) {
  failed = 1;
  console.error(`failed: ${e.message.split('\n')[0]}`);
} finally {
  await browser.close();
}
process.exit(failed);
