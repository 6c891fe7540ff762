// Dashboard frame times: opens a served dashboard in headless Chromium with software WebGL (SwiftShader, launched as
// web/e2e/harness.mjs does) and measures
//   - ready: navigation start to window.perceptTest.ready (the only page hook this script reads),
//   - first map: navigation start to the first screenshot of the #map canvas with dots on it (screenshots polled
//     every --poll ms, everything but the canvas hidden while taken; the time is when that screenshot came back),
//   - drag: mouse pressed at the canvas centre, moved 300 px right in 30 steps, released,
//   - zoom: 10 wheel events (deltaY -100) at the canvas centre,
// the last two as the intervals between requestAnimationFrame callbacks (performance.now()) logged in the page from
// just before the first input event to the first frame after the last: frames, median, p95, mean, max, and the wall
// time, and the time-weighted median (the interval holding the interaction's middle instant: half the time went to
// frames at least that long). Headless Chromium runs a short frame right after each late one, so with slow redraws
// the intervals alternate long, short and the plain median is one of the short ones; p95, mean and the time-weighted
// median show the redraws. --json keeps every interval.
//
//   node bench/dashboard/frames.mjs --url http://127.0.0.1:PORT/ [--run ID] [--viewport 1280x720] [--repeat N]
//        [--timeout SECONDS] [--poll MS] [--json FILE] [--shots DIR]
//
// Start the server first (percept serve RUN --port PORT). Each repeat is a fresh browser context and page load; with
// --repeat above 1 a last line gives the median of each figure over the repeats. --json writes every figure to FILE;
// --shots saves, per repeat, the canvas screenshot that counted as the first map and the page after the zoom.
// CHROMIUM overrides /usr/bin/chromium. Exit code: 0, 1 when a repeat failed, 2 bad arguments, 77 no browser.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { launch } from '../../web/e2e/harness.mjs';


function parseArgs(argv) {
  const o = { url: null, run: null, viewport: '1280x720', repeat: 1, timeout: 300, poll: 100, json: null, shots: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--url') o.url = v();
    else if (a === '--run') o.run = v();
    else if (a === '--viewport') o.viewport = v();
    else if (a === '--repeat') o.repeat = Number(v());
    else if (a === '--timeout') o.timeout = Number(v());
    else if (a === '--poll') o.poll = Number(v());
    else if (a === '--json') o.json = v();
    else if (a === '--shots') o.shots = v();
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!o.url) usage('--url is required');
  const m = /^(\d+)x(\d+)$/.exec(o.viewport);
  if (!m) usage('--viewport is WIDTHxHEIGHT');
  o.width = Number(m[1]); o.height = Number(m[2]);
  if (!(o.repeat >= 1) || !(o.timeout > 0) || !(o.poll > 0)) usage('--repeat, --timeout and --poll are positive numbers');
  return o;
}

