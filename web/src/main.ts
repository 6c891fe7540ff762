// The Percept dashboard: the population map (regl-scatterplot, WebGL), filters, the details panel, Sample Analysis
// (heat maps per class and for the loss) and Fetch Similar.
import createScatterplot from 'regl-scatterplot';
import './style.css';
import { api, isReport, rel, withQuery, type RunSummary, type SampleDetails } from './api';
import { applyFilters, maskIndices, selectionCsv, type Filter } from './filters';
import { categoricalColors, encode, normalizeMap, ramp, type Field } from './scales';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

type State = {
  run: RunSummary;
  columns: Map<string, Float32Array>;
  x: Float32Array; y: Float32Array;
  colorBy: string; sizeBy: string;
  hidden: Set<number>; // categories of the colour field switched off in the legend
  filters: Filter[];
  mask: Uint8Array; shown: number;
  selection: number[];
  current: number | null;
  ids: string[] | null;
};

const canvas = $<HTMLCanvasElement>('map');
const wrap = $('map-wrap');
const scatterplot = createScatterplot({
  canvas,
  width: wrap.clientWidth,
  height: wrap.clientHeight,
  pointSize: 4,
  opacityInactiveScale: 0.25,
  pointColorActive: '#111827',
  pointOutlineWidth: 2,
  lassoColor: '#1d2330',
  lassoOnLongPress: false,
  backgroundColor: '#ffffff',
});
new ResizeObserver(() => scatterplot.set({ width: wrap.clientWidth, height: wrap.clientHeight })).observe(wrap);

let state: State;
let mouse = { x: 0, y: 0 };
wrap.addEventListener('mousemove', (e) => { const r = wrap.getBoundingClientRect(); mouse = { x: e.clientX - r.left, y: e.clientY - r.top }; });

const field = (name: string): Field => state.run.fields.find((f) => f.name === name)!;
async function column(name: string): Promise<Float32Array> {
  let c = state.columns.get(name);
  if (!c) {
    c = (await api.column(state.run.id, name)).values;
    state.columns.set(name, c);
  }
  return c;
}
const value = (name: string, i: number) => state.columns.get(name)?.[i];
function categoryName(name: string, i: number): string {
  const v = value(name, i);
  const f = field(name);
  if (v === undefined || Number.isNaN(v)) return '—';
  return f?.categories ? f.categories[v] ?? String(v) : formatNumber(v);
}
const formatNumber = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

async function loadRun(id: string, keepView: boolean) {
  const run = await api.run(id);
  if (!run.map) throw new Error(`run '${id}' has no map (analyse it with --map umap, pca or tsne)`);
  const map = await api.map(id);
  const { x, y } = normalizeMap(map.values, map.columns);
  const previous = keepView ? state : null;
  state = {
    run, columns: new Map(), x, y,
    colorBy: previous?.colorBy ?? (run.fields.some((f) => f.name === 'loss') ? 'loss' : run.fields[0]?.name ?? ''),
    // Above 200,000 dots, one size for all by default: drawing is then cheapest.
    sizeBy: previous?.sizeBy ?? (run.fields.some((f) => f.name === 'loss') && run.count <= 200_000 ? 'loss' : 'none'),
    hidden: previous?.hidden ?? new Set(), filters: previous?.filters ?? [],
    mask: new Uint8Array(run.count).fill(1), shown: run.count, selection: previous?.selection ?? [], current: previous?.current ?? null, ids: null,
  };
  if (!run.fields.some((f) => f.name === state.colorBy)) state.colorBy = run.fields[0]?.name ?? '';
  await Promise.all(['label', 'prediction', 'correct', 'loss', 'confidence'].filter((n) => run.fields.some((f) => f.name === n)).map(column));
  $('run-title').textContent = `${run.id} · ${run.model} · ${run.count.toLocaleString()} samples` +
    (run.accuracy != null ? ` · accuracy ${(100 * run.accuracy).toFixed(2)}%` : '') + ` · ${run.map.method.toUpperCase()} map`;
  renderSelectors();
  renderFilters();
  await draw(!!previous);
  if (state.current != null) await showDetails(state.current);
}

