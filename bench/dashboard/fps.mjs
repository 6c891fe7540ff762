// Dashboard frame rate: serves each run with `percept serve`, opens it in headless Chromium and measures how long
// the map takes to appear and how many frames per second it draws while the map is panned for 3 seconds.
// Usage (from the repository root): node bench/dashboard/fps.mjs RUN [RUN ...]   (bench/README.md has the full recipe)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(resolve('web/package.json'));
const { chromium } = require('playwright-core');
const runs = process.argv.slice(2);
if (!runs.length) { console.error('usage: node bench/dashboard/fps.mjs RUN [RUN ...]'); process.exit(2); }
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const cli = resolve('src/Percept.Cli/bin/Release/net10.0/Percept.Cli.dll');

console.log('| run | dots | map shown after | frames/s while panning (3 s) |');
console.log('|---|---|---|---|');
for (const run of runs) {
  const server = spawn('dotnet', [cli, 'serve', run, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((ok, fail) => {
    let text = '';
    server.stdout.on('data', (d) => { text += d; const m = /dashboard: (\S+)/.exec(text); if (m) ok(m[1]); });
    server.on('exit', (code) => fail(new Error(`percept serve exited with ${code}`)));
  });
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const start = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => window.perceptTest?.ready === true, null, { timeout: 600000 });
    const loaded = (Date.now() - start) / 1000;
    const count = await page.evaluate(() => window.perceptTest.pointsDrawn());
    const box = await page.locator('#map').boundingBox();
    await page.evaluate(() => { window.frames_ = 0; const tick = () => { window.frames_++; requestAnimationFrame(tick); }; requestAnimationFrame(tick); });
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    const t0 = Date.now();
    const f0 = await page.evaluate(() => window.frames_);
    let k = 0;
    while (Date.now() - t0 < 3000) { k++; await page.mouse.move(cx + 150 * Math.sin(k / 10), cy + 100 * Math.cos(k / 13)); }
    const f1 = await page.evaluate(() => window.frames_);
    const seconds = (Date.now() - t0) / 1000;
    await page.mouse.up();
    console.log(`| ${run} | ${count.toLocaleString('en-US')} | ${loaded.toFixed(1)} s | ${((f1 - f0) / seconds).toFixed(1)} |`);
  } finally {
    await browser.close();
    server.kill();
  }
}
