// Epochs of a training (percept analyze --checkpoints): the epoch selector and its play button, which move the dots
// between the aligned maps of consecutive epochs, and a small chart of accuracy and mean loss per epoch.
import type { RunSummary } from '../data';
import { $, el } from '../ui';

const svg = (tag: string, attrs: Record<string, string | number>) => {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

/** The chart of accuracy (blue) and mean loss (orange, on its own scale) per epoch, the current epoch marked. */
export function renderTraining(run: RunSummary) {
  const t = run.training;
  $('training-section').hidden = !t;
  $('play-epochs').hidden = !t || t.epochs.length < 2;
  $('checkpoint-label').textContent = t ? 'Epoch' : 'Checkpoint';
  if (!t) return;
  const w = 220, h = 90, pad = 14, n = t.epochs.length;
  const x = (i: number) => pad + (n === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (n - 1));
  const chart = svg('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const line = (values: (number | null)[], colour: string) => {
    const v = values.map((a) => a ?? NaN);
    const finite = v.filter(Number.isFinite);
    if (!finite.length) return;
    const lo = Math.min(...finite), hi = Math.max(...finite), span = hi - lo || 1;
    const y = (a: number) => h - pad - ((a - lo) / span) * (h - 2 * pad);
    chart.append(svg('polyline', { points: v.map((a, i) => (Number.isFinite(a) ? `${x(i)},${y(a)}` : '')).filter(Boolean).join(' '), fill: 'none', stroke: colour, 'stroke-width': 2 }));
    v.forEach((a, i) => { if (Number.isFinite(a)) chart.append(svg('circle', { cx: x(i), cy: y(a), r: i === t.epoch - 1 ? 4 : 2, fill: colour })); });
  };
  chart.append(svg('line', { x1: x(t.epoch - 1), x2: x(t.epoch - 1), y1: 4, y2: h - 4, stroke: '#c5cad3', 'stroke-dasharray': '3 3' }));
  line(t.accuracy, '#4e79a7');
  line(t.meanLoss, '#f28e2b');
  const i = t.epoch - 1;
  const fmt = (a: number | null | undefined, f: (v: number) => string) => (a == null ? '—' : f(a));
  $('epoch-chart').replaceChildren(chart,
    el('div', { className: 'note', textContent: `epoch ${t.epoch} of ${n}: accuracy ${fmt(t.accuracy[i], (a) => `${(100 * a).toFixed(2)}%`)} (blue), mean loss ${fmt(t.meanLoss[i], (a) => a.toFixed(4))} (orange)` +
      (t.meanDisplacement[i] != null ? `; dots moved ${t.meanDisplacement[i]!.toFixed(3)} of the map's scale since the epoch before` : '') }));
}

let timer: number | null = null;

/** Wires the play button: steps through the epochs (each move animated), from the current one to the last, then stops. */
export function wirePlay(current: () => RunSummary, go: (run: string) => Promise<void>) {
  const button = $<HTMLButtonElement>('play-epochs');
  const stop = () => { if (timer != null) { clearInterval(timer); timer = null; } button.textContent = '▶'; };
  button.addEventListener('click', () => {
    if (timer != null) { stop(); return; }
    const t = current().training;
    if (!t) return;
    let next = t.epoch >= t.epochs.length ? 0 : t.epoch; // from the start again when at the last epoch
    button.textContent = '⏸';
    const step = async () => {
      const id = current().training?.runs[next];
      if (id == null || next >= t.epochs.length) { stop(); return; }
      next++;
      await go(id);
      if (next >= t.epochs.length) stop(); // the last epoch reached
    };
    void step();
    timer = window.setInterval(() => void step(), 1600);
  });
}