function renderSelectors() {
  const options = (sel: HTMLSelectElement, extra: string[], current: string) => {
    sel.replaceChildren(...extra.map((n) => el('option', { value: n, textContent: n })),
      ...state.run.fields.map((f) => el('option', { value: f.name, textContent: f.name })));
    sel.value = current;
  };
  options($<HTMLSelectElement>('color-by'), [], state.colorBy);
  options($<HTMLSelectElement>('size-by'), ['none'], state.sizeBy);
  const checkpoint = $<HTMLSelectElement>('checkpoint');
  $('checkpoint-box').hidden = state.run.runs.length < 2;
  checkpoint.replaceChildren(...state.run.runs.map((r) => el('option', { value: r, textContent: r })));
  checkpoint.value = state.run.id;
  const method = $<HTMLSelectElement>('method');
  method.replaceChildren(...state.run.methods.map((m) => el('option', { value: m.name, textContent: m.label, title: m.description })));
  const layer = $<HTMLSelectElement>('layer');
  layer.replaceChildren(...state.run.camLayers.map((l) => el('option', { value: l, textContent: l })));
  layer.value = state.run.camLayers[state.run.camLayers.length - 1] ?? '';
  layer.hidden = !selectedMethod()?.needsLayer;
  // A report has no server to compute heat maps; Fetch Similar uses its precomputed neighbours.
  $('analysis').hidden = state.run.methods.length === 0;
  if (isReport) document.title = `Percept report · ${state.run.id}`;
}

/** Draws the map with the current encodings; `animate` moves the dots from where they were (checkpoint change). */
async function draw(animate = false) {
  const colorField = field(state.colorBy);
  const colors = await column(state.colorBy);
  const c = encode(colors, colorField);
  let w: Float32Array = new Float32Array(state.run.count).fill(0.3);
  if (state.sizeBy !== 'none') {
    // Square root: heavy-tailed fields such as the loss still spread over the sizes.
    w = encode(await column(state.sizeBy), field(state.sizeBy)).data.map(Math.sqrt);
  }
  const categorical = colorField.kind === 'categorical';
  const palette = categorical ? [...categoricalColors(colorField.categories!.length), '#c8ccd4'] : ramp(64);
  scatterplot.set({
    colorBy: 'valueA', pointColor: palette,
    sizeBy: 'valueB', pointSize: state.sizeBy === 'none' ? baseSize() : Array.from({ length: 24 }, (_, i) => 2.5 + i * 0.35),
  });
  await applyAll(false);
  await scatterplot.draw({ x: state.x, y: state.y, valueA: c.data, valueB: w }, {
    zDataType: categorical ? 'categorical' : 'continuous', wDataType: 'continuous',
    transition: animate, transitionDuration: 700, filter: state.shown < state.run.count ? maskIndices(state.mask) : undefined,
    preventFilterReset: false,
  });
  if (state.selection.length) scatterplot.select(state.selection, { preventEvent: true });
  renderLegend(c.min, c.max, c.missing);
  (window as unknown as { perceptTest: unknown }).perceptTest = testHooks();
}

/** Dot size without a size encoding: smaller as the population grows, so dense maps stay readable and fast. */
const baseSize = () => (state.run.count > 200_000 ? 1.5 : state.run.count > 50_000 ? 2.5 : 4);