function usage(error) {
  if (error) console.error(error);
  console.error('usage: node bench/dashboard/frames.mjs --url http://127.0.0.1:PORT/ [--run ID] [--viewport 1280x720] [--repeat N] [--timeout SECONDS] [--poll MS] [--json FILE] [--shots DIR]');
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const timeoutMs = opts.timeout * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after ms with a message naming what timed out. */
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: over ${ms / 1000} s`)), ms); })])
    .finally(() => clearTimeout(timer));
}

// ---- PNG (Chromium's screenshots: 8-bit RGB or RGBA, not interlaced) to RGBA pixels ----
function decodePng(buf) {
  let pos = 8, width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos), kind = buf.toString('latin1', pos + 4, pos + 8), data = buf.subarray(pos + 8, pos + 8 + len);
    if (kind === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); depth = data[8]; type = data[9]; interlace = data[12]; }
    else if (kind === 'IDAT') idat.push(data);
    else if (kind === 'IEND') break;
    pos += 12 + len;
  }
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[type];
  if (depth !== 8 || !channels || interlace) throw new Error(`unsupported PNG (depth ${depth}, colour type ${type}, interlace ${interlace})`);
  const raw = inflateSync(Buffer.concat(idat)), stride = width * channels;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[out + x - channels] : 0, b = y > 0 ? px[out - stride + x] : 0, c = x >= channels && y > 0 ? px[out - stride + x - channels] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) { const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      px[out + x] = v & 255;
    }
  }
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    if (channels >= 3) { rgba[i * 4] = px[s]; rgba[i * 4 + 1] = px[s + 1]; rgba[i * 4 + 2] = px[s + 2]; }
    else { rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = px[s]; }
    rgba[i * 4 + 3] = channels === 4 ? px[s + 3] : channels === 2 ? px[s + 1] : 255;
  }
  return { width, height, rgba };
}

/** Share of the pixels that differ from the image's most common colour (its background) by more than 24 in a channel. */
function inkShare({ width, height, rgba }) {
  const counts = new Map();
  for (let i = 0; i < width * height; i += 7) { const k = rgba.readUInt32BE(i * 4); counts.set(k, (counts.get(k) ?? 0) + 1); }
  let bg = 0, best = -1;
  for (const [k, n] of counts) if (n > best) { best = n; bg = k; }
  const br = bg >>> 24, bgG = (bg >>> 16) & 255, bb = (bg >>> 8) & 255;
  let ink = 0;
  for (let i = 0; i < width * height; i++) {
    const r = rgba[i * 4], g = rgba[i * 4 + 1], b = rgba[i * 4 + 2];
    if (Math.abs(r - br) > 24 || Math.abs(g - bgG) > 24 || Math.abs(b - bb) > 24) ink++;
  }
  return ink / (width * height);
}

/** The map's canvas: #map itself when it is one, else the first canvas inside #map; with a CSS selector for it. */
async function mapCanvas(page) {
  const tag = await page.evaluate(() => document.querySelector('#map')?.tagName ?? null);
  if (tag === null) return null;
  const selector = tag === 'CANVAS' ? 'canvas#map' : '#map canvas';
  const box = await page.locator(selector).first().boundingBox();
  return box && box.width > 0 && box.height > 0 ? { selector, box } : null;
}

/** The canvas box cut to the viewport. */
function clipOf(box) {
  const x = Math.max(0, box.x), y = Math.max(0, box.y);
  return { x, y, width: Math.min(opts.width, box.x + box.width) - x, height: Math.min(opts.height, box.y + box.height) - y };
}

const INK = 0.002; // the map is drawn when 0.2% of the canvas's pixels are not background

/** Logs requestAnimationFrame times in the page during act(); frames from just before act() to the first one after. */
async function frameIntervals(page, act) {
  await page.evaluate(() => new Promise((ok) => {
    const log = (window.__framesLog = { times: [], on: true });
    const tick = () => { if (!log.on) return; log.times.push(performance.now()); requestAnimationFrame(tick); };
    requestAnimationFrame(() => { tick(); ok(); });
  }));
  const start = await page.evaluate(() => performance.now());
  const wall0 = Date.now();
  await withTimeout((async () => {
    await act();
    // The first frame after the last input event, and one more: the interaction's last redraw has been presented.
    await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
  })(), timeoutMs, 'interaction');
  const wall = Date.now() - wall0;
  const times = await page.evaluate(() => { window.__framesLog.on = false; return window.__framesLog.times; });
  const inside = times.filter((t, i) => t >= start || times[i + 1] >= start); // keep the frame just before the start
  const intervals = inside.slice(1).map((t, i) => t - inside[i]);
  const mean = intervals.length ? (inside[inside.length - 1] - inside[0]) / intervals.length : NaN;
  return { frames: intervals.length, median: quantile(intervals, 0.5), p95: quantile(intervals, 0.95), mean, weighted: weightedMedian(intervals),
    max: intervals.length ? Math.max(...intervals) : NaN, wall, intervals: intervals.map((x) => Math.round(x * 10) / 10) };
}

/** The interval that holds the middle instant of the interaction: half the time was spent in frames at least this long. */
function weightedMedian(values) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b), half = s.reduce((a, b) => a + b, 0) / 2;
  let sum = 0;
  for (const v of s) { sum += v; if (sum >= half) return v; }
  return s[s.length - 1];
}

function quantile(values, q) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  if (q === 0.5) return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; // nearest rank
}

async function measure(browser, url, tag) {
  const context = await browser.newContext({ viewport: { width: opts.width, height: opts.height } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  page.on('pageerror', (e) => console.error(`${tag} page error: ${e.message}`));
  await page.addInitScript(() => {
    const mark = { readyAt: null };
    Object.defineProperty(window, '__framesBench', { value: mark });
    const poll = () => { if (window.perceptTest?.ready) mark.readyAt = performance.now(); else setTimeout(poll, 10); };
    poll();
  });
  const result = {};
  try {
    const t0 = Date.now();
    await page.goto(url, { waitUntil: 'commit', timeout: timeoutMs });
    // Poll until the map shows dots and the page says it is ready.
    let firstMap = null, readyAbs = null, lastShare = 0, asked = 0;
    while (firstMap === null || readyAbs === null) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`ready/first map: over ${opts.timeout} s (ready ${readyAbs !== null}, map ${firstMap !== null}, last ink ${(lastShare * 100).toFixed(2)}%)`);
      const polled = Date.now();
      if (readyAbs === null) {
        const r = await page.evaluate(() => (window.__framesBench?.readyAt == null ? null : performance.timeOrigin + window.__framesBench.readyAt)).catch(() => null);
        if (r !== null) readyAbs = r;
      }
      if (firstMap === null) {
        const canvas = await mapCanvas(page).catch(() => null);
        if (canvas) {
          const clip = clipOf(canvas.box);
          const style = `html, body, body * { visibility: hidden !important; } ${canvas.selector} { visibility: visible !important; }`;
          const before = Date.now() - t0;
          const png = await page.screenshot({ clip, style, timeout: timeoutMs }).catch(() => null);
          if (png) {
            lastShare = inkShare(decodePng(png));
            if (lastShare >= INK) {
              firstMap = Date.now() - t0; asked = before;
              if (opts.shots) writeFileSync(resolve(opts.shots, `first-map-${tag.replace(/\D+/g, '-').replace(/^-|-$/g, '')}.png`), png);
            }
          }
        }
      }
      const wait = opts.poll - (Date.now() - polled);
      if ((firstMap === null || readyAbs === null) && wait > 0) await sleep(wait);
    }
    result.ready = readyAbs - t0;
    result.firstMap = firstMap;
    console.log(`${tag} ready: ${result.ready.toFixed(0)} ms`);
    result.firstMapAsked = asked;
    console.log(`${tag} first map: ${result.firstMap} ms (that screenshot was asked for at ${asked} ms; ink ${(lastShare * 100).toFixed(1)}% of the canvas)`);

    const { box } = await mapCanvas(page);
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));

    result.drag = await frameIntervals(page, async () => {
      await page.mouse.down();
      await page.mouse.move(cx + 300, cy, { steps: 30 });
      await page.mouse.up();
    });
    console.log(`${tag} ${line('drag', result.drag)}`);

    await page.mouse.move(cx, cy);
    await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
    result.zoom = await frameIntervals(page, async () => {
      for (let i = 0; i < 10; i++) await page.mouse.wheel(0, -100);
    });
    console.log(`${tag} ${line('zoom', result.zoom)}`);
    if (opts.shots) await page.screenshot({ path: resolve(opts.shots, `after-zoom-${tag.replace(/\D+/g, '-').replace(/^-|-$/g, '')}.png`) });
  } catch (e) {
    result.error = e.message.split('\n')[0];
    console.log(`${tag} error: ${result.error}`);
  } finally {
    await context.close().catch(() => {});
  }
  return result;
}

const line = (name, r) => `${name}: ${r.frames} frames, median ${r.median.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, mean ${r.mean.toFixed(1)} ms, time-weighted median ${r.weighted.toFixed(1)} ms, max ${r.max.toFixed(1)} ms, wall ${r.wall} ms`;
const median = (xs) => quantile(xs.filter((x) => Number.isFinite(x)), 0.5);

const cpu = (() => {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1] ?? 'unknown';
    return `${model} (${(text.match(/^processor\s*:/gm) ?? []).length} logical CPUs)`;
  } catch { return 'unknown'; }
})();
// The browser as the end-to-end tests launch it (exits 77 when there is none).
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const browser = await launch();
const url = new URL(opts.url);
if (opts.run) url.searchParams.set('run', opts.run);
console.log(`cpu: ${cpu}`);
const version = browser.version();
console.log(`chromium: ${version} (${executablePath}, SwiftShader WebGL)`);
console.log(`page: ${url.href}, viewport ${opts.width}x${opts.height}`);
if (opts.shots) mkdirSync(opts.shots, { recursive: true });
const results = [];
try {
  for (let i = 1; i <= opts.repeat; i++) results.push(await measure(browser, url.href, `[${i}/${opts.repeat}]`));
} finally {
  await browser.close();
}
const summary = {
  ready: median(results.map((r) => r.ready)), firstMap: median(results.map((r) => r.firstMap)),
  dragMedian: median(results.map((r) => r.drag?.median)), dragP95: median(results.map((r) => r.drag?.p95)),
  dragWeighted: median(results.map((r) => r.drag?.weighted)), zoomWeighted: median(results.map((r) => r.zoom?.weighted)),
  dragFrames: median(results.map((r) => r.drag?.frames)), dragWall: median(results.map((r) => r.drag?.wall)),
  zoomMedian: median(results.map((r) => r.zoom?.median)), zoomP95: median(results.map((r) => r.zoom?.p95)),
  zoomFrames: median(results.map((r) => r.zoom?.frames)), zoomWall: median(results.map((r) => r.zoom?.wall)),
};
if (opts.repeat > 1) {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a'), g = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
  console.log(`median of ${opts.repeat}: ready ${f(summary.ready)} ms, first map ${f(summary.firstMap)} ms, `
    + `drag median ${g(summary.dragMedian)} / p95 ${g(summary.dragP95)} / time-weighted ${g(summary.dragWeighted)} ms (${f(summary.dragFrames)} frames, ${f(summary.dragWall)} ms), `
    + `zoom median ${g(summary.zoomMedian)} / p95 ${g(summary.zoomP95)} / time-weighted ${g(summary.zoomWeighted)} ms (${f(summary.zoomFrames)} frames, ${f(summary.zoomWall)} ms)`);
}
if (opts.json) writeFileSync(opts.json, JSON.stringify({ cpu, chromium: version, url: url.href, viewport: opts.viewport, results, summary }, null, 2));
process.exit(results.some((r) => r.error) ? 1 : 0);
