// Epochs of a training (percept analyze --checkpoints): the epoch selector and its play button, which move the dots
// between the aligned maps of consecutive epochs, and the Training tab's chart: accuracy (left axis, %) and mean loss
// (right axis) per epoch, with ticks, a hover read-out, and a click that goes to an epoch.
import type { RunSummary } from '../data';
import { $, el, icon } from '../ui';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag: string, attrs: Record<string, string | number>, text?: string) => {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
};

/** About `count` round tick values spanning [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function ticks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const ACCURACY = '#4e79a7', LOSS = '#e8762b';

let last: { run: RunSummary; go: (run: string) => void; width: number } | null = null;

/** Draws the chart of the run's training into the Training tab (and shows the tab); hides both for other runs. */
export function renderTraining(run: RunSummary, go: (run: string) => void = last?.go ?? (() => {})) {
  const box = $('epoch-chart');
  last = { run, go, width: box.clientWidth };
  const t = run.training;
  $('training-tab').hidden = !t;
  $('play-epochs').hidden = !t || t.epochs.length < 2;
  $('checkpoint-label').textContent = t ? 'Epoch' : 'Checkpoint';
  if (!t) return;
  const w = Math.max(220, box.clientWidth || 280), h = 190;
  const m = { left: 40, right: 44, top: 12, bottom: 30 };
  const n = t.epochs.length;
  const x = (i: number) => m.left + (n === 1 ? (w - m.left - m.right) / 2 : (i * (w - m.left - m.right)) / (n - 1));
  const chart = svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': 'accuracy and mean loss per epoch' }) as SVGSVGElement;
  const finite = (v: (number | null)[]) => v.filter((a): a is number => a != null && Number.isFinite(a));
  const acc = finite(t.accuracy).map((a) => 100 * a), loss = finite(t.meanLoss);
  const range = (v: number[], floor0: boolean) => {
    if (!v.length) return [0, 1];
    let lo = Math.min(...v), hi = Math.max(...v);
    if (floor0) lo = Math.min(lo, 0);
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    return [Math.max(floor0 ? 0 : -Infinity, lo - pad), hi + pad];
  };
  const [accLo, accHi] = range(acc, false), [lossLo, lossHi] = range(loss, true);
  const yA = (a: number) => h - m.bottom - ((a - accLo) / (accHi - accLo)) * (h - m.top - m.bottom);
  const yL = (a: number) => h - m.bottom - ((a - lossLo) / (lossHi - lossLo)) * (h - m.top - m.bottom);
  // Grid and axes: accuracy on the left, loss on the right, epochs below.
  const grid = svg('g', { class: 'grid' }), axes = svg('g', { class: 'axis' });
  const accTicks = ticks(accLo, accHi), lossTicks = ticks(lossLo, lossHi);
  for (const v of accTicks) {
    grid.append(svg('line', { x1: m.left, x2: w - m.right, y1: yA(v), y2: yA(v) }));
    axes.append(svg('text', { x: m.left - 5, y: yA(v) + 3, 'text-anchor': 'end', fill: ACCURACY }, `${Number(v.toFixed(2))}%`));
  }
  for (const v of lossTicks) axes.append(svg('text', { x: w - m.right + 5, y: yL(v) + 3, 'text-anchor': 'start', fill: LOSS }, String(Number(v.toFixed(3)))));
  const every = Math.ceil(n / Math.max(1, Math.floor((w - m.left - m.right) / 28)));
  t.epochs.forEach((e, i) => { if (i % every === 0 || i === n - 1) axes.append(svg('text', { x: x(i), y: h - m.bottom + 14, 'text-anchor': 'middle' }, String(e))); });
  axes.append(svg('text', { x: (m.left + w - m.right) / 2, y: h - 3, 'text-anchor': 'middle' }, 'epoch'));
  axes.append(svg('path', { d: `M${m.left},${m.top}V${h - m.bottom}H${w - m.right}V${m.top}`, fill: 'none' }));
  chart.append(grid, axes);
  const line = (values: (number | null)[], y: (a: number) => number, colour: string, scale = 1) => {
    const pts = values.map((a, i) => (a != null && Number.isFinite(a) ? `${x(i)},${y(a * scale)}` : '')).filter(Boolean);
    chart.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 }));
    values.forEach((a, i) => { if (a != null && Number.isFinite(a)) chart.append(svg('circle', { cx: x(i), cy: y(a * scale), r: i === t.epoch - 1 ? 4.5 : 2.5, fill: colour })); });
  };
  chart.append(svg('line', { x1: x(t.epoch - 1), x2: x(t.epoch - 1), y1: m.top, y2: h - m.bottom, stroke: 'currentColor', 'stroke-opacity': 0.35, 'stroke-dasharray': '3 3' }));
  line(t.accuracy, yA, ACCURACY, 100);
  line(t.meanLoss, yL, LOSS);
  const hover = svg('line', { y1: m.top, y2: h - m.bottom, stroke: 'currentColor', 'stroke-opacity': 0.6, visibility: 'hidden' });
  chart.append(hover);
  const readout = el('div', { className: 'readout' });
  readout.dataset.testid = 'epoch-readout';
  const describe = (i: number) => {
    const a = t.accuracy[i], l = t.meanLoss[i], d = t.meanDisplacement[i];
    readout.replaceChildren(el('strong', { textContent: `Epoch ${t.epochs[i]} of ${n}` }), i === t.epoch - 1 ? ' (on the map)' : ' (click to show)', el('br'),
      el('span', { className: 'swatch-line', style: `background:${ACCURACY}` }), `accuracy ${a == null ? '—' : `${(100 * a).toFixed(2)}%`}  `,
      el('span', { className: 'swatch-line', style: `background:${LOSS}` }), `mean loss ${l == null ? '—' : l.toFixed(4)}`,
      ...(d != null ? [el('br'), `dots moved ${d.toFixed(3)} of the map's scale since the epoch before`] : []));
  };
  const nearest = (clientX: number) => {
    const r = chart.getBoundingClientRect();
    const px = ((clientX - r.left) / r.width) * w;
    let best = 0;
    for (let i = 1; i < n; i++) if (Math.abs(x(i) - px) < Math.abs(x(best) - px)) best = i;
    return best;
  };
  const show = (i: number) => { hover.setAttribute('x1', String(x(i))); hover.setAttribute('x2', String(x(i))); hover.setAttribute('visibility', 'visible'); describe(i); };
  chart.addEventListener('mousemove', (e) => { hoverX = e.clientX; show(nearest(e.clientX)); });
  chart.addEventListener('mouseleave', () => { hover.setAttribute('visibility', 'hidden'); describe(t.epoch - 1); });
  chart.addEventListener('click', (e) => { const id = t.runs[nearest(e.clientX)]; if (id && id !== run.id) go(id); });
  chart.style.cursor = 'pointer';
  describe(t.epoch - 1);
  box.replaceChildren(el('div', { className: 'legend-caption' },
    el('span', { className: 'swatch-line', style: `background:${ACCURACY}` }), 'accuracy (left axis)  ',
    el('span', { className: 'swatch-line', style: `background:${LOSS}` }), 'mean loss (right axis)'), chart, readout);
  // Drawn again under a pointer that has not moved (the pane's width settled): the hover read-out stays where it was.
  if (hoverX != null) show(nearest(hoverX));
}