function renderLegend(min: number, max: number, missing: number) {
  const f = field(state.colorBy);
  const legend = $('legend');
  if (f.kind === 'categorical') {
    const colors = categoricalColors(f.categories!.length);
    const counts = new Array(f.categories!.length).fill(0);
    const values = state.columns.get(f.name)!;
    for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i])) counts[values[i]]++;
    legend.replaceChildren(...f.categories!.map((name, k) => {
      const item = el('div', { className: 'legend-item' + (state.hidden.has(k) ? ' off' : ''), title: 'click to hide or show' },
        el('span', { className: 'swatch' }), `${name} (${counts[k].toLocaleString()})`);
      (item.firstChild as HTMLElement).style.background = colors[k];
      item.dataset.category = String(k);
      item.addEventListener('click', () => {
        if (state.hidden.has(k)) state.hidden.delete(k); else state.hidden.add(k);
        item.classList.toggle('off');
        void applyAll(true);
      });
      return item;
    }), ...(missing ? [el('div', { className: 'legend-item' }, `missing (${missing})`)] : []));
  } else {
    const bar = el('div', { className: 'ramp' });
    bar.style.background = `linear-gradient(to right, ${ramp(9).join(', ')})`;
    legend.replaceChildren(el('div', { textContent: f.name }), bar,
      el('div', { className: 'ramp-labels' }, el('span', { textContent: formatNumber(min) }), el('span', { textContent: formatNumber(max) })),
      ...(missing ? [el('div', { textContent: `${missing} missing (drawn as the minimum)` })] : []));
  }
  legend.dataset.field = f.name;
}

/** Filter controls: label, prediction and correctness as category lists; loss and any numeric field as a range. */
function renderFilters() {
  const box = $('filters');
  box.replaceChildren();
  for (const f of state.run.fields.filter((f) => f.kind === 'categorical' && f.categories!.length >= 2 && f.categories!.length <= 64)) {
    const sel = el('select', { multiple: true, size: Math.min(6, f.categories!.length) });
    sel.dataset.testid = `filter-${f.name}`;
    f.categories!.forEach((c, k) => sel.append(el('option', { value: String(k), textContent: c })));
    const existing = state.filters.find((x) => x.kind === 'categories' && x.field === f.name);
    if (existing && existing.kind === 'categories') for (const o of sel.options) o.selected = existing.allowed.has(Number(o.value));
    sel.addEventListener('change', async () => {
      state.filters = state.filters.filter((x) => !(x.kind === 'categories' && x.field === f.name));
      const allowed = new Set([...sel.selectedOptions].map((o) => Number(o.value)));
      if (allowed.size) { await column(f.name); state.filters.push({ kind: 'categories', field: f.name, allowed }); }
      await applyAll(true);
    });
    box.append(el('div', { className: 'filter' }, el('label', { textContent: f.name }), sel));
  }
  const numeric = state.run.fields.filter((f) => f.kind === 'numeric');
  if (numeric.length) {
    const which = el('select');
    numeric.forEach((f) => which.append(el('option', { value: f.name, textContent: f.name })));
    which.value = numeric.some((f) => f.name === 'loss') ? 'loss' : numeric[0].name;
    const lo = el('input', { type: 'number', step: 'any', placeholder: 'min' });
    const hi = el('input', { type: 'number', step: 'any', placeholder: 'max' });
    lo.dataset.testid = 'range-min'; hi.dataset.testid = 'range-max';
    const update = async () => {
      state.filters = state.filters.filter((x) => x.kind !== 'range');
      const min = lo.value === '' ? null : Number(lo.value), max = hi.value === '' ? null : Number(hi.value);
      if (min !== null || max !== null) { await column(which.value); state.filters.push({ kind: 'range', field: which.value, min, max }); }
      await applyAll(true);
    };
    const f0 = () => field(which.value);
    const hint = el('div', { className: 'ramp-labels' });
    const showRange = () => hint.replaceChildren(el('span', { textContent: formatNumber(f0().min ?? 0) }), el('span', { textContent: formatNumber(f0().max ?? 0) }));
    showRange();
    which.addEventListener('change', () => { showRange(); void update(); });
    lo.addEventListener('change', update); hi.addEventListener('change', update);
    box.append(el('div', { className: 'filter' }, el('label', { textContent: 'range of' }), which, el('div', { className: 'row' }, lo, hi), hint));
  }
  const sel = state.filters.find((x) => x.kind === 'indices');
  if (sel && sel.kind === 'indices') box.append(el('div', { className: 'filter', textContent: `${sel.name}: ${sel.indices.size} samples` }));
}

