// Linked charts, beside the confusion matrix in the Charts tab: a histogram of each numeric field and a bar chart of each
// categorical one (metadata included), for the samples the filters show, with the selection's share drawn over it.
// Brushing a histogram filters the map to that range of the field, a click on a bar filters it to (or from) that
// category; the charts, the map, the legend and the matrix then follow, as Embedding Atlas's linked views do.
import type { Filter } from '../filters/filters';
import { column, state } from '../state';
import { $, el, formatNumber } from '../ui';
import { histogram, histogramRange } from './bins';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag: string, attrs: Record<string, string | number>) => {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

const BINS = 32, HEIGHT = 54, MAX_CATEGORIES = 30;

let changed: () => void = () => {};

/** Sets what runs after a chart changed a filter (the map, the legend and the charts follow). */
export const wireCharts = (onChange: () => void) => { changed = onChange; };

/** Draws a chart per field into the Charts tab. */
export async function renderCharts() {
  const s = state();
  const box = $('charts');
  const fields = s.run.fields.filter((f) => f.kind === 'numeric' || (f.categories && f.categories.length >= 2 && f.categories.length <= MAX_CATEGORIES));
  await Promise.all(fields.map((f) => column(f.name)));
  if (state() !== s) return;
  const selected = s.selection.length > 1 ? new Uint8Array(s.run.count) : null;
  if (selected) for (const i of s.selection) selected[i] = 1;
  const width = Math.max(200, (box.clientWidth || 280) - 4);
  const charts = fields.map((f) => {
    const values = s.columns.get(f.name)!;
    const chart = el('div', { className: 'chart' });
    chart.dataset.testid = 'chart';
    chart.dataset.field = f.name;
    const title = el('div', { className: 'chart-title' }, el('span', { textContent: f.name }));
    chart.append(title);
    if (f.kind === 'categorical') chart.append(bars(f.name, f.categories!, values, selected, width));
    else {
      const range = histogramRange(values);
      if (!range) { chart.append(el('div', { className: 'note', textContent: 'no values' })); return chart; }
      chart.append(histogramChart(f.name, values, range, selected, width));
      const active = s.filters.find((x): x is Extract<Filter, { kind: 'range' }> => x.kind === 'range' && x.field === f.name);
      title.append(el('span', { className: 'chart-range', textContent: active ? `${active.min == null ? '…' : formatNumber(active.min)} to ${active.max == null ? '…' : formatNumber(active.max)}` : `${formatNumber(range.lo)} to ${formatNumber(range.hi)}` }));
    }
    return chart;
  });
  box.replaceChildren(el('p', { className: 'note', textContent: `${s.shown.toLocaleString()} shown samples${selected ? `, the selection's ${s.selection.length.toLocaleString()} in colour` : ''}. Brush a histogram or click a bar to filter.` }), ...charts);
}

function histogramChart(name: string, values: Float32Array, range: { lo: number; hi: number }, selected: Uint8Array | null, width: number) {
  const s = state();
  const all = histogram(values, range.lo, range.hi, BINS, (i) => s.mask[i] === 1);
  const sel = selected ? histogram(values, range.lo, range.hi, BINS, (i) => selected[i] === 1 && s.mask[i] === 1) : null;
  const top = Math.max(1, ...all.counts);
  const chart = svg('svg', { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}` }) as SVGSVGElement;
  const bw = width / BINS;
  all.counts.forEach((n, b) => {
    const h = (n / top) * (HEIGHT - 4);
    chart.append(svg('rect', { x: b * bw + 0.5, y: HEIGHT - h, width: Math.max(1, bw - 1), height: h, class: 'bar-all' }));
    if (sel && sel.counts[b]) {
      const hs = (sel.counts[b] / top) * (HEIGHT - 4);
      chart.append(svg('rect', { x: b * bw + 0.5, y: HEIGHT - hs, width: Math.max(1, bw - 1), height: Math.max(1, hs), class: 'bar-selected' }));
    }
  });
  // The brush: a drag across the chart filters the map to that range of values; a click clears this field's range.
  const value = (x: number) => range.lo + (Math.max(0, Math.min(width, x)) / width) * (range.hi - range.lo);
  const active = s.filters.find((x): x is Extract<Filter, { kind: 'range' }> => x.kind === 'range' && x.field === name);
  const brush = svg('rect', { y: 0, height: HEIGHT, class: 'brush', visibility: 'hidden' });
  if (active) {
    const x0 = active.min == null ? 0 : ((active.min - range.lo) / (range.hi - range.lo)) * width;
    const x1 = active.max == null ? width : ((active.max - range.lo) / (range.hi - range.lo)) * width;
    brush.setAttribute('x', String(Math.max(0, x0))); brush.setAttribute('width', String(Math.max(1, Math.min(width, x1) - Math.max(0, x0))));
    brush.setAttribute('visibility', 'visible');
  }
  chart.append(brush);
  chart.addEventListener('pointerdown', (e) => {
    const r = chart.getBoundingClientRect();
    const x = (e.clientX - r.left) * (width / r.width);
    chart.setPointerCapture(e.pointerId);
    let end = x;
    const show = () => { brush.setAttribute('x', String(Math.min(x, end))); brush.setAttribute('width', String(Math.abs(end - x))); brush.setAttribute('visibility', 'visible'); };
    const move = (m: PointerEvent) => { end = (m.clientX - r.left) * (width / r.width); show(); };
    const up = () => {
      chart.removeEventListener('pointermove', move);
      chart.removeEventListener('pointerup', up);
      const st = state();
      st.filters = st.filters.filter((f) => !(f.kind === 'range' && f.field === name));
      // Ends at the chart's edges stay open: the tails beyond the 99th percentile belong to the last bin.
      if (Math.abs(end - x) >= 3) st.filters.push({ kind: 'range', field: name, min: Math.min(x, end) <= 0 ? null : value(Math.min(x, end)), max: Math.max(x, end) >= width ? null : value(Math.max(x, end)) });
      changed();
    };
    chart.addEventListener('pointermove', move);
    chart.addEventListener('pointerup', up);
  });
  chart.dataset.testid = 'histogram';
  return chart;
}

function bars(name: string, categories: string[], values: Float32Array, selected: Uint8Array | null, width: number) {
  const s = state();
  const counts = new Array<number>(categories.length).fill(0), chosen = new Array<number>(categories.length).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!s.mask[i] || !Number.isInteger(v) || v < 0 || v >= categories.length) continue;
    counts[v]++;
    if (selected?.[i]) chosen[v]++;
  }
  const top = Math.max(1, ...counts);
  const active = s.filters.find((x): x is Extract<Filter, { kind: 'categories' }> => x.kind === 'categories' && x.field === name);
  const list = el('div', { className: 'bars-chart' });
  categories.forEach((c, k) => {
    const fill = el('div', { className: 'bar-fill' });
    fill.style.width = `${(100 * counts[k]) / top}%`;
    const part = el('div', { className: 'bar-selected-fill' });
    part.style.width = `${(100 * chosen[k]) / top}%`;
    const row = el('div', { className: 'bar-row' + (active && !active.allowed.has(k) ? ' off' : ''), title: `${c}: ${counts[k].toLocaleString()} shown${selected ? `, ${chosen[k].toLocaleString()} selected` : ''} — click to filter` },
      el('span', { className: 'bar-name', textContent: c }), el('div', { className: 'bar-track' }, fill, part), el('span', { className: 'bar-count', textContent: counts[k].toLocaleString() }));
    row.dataset.testid = 'bar';
    row.dataset.category = String(k);
    row.addEventListener('click', () => {
      const st = state();
      const current = st.filters.find((x): x is Extract<Filter, { kind: 'categories' }> => x.kind === 'categories' && x.field === name);
      st.filters = st.filters.filter((x) => x !== current);
      // The first click keeps only this category; further clicks add or remove categories; the last one removed clears it.
      const allowed = new Set(current ? current.allowed : []);
      if (!current) allowed.add(k); else if (allowed.has(k)) allowed.delete(k); else allowed.add(k);
      if (allowed.size && allowed.size < categories.length) st.filters.push({ kind: 'categories', field: name, allowed });
      changed();
    });
    list.append(row);
  });
  list.style.width = `${width}px`;
  return list;
}