/** The pointer's x while it is over the chart (kept across redraws; cleared when it leaves the chart's box). */
let hoverX: number | null = null;
$('epoch-chart').addEventListener('mouseleave', () => { hoverX = null; });

// Drawn again when its pane's width changes (a hover read-out in progress is kept when it does not).
new ResizeObserver(() => { if (last?.run.training && $('epoch-chart').clientWidth !== last.width) renderTraining(last.run, last.go); }).observe($('epoch-chart'));

let timer: number | null = null;

function setPlayIcon(playing: boolean) {
  const b = $('play-epochs');
  b.replaceChildren(icon(playing ? 'pause' : 'play'));
  b.title = playing ? 'Pause' : 'Play the epochs';
  b.setAttribute('aria-label', b.title);
  b.dataset.playing = String(playing);
}

/** Wires the play button: steps through the epochs (each move animated), from the current one to the last, then stops. */
export function wirePlay(current: () => RunSummary, go: (run: string) => Promise<void>) {
  const button = $<HTMLButtonElement>('play-epochs');
  setPlayIcon(false);
  let playing = false;
  const stop = () => { playing = false; if (timer != null) { clearTimeout(timer); timer = null; } setPlayIcon(false); };
  button.addEventListener('click', () => {
    if (playing) { stop(); return; }
    const t = current().training;
    if (!t) return;
    let next = t.epoch >= t.epochs.length ? 0 : t.epoch; // from the start again when at the last epoch
    playing = true;
    setPlayIcon(true);
    // Each step starts once the one before has loaded (and 1.6 s after it began), so loads never overlap.
    const step = async () => {
      timer = null;
      const id = current().training?.runs[next];
      if (!playing || id == null || next >= t.epochs.length) { stop(); return; }
      next++;
      const started = performance.now();
      await go(id);
      if (!playing) return;
      if (next >= t.epochs.length) { stop(); return; } // the last epoch reached
      timer = window.setTimeout(() => void step(), Math.max(0, 1600 - (performance.now() - started)));
    };
    void step();
  });
}