/** Recomputes which samples are shown (filters and legend toggles) and updates the map and the counts together. */
async function applyAll(refilter: boolean) {
  const filters = [...state.filters];
  const f = field(state.colorBy);
  if (f.kind === 'categorical' && state.hidden.size) {
    filters.push({ kind: 'categories', field: f.name, allowed: new Set(f.categories!.map((_, k) => k).filter((k) => !state.hidden.has(k))) });
  }
  const { mask, shown } = applyFilters(state.run.count, filters, (name) => state.columns.get(name)!);
  state.mask = mask; state.shown = shown;
  $('counts').textContent = `showing ${shown.toLocaleString()} of ${state.run.count.toLocaleString()}`;
  if (refilter) {
    if (shown === state.run.count) await scatterplot.unfilter({ preventEvent: true });
    else await scatterplot.filter(maskIndices(mask), { preventEvent: true });
  }
}

function setSelection(points: number[]) {
  state.selection = points;
  const info = $('selection-info');
  info.textContent = points.length === 0 ? 'Click a dot, or lasso a group.' : `${points.length.toLocaleString()} selected`;
  $<HTMLButtonElement>('export-selection').disabled = points.length === 0;
  $<HTMLButtonElement>('filter-selection').disabled = points.length < 2;
}

scatterplot.subscribe('select', ({ points }: { points: number[] }) => {
  setSelection(points);
  if (points.length === 1) void showDetails(points[0]);
});
scatterplot.subscribe('deselect', () => setSelection([]));

const tooltip = $('tooltip');
scatterplot.subscribe('pointOver', (i: number) => {
  const lines = [`#${i}`];
  if (state.columns.has('label')) lines.push(`label: ${categoryName('label', i)}`);
  if (state.columns.has('prediction')) lines.push(`prediction: ${categoryName('prediction', i)}`);
  if (state.columns.has('loss')) lines.push(`loss: ${formatNumber(value('loss', i)!)}`);
  tooltip.replaceChildren(el('img', { src: rel(api.image(state.run.id, i, 96)), alt: `sample ${i}` }), ...lines.map((t) => el('div', { textContent: t })));
  tooltip.dataset.sample = String(i);
  tooltip.hidden = false;
  const left = Math.min(mouse.x + 14, wrap.clientWidth - 130), top = Math.min(mouse.y + 14, wrap.clientHeight - 170);
  tooltip.style.left = `${Math.max(0, left)}px`; tooltip.style.top = `${Math.max(0, top)}px`;
});
scatterplot.subscribe('pointOut', () => { tooltip.hidden = true; });

async function showDetails(i: number) {
  state.current = i;
  const panel = $('details');
  panel.hidden = false;
  panel.dataset.sample = String(i);
  const body = $('details-body');
  body.replaceChildren(el('p', { textContent: `Loading sample ${i}…` }));
  let d: SampleDetails;
  try { d = await api.sample(state.run.id, i); } catch (e) { body.replaceChildren(el('p', { className: 'error', textContent: String(e) })); return; }
  const v = d.values;
  const head = el('div', { className: 'sample-head' }, el('img', { src: withQuery(rel(d.image), 'size=224'), alt: `sample ${i}` }));
  const facts = el('div');
  facts.append(el('div', {}, el('strong', { textContent: `Sample ${i}` }), ` (id ${d.id})`));
  if (v.label != null) facts.append(el('div', { textContent: `Ground truth: ${v.label_name ?? v.label}` }));
  if (v.prediction != null) facts.append(el('div', { textContent: `Prediction: ${v.prediction_name ?? v.prediction}` }));
  if (v.correct != null) facts.append(el('div', { className: 'verdict ' + (v.correct ? 'correct' : 'wrong'), textContent: v.correct ? 'correct' : 'wrong' }));
  if (v.loss != null) facts.append(el('div', { textContent: `Loss: ${formatNumber(Number(v.loss))}` }));
  head.append(facts);
  const bars = el('div', { className: 'bars' });
  bars.dataset.testid = 'top-k';
  for (const t of d.top) {
    const fill = el('div', { className: 'fill' });
    fill.style.width = `${(100 * t.probability).toFixed(1)}%`;
    bars.append(el('div', { className: 'bar' }, el('span', { textContent: t.name }), el('div', {}, fill), el('span', { textContent: `${(100 * t.probability).toFixed(1)}%` })));
  }
  const table = el('table', { className: 'meta' });
  for (const [k, val] of Object.entries(v)) table.append(el('tr', {}, el('td', { textContent: k }), el('td', { textContent: val == null ? '—' : typeof val === 'number' ? String(Number.isInteger(val) ? val : formatNumber(val)) : String(val) })));
  body.replaceChildren(head, el('h3', { textContent: 'Top classes' }), bars, el('h3', { textContent: 'All fields' }), table);
  $('tabs').replaceChildren(); $('heatmap').replaceChildren(); $('similar').replaceChildren(); $('opacity-box').hidden = true;
}

$('close-details').addEventListener('click', () => { $('details').hidden = true; state.current = null; });

const selectedMethod = () => state.run.methods.find((m) => m.name === $<HTMLSelectElement>('method').value);
$('method').addEventListener('change', () => { $('layer').hidden = !selectedMethod()?.needsLayer; });

$('analyze').addEventListener('click', async () => {
  if (state.current == null) return;
  const method = $<HTMLSelectElement>('method').value;
  const layer = selectedMethod()?.needsLayer ? $<HTMLSelectElement>('layer').value : null;
  const tabs = $('tabs'), view = $('heatmap');
  tabs.replaceChildren(el('span', { textContent: 'Computing…' })); view.replaceChildren();
  try {
    const ex = await api.explain(state.run.id, state.current, method, layer);
    const opacity = $<HTMLInputElement>('opacity');
    const show = (k: number) => {
      const t = ex.targets[k];
      const overlay = el('img', { className: 'overlay', src: withQuery(rel(t.image), 'size=224'), alt: `${t.name} heat map` });
      overlay.style.opacity = opacity.value;
      view.replaceChildren(el('div', { className: 'stack' }, el('img', { src: withQuery(rel(ex.image), 'size=224'), alt: 'input' }), overlay),
        el('div', { textContent: `${t.kind === 'loss' ? 'Loss Analysis: regions that drive the error' : `Class ${t.name}: regions that support it`} · score ${formatNumber(t.score)}${ex.layer ? ` · layer ${ex.layer}` : ''}` }),
        ...(t.note ? [el('div', { className: 'note', textContent: t.note })] : []));
      [...tabs.children].forEach((b, j) => b.classList.toggle('active', j === k));
    };
    tabs.replaceChildren(...ex.targets.map((t, k) => {
      const b = el('button', { type: 'button', textContent: t.kind === 'loss' ? 'Loss Analysis' : t.name });
      b.dataset.testid = 'tab';
      b.addEventListener('click', () => show(k));
      return b;
    }));
    const pred = Number(state.columns.get('prediction')?.[state.current] ?? 0);
    show(Math.min(Number.isNaN(pred) ? 0 : pred, ex.targets.length - 1));
    $('opacity-box').hidden = false;
    opacity.oninput = () => view.querySelectorAll<HTMLImageElement>('img.overlay').forEach((img) => (img.style.opacity = opacity.value));
  } catch (e) {
    tabs.replaceChildren(el('span', { className: 'error', textContent: String((e as Error).message ?? e) }));
  }
});

$('fetch-similar').addEventListener('click', async () => {
  if (state.current == null) return;
  const k = Math.max(1, Math.min(200, Number($<HTMLInputElement>('k').value) || 12));
  const grid = $('similar');
  grid.replaceChildren(el('span', { textContent: 'Searching…' }));
  try {
    const s = await api.similar(state.run.id, state.current, k);
    grid.replaceChildren(...s.neighbors.map((n) => {
      const card = el('div', { className: 'card', title: 'open this sample' },
        el('div', { className: 'stack' }, el('img', { src: rel(n.image), alt: `sample ${n.index}`, loading: 'lazy' }),
          el('img', { className: 'overlay', src: rel(n.heatmap), alt: 'what makes it similar', loading: 'lazy' })),
        el('div', { textContent: `#${n.index} · sim ${n.similarity.toFixed(3)}` }),
        el('div', { textContent: `${n.values.label_name ?? '—'} → ${n.values.prediction_name ?? '—'}` }),
        el('div', { textContent: n.values.loss != null ? `loss ${formatNumber(Number(n.values.loss))}` : '' }));
      card.dataset.testid = 'similar-card';
      card.addEventListener('click', () => { scatterplot.select([n.index]); });
      return card;
    }));
    const highlight = [state.current, ...s.neighbors.map((n) => n.index)];
    scatterplot.select(highlight, { preventEvent: true });
    setSelection(highlight);
  } catch (e) {
    grid.replaceChildren(el('span', { className: 'error', textContent: String((e as Error).message ?? e) }));
  }
});

$('color-by').addEventListener('change', async (e) => { state.colorBy = (e.target as HTMLSelectElement).value; state.hidden.clear(); await draw(); });
$('size-by').addEventListener('change', async (e) => { state.sizeBy = (e.target as HTMLSelectElement).value; await draw(); });
$('checkpoint').addEventListener('change', (e) => void loadRun((e.target as HTMLSelectElement).value, true).catch(fail));
$('clear-filters').addEventListener('click', async () => { state.filters = []; state.hidden.clear(); renderFilters(); await draw(); });
const setMode = (mode: 'panZoom' | 'lasso') => {
  scatterplot.set({ mouseMode: mode });
  $('mode-pan').classList.toggle('active', mode === 'panZoom');
  $('mode-lasso').classList.toggle('active', mode === 'lasso');
};
$('mode-pan').addEventListener('click', () => setMode('panZoom'));
$('mode-lasso').addEventListener('click', () => setMode('lasso'));
$('filter-selection').addEventListener('click', async () => {
  state.filters = state.filters.filter((x) => x.kind !== 'indices');
  state.filters.push({ kind: 'indices', name: 'selection', indices: new Set(state.selection) });
  renderFilters();
  await applyAll(true);
});
$('export-selection').addEventListener('click', async () => {
  state.ids ??= await api.ids(state.run.id);
  const extra = ['label', 'prediction'].filter((n) => state.columns.has(n)).map((n) => ({ name: n, value: (i: number) => categoryName(n, i) }));
  if (state.columns.has('loss')) extra.push({ name: 'loss', value: (i: number) => String(value('loss', i)) });
  const csv = selectionCsv(state.selection, state.ids, extra);
  const a = el('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: `${state.run.id}-selection.csv` });
  document.body.append(a); a.click(); a.remove();
});

/** Hooks for the end-to-end tests: where a dot is on screen, what is drawn. */
function testHooks() {
  return {
    ready: true,
    count: state.run.count,
    shown: () => state.shown,
    selection: () => state.selection,
    screenPosition: (i: number) => scatterplot.getScreenPosition(i),
    pointsDrawn: () => (scatterplot.get('points') as unknown[]).length,
    open: (i: number) => { scatterplot.select([i]); },
  };
}

function fail(e: unknown) {
  $('status').replaceChildren(el('span', { className: 'error', textContent: String((e as Error)?.message ?? e) }));
}

(async () => {
  const runs = await api.runs();
  const wanted = new URLSearchParams(location.search).get('run');
  await loadRun(wanted && runs.some((r) => r.id === wanted) ? wanted : runs[0].id, false);
})().catch(fail);
