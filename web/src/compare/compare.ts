// Compare mode: the run on screen (A) and another run of the same samples (B, another model, epoch or training) side by
// side. B's map is aligned to A's by the server over the shared samples; the two maps share one camera, a hover in one
// rings the same sample in the other, and a selection (click, lasso, card, search) in either lights up the same samples
// in both. A's samples gain two fields: `change` (fixed, broken, moved, unchanged, only in A), which the map is coloured
// by, and `neighbours kept` (the share of each sample's 10 nearest neighbours that stay in B). The Compare tab holds the
// comparison's summary as cards: a click selects a change's samples and puts them in the gallery.
import createScatterplot from 'regl-scatterplot';
import { isReport, source, type CompareResult, type Field } from '../data';
import { selectTab } from '../layout/layout';
import { showLayer, shownLayer } from '../layers/layers';
import { MISSING_COLOUR, mapFrame, normalizeMap } from '../map/scales';
import { scatterplot } from '../map/map';
import { follow, onSelectionChange, select } from '../selection/selection';
import { showGallery } from '../gallery/gallery';
import { state } from '../state';
import { $, el, message } from '../ui';

/** The change field's colours, in the server's category order: fixed, broken, moved, unchanged, only in A. */
const CHANGE_COLOURS: Record<string, string> = {
  fixed: '#2f9e44', broken: '#e03131', moved: '#f08c00', unchanged: '#a5aebb', 'only in A': '#dde1e7',
};
export const CHANGE_FIELD = 'change', KEPT_FIELD = 'neighbours kept';

type Comparing = {
  a: string; b: string; result: CompareResult;
  /** B's index of each of A's samples (−1: none), and A's index of each of B's. */
  toB: Int32Array; fromB: Int32Array;
  change: Float32Array; kept: Float32Array;
  bx: Float32Array; by: Float32Array;
};

let comparing: Comparing | null = null;
/** Comparisons begun: a later pick (another run, or none) overtakes one still loading. */
let requests = 0;
/** The run the user asked to compare with: kept while A changes (another epoch loading), cleared by "stop". */
let wanted: string | null = null;

/** The run to compare with, as the user last asked (even while A is loading). */
export const wantedCompare = () => wanted;
let hooks: { redraw: () => Promise<void>; refilter: () => Promise<void> } | null = null;

const wrapB = $('map-b-wrap');
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#ffffff';

/** B's scatterplot, made on first use (a page that never compares makes no second WebGL context). */
let plotB: ReturnType<typeof createScatterplot> | null = null;
/** Set while one map moves the other, so that the echo is not sent back. */
let syncing = false;

function makePlotB() {
  if (plotB) return plotB;
  const plot = createScatterplot({
    canvas: $<HTMLCanvasElement>('map-b'),
    width: Math.max(1, wrapB.clientWidth), height: Math.max(1, wrapB.clientHeight),
    pointSize: 4, opacityInactiveScale: 0.25, pointColorActive: css('--text'), pointOutlineWidth: 2,
    lassoColor: css('--accent'), lassoOnLongPress: false, backgroundColor: [0, 0, 0, 0], deselectOnEscape: false,
  });
  new ResizeObserver(() => {
    if (wrapB.clientWidth > 0 && wrapB.clientHeight > 0) plot.set({ width: wrapB.clientWidth, height: wrapB.clientHeight });
  }).observe(wrapB);
  // One camera for both maps (they share a frame: B is aligned to A).
  plot.subscribe('view', ({ view }) => {
    if (syncing || !comparing) return;
    syncing = true; scatterplot.view(Array.from(view)); syncing = false;
  });
  scatterplot.subscribe('view', ({ view }) => {
    if (syncing || !comparing) return;
    syncing = true; plot.view(Array.from(view), { preventEvent: true }); syncing = false;
  });
  // Hover: the same sample ringed in the other map.
  plot.subscribe('pointOver', (j: number) => { const i = comparing?.fromB[j] ?? -1; if (i >= 0) scatterplot.hover(i, { preventEvent: true }); });
  scatterplot.subscribe('pointOver', (i: number) => { const j = comparing?.toB[i] ?? -1; if (j >= 0) plot.hover(j, { preventEvent: true }); });
  // Leaving a dot takes the ring off its twin (hovering nothing: an index past the last point).
  plot.subscribe('pointOut', () => { if (comparing) scatterplot.hover(-1, { preventEvent: true }); });
  scatterplot.subscribe('pointOut', () => { if (comparing) plot.hover(-1, { preventEvent: true }); });
  // A selection in B selects the same samples in A (and so in the gallery, the matrix and the charts).
  plot.subscribe('select', ({ points }: { points: number[] }) => {
    if (syncing || !comparing) return;
    const c = comparing;
    const picked = points.map((j) => c.fromB[j]).filter((i) => i >= 0);
    syncing = true;
    select(picked);
    syncing = false;
    if (picked.length > 1) showGallery(`Selection in ${c.b}`, picked);
  });
  plot.subscribe('deselect', () => { if (!syncing && comparing) { syncing = true; select([]); syncing = false; } });
  // As on map A: a press that travelled (a lasso, a pan) is not a click that selects the nearest dot.
  let travelled = 0, last: { x: number; y: number } | null = null;
  wrapB.addEventListener('pointerdown', (e) => { travelled = 0; last = { x: e.clientX, y: e.clientY }; }, true);
  wrapB.addEventListener('pointermove', (e) => {
    if (!last || !(e.buttons & 1)) return;
    travelled += Math.hypot(e.clientX - last.x, e.clientY - last.y);
    last = { x: e.clientX, y: e.clientY };
  }, true);
  wrapB.addEventListener('click', (e) => { if (travelled > 8) e.stopPropagation(); last = null; }, true);
  $('mode-pan').addEventListener('click', () => plot.set({ mouseMode: 'panZoom' }));
  $('mode-lasso').addEventListener('click', () => plot.set({ mouseMode: 'lasso' }));
  plotB = plot;
  return plot;
}

// A's selection, whatever made it, lights up in B.
onSelectionChange(() => {
  if (!comparing || !plotB || syncing) return;
  const c = comparing;
  const inB = state().selection.map((i) => c.toB[i]).filter((j) => j >= 0);
  syncing = true;
  if (inB.length) plotB.select(inB, { preventEvent: true }); else plotB.deselect({ preventEvent: true });
  syncing = false;
});

/** Draws B's dots coloured by the change of their sample in A (B's samples that A lacks: grey). */
async function drawB() {
  if (!comparing || !plotB) return;
  const c = comparing;
  const colours = [...c.result.categories.map((k) => CHANGE_COLOURS[k] ?? MISSING_COLOUR), MISSING_COLOUR];
  const missing = colours.length - 1;
  const codes = new Float32Array(c.bx.length);
  for (let j = 0; j < codes.length; j++) codes[j] = c.fromB[j] >= 0 ? c.change[c.fromB[j]] : missing;
  plotB.set({ colorBy: 'valueA', pointColor: colours, pointSize: c.bx.length > 100_000 ? 2 : c.bx.length > 20_000 ? 3 : 4, opacity: c.bx.length > 50_000 ? 0.6 : 0.85 });
  await plotB.draw({ x: c.bx, y: c.by, valueA: codes });
  // Follow A's filters: B shows the samples A shows (and those A lacks).
  const s = state();
  if (s.shown < s.run.count) {
    const keep: number[] = [];
    for (let j = 0; j < codes.length; j++) { const i = c.fromB[j]; if (i < 0 || s.mask[i]) keep.push(j); }
    await plotB.filter(keep, { preventEvent: true });
  } else await plotB.unfilter({ preventEvent: true });
  const inB = s.selection.map((i) => c.toB[i]).filter((j) => j >= 0);
  if (inB.length) plotB.select(inB, { preventEvent: true });
  syncing = true; plotB.view(Array.from(scatterplot.get('cameraView') as unknown as ArrayLike<number>), { preventEvent: true }); syncing = false;
}

/** Whether compare mode is on, and against which run. */
export const comparedWith = () => comparing?.b ?? null;

/** The fields compare mode adds to A's samples. */
function fields(r: CompareResult): Field[] {
  return [
    { name: CHANGE_FIELD, kind: 'categorical', min: 0, max: r.categories.length - 1, categories: r.categories, colors: r.categories.map((k) => CHANGE_COLOURS[k] ?? MISSING_COLOUR) },
    { name: KEPT_FIELD, kind: 'numeric', min: 0, max: 1, categories: null },
  ];
}

/** Leaves compare mode: one map again, and A's own fields; `keepWanted` when A is only changing (another epoch). */
export async function stopComparing(redraw = true, keepWanted = false) {
  requests++;
  if (!keepWanted) wanted = null;
  if (!comparing) return;
  comparing = null;
  wrapB.hidden = true;
  $('map-a-label').hidden = true;
  $('compare-stop').hidden = true;
  setAddress(null);
  const s = state();
  s.run.fields = s.run.fields.filter((f) => f.name !== CHANGE_FIELD && f.name !== KEPT_FIELD);
  s.columns.delete(CHANGE_FIELD); s.columns.delete(KEPT_FIELD);
  s.filters = s.filters.filter((f) => f.kind === 'indices' || (f.field !== CHANGE_FIELD && f.field !== KEPT_FIELD));
  if (s.colorBy === CHANGE_FIELD || s.colorBy === KEPT_FIELD) { s.colorBy = s.run.fields.some((f) => f.name === 'loss') ? 'loss' : s.run.fields[0]?.name ?? ''; s.hidden.clear(); }
  if (s.sizeBy === KEPT_FIELD) s.sizeBy = 'none';
  renderPanel();
  if (redraw && hooks) { await hooks.refilter(); await hooks.redraw(); }
}

/** Enters compare mode against run `b` (A is the run on screen). */
export async function compareWith(b: string) {
  const s = state();
  if (b === s.run.id) return stopComparing();
  wanted = b;
  const token = ++requests;
  const status = $('compare-summary');
  status.replaceChildren(el('p', { className: 'muted', textContent: `Comparing with ${b}…` }));
  const [result, cols, mapB, mapA] = await Promise.all([source.compare(s.run.id, b), source.compareColumns(s.run.id, b), source.compareMap(s.run.id, b), source.map(s.run.id)]);
  if (state() !== s || token !== requests) return;
  // The two maps share one frame: A shows its run's map, not a layer's.
  if (shownLayer()) await showLayer('');
  if (state() !== s || token !== requests) return;
  const n = s.run.count, nB = mapB.rows;
  const toB = new Int32Array(n), fromB = new Int32Array(nB).fill(-1), change = new Float32Array(n), kept = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    change[i] = cols.values[3 * i]; kept[i] = cols.values[3 * i + 1]; toB[i] = cols.values[3 * i + 2];
    if (toB[i] >= 0) fromB[toB[i]] = i;
  }
  // B's aligned map in A's frame (A's map is drawn in [−1, 1] by its own bounding box).
  const { x: bx, y: by } = normalizeMap(mapB.values, 2, mapFrame(mapA.values, mapA.columns));
  comparing = { a: s.run.id, b, result, toB, fromB, change, kept, bx, by };
  s.run.fields = [...s.run.fields.filter((f) => f.name !== CHANGE_FIELD && f.name !== KEPT_FIELD), ...fields(result)];
  s.columns.set(CHANGE_FIELD, change); s.columns.set(KEPT_FIELD, kept);
  s.colorBy = CHANGE_FIELD; s.hidden.clear();
  wrapB.hidden = false;
  $('compare-stop').hidden = false;
  const acc = (v: number | null) => (v == null ? '' : ` · ${(100 * v).toFixed(2)}%`);
  $('map-a-label').textContent = `A: ${s.run.id}${acc(result.comparison.a.accuracy)}`;
  $('map-a-label').hidden = false;
  $('map-b-label').textContent = `B: ${b}${acc(result.comparison.b.accuracy)}`;
  setAddress(b);
  makePlotB();
  renderPanel();
  if (hooks) { await hooks.refilter(); await hooks.redraw(); }
  await drawB();
}

/** The compared run in the address (`compare=`), so a reload or a shared link opens the same view. */
function setAddress(b: string | null) {
  const q = new URLSearchParams(location.search);
  if (b) q.set('compare', b); else q.delete('compare');
  history.replaceState(null, '', `${location.pathname}?${q.toString()}${location.hash}`);
}

/** The Compare tab: the picker, and the comparison's summary as cards. */
export function renderPanel() {
  const s = state();
  const t = s.run.training;
  const others = (t ? t.runs.filter((r): r is string => r != null) : s.run.runs).filter((r) => r !== s.run.id);
  $('compare-tab').hidden = isReport || !source.canCompare || others.length === 0;
  const picker = $<HTMLSelectElement>('compare-with');
  picker.replaceChildren(el('option', { value: '', textContent: 'no run (one map)' }),
    ...others.map((r, k) => el('option', { value: r, textContent: t ? `epoch ${t.epochs[t.runs.indexOf(r)] ?? k + 1}: ${r}` : r })));
  picker.value = comparing?.b ?? '';
  const box = $('compare-summary');
  if (!comparing) {
    box.replaceChildren(el('p', { className: 'muted', textContent: 'Pick a run of the same samples: the two maps side by side, linked, each sample coloured by what changed.' }));
    return;
  }
  const c = comparing, d = c.result.comparison;
  const pct = (v: number | null | undefined) => (v == null ? '—' : `${(100 * v).toFixed(1)}%`);
  const byCategory = (k: number) => { const out: number[] = []; for (let i = 0; i < c.change.length; i++) if (c.change[i] === k) out.push(i); return out; };
  const cards = c.result.categories.map((name, k) => {
    const count = c.result.counts[k];
    const card = el('button', { type: 'button', className: 'change-card', disabled: count === 0, title: `Select the ${name} samples and show them in the gallery` },
      el('span', { className: 'swatch', style: `background:${CHANGE_COLOURS[name] ?? MISSING_COLOUR}` }),
      el('span', { textContent: name }), el('span', { className: 'count', textContent: count.toLocaleString() }));
    card.dataset.testid = `change-${name.replace(/\s+/g, '-')}`;
    card.addEventListener('click', () => {
      const picked = byCategory(k);
      select(picked); follow(picked);
      showGallery(`${name[0].toUpperCase()}${name.slice(1)}: ${picked.length.toLocaleString()}`, picked);
    });
    return card;
  });
  // The samples whose neighbourhood changed most: the fewest neighbours kept first.
  const moved = el('button', { type: 'button', className: 'change-card', title: 'The 200 samples whose neighbourhood changed most, in the gallery' },
    el('span', { textContent: 'largest perception changes' }));
  moved.dataset.testid = 'change-largest';
  moved.addEventListener('click', () => {
    const order = [...c.kept.keys()].filter((i) => Number.isFinite(c.kept[i])).sort((x, y) => c.kept[x] - c.kept[y] || x - y).slice(0, 200);
    select(order); follow(order);
    showGallery('Largest perception changes', order, true);
  });
  const lines: HTMLElement[] = [
    el('p', {}, el('strong', { textContent: `A ${c.a}` }), ` ${pct(d.a.accuracy)} → `, el('strong', { textContent: `B ${c.b}` }), ` ${pct(d.b.accuracy)}`),
    el('p', { className: 'muted', textContent: `${d.samples.matched.toLocaleString()} samples matched by id` + (d.samples.only_a + d.samples.only_b ? ` (${d.samples.only_a.toLocaleString()} only in A, ${d.samples.only_b.toLocaleString()} only in B)` : '') }),
  ];
  if (d.predictions) lines.push(el('p', { textContent: `${d.predictions.fixed.toLocaleString()} fixed, ${d.predictions.broken.toLocaleString()} broken (net ${d.predictions.fixed - d.predictions.broken >= 0 ? '+' : ''}${(d.predictions.fixed - d.predictions.broken).toLocaleString()})` }));
  if (d.perception) lines.push(el('p', { textContent: `${d.perception.mean_overlap.toFixed(2)} of each sample's ${d.perception.k} nearest neighbours stay on average; "moved": under ${Math.round(100 * c.result.movedBelow)}% kept, or another answer` }));
  const table = el('table', { className: 'compare-table' },
    el('tr', {}, ...['class', 'acc A', 'acc B', 'Δ'].map((h) => el('th', { textContent: h }))),
    ...d.per_class.map((r) => {
      const delta = r.accuracy_a != null && r.accuracy_b != null ? r.accuracy_b - r.accuracy_a : null;
      return el('tr', {}, el('td', { textContent: r.class }), el('td', { textContent: pct(r.accuracy_a) }), el('td', { textContent: pct(r.accuracy_b) }),
        el('td', { className: delta == null ? '' : delta > 0 ? 'up' : delta < 0 ? 'down' : '', textContent: delta == null ? '—' : `${delta > 0 ? '+' : ''}${(100 * delta).toFixed(1)}` }));
    }));
  const proximity = d.class_proximity.slice(0, 5).map((p) => el('li', { textContent: `${p.class_a} ↔ ${p.class_b}: ${pct(p.share_a)} → ${pct(p.share_b)} of neighbours cross` }));
  const cardsChanged = d.insights ? [
    ...d.insights.appeared.slice(0, 6).map((x) => el('li', { textContent: `+ ${x.title}` })),
    ...d.insights.vanished.slice(0, 6).map((x) => el('li', { textContent: `− ${x.title}` })),
  ] : [];
  box.replaceChildren(...lines, el('div', { className: 'change-cards' }, ...cards, moved),
    el('h3', { textContent: 'Accuracy per class' }), table,
    ...(proximity.length ? [el('h3', { textContent: 'Class proximity' }), el('ul', { className: 'plain' }, ...proximity)] : []),
    ...(cardsChanged.length ? [el('h3', { textContent: 'Insight cards' }), el('ul', { className: 'plain' }, ...cardsChanged)] : []),
    ...d.notes.map((n) => el('p', { className: 'muted', textContent: n })));
}

/**
 * Wires the picker; `redraw` and `refilter` redraw A's map and legend after the fields change. Compare mode opens when
 * the address names a run (`compare=`) or the server was started with --compare.
 */
export function wireCompare(redraw: () => Promise<void>, refilter: () => Promise<void>, fail: (e: unknown) => void) {
  hooks = { redraw, refilter };
  $('compare-with').addEventListener('change', (e) => {
    const b = (e.target as HTMLSelectElement).value;
    (b ? compareWith(b) : stopComparing()).catch((err) => { fail(err); $('compare-summary').replaceChildren(el('p', { className: 'error', textContent: message(err) })); });
  });
  $('compare-stop').addEventListener('click', () => void stopComparing());
  // The pair's camera again after a resize (B's canvas follows its own size through its ResizeObserver).
  let resized = 0;
  window.addEventListener('resize', () => {
    window.clearTimeout(resized);
    resized = window.setTimeout(() => {
      if (!comparing || !plotB) return;
      syncing = true; plotB.view(Array.from(scatterplot.get('cameraView') as unknown as ArrayLike<number>), { preventEvent: true }); syncing = false;
    }, 150);
  });
}

/** After A's map was drawn again: B follows A's filters. */
export const afterDraw = () => (comparing ? drawB() : Promise.resolve());

/** Opens the run to compare with at start: the address's, else the server's pair when A is its first run. */
export async function restoreCompare(a: string, pair: [string, string] | null) {
  if (isReport || !source.canCompare) return;
  const asked = new URLSearchParams(location.search).get('compare');
  const b = asked ?? (pair && pair[0] === a ? pair[1] : null);
  if (!b || b === a) return;
  await compareWith(b);
  if (!asked) selectTab('compare');
}

/** Hooks for the end-to-end tests: B's dots on screen, B's selection, the sample maps. */
export function compareHooks() {
  return {
    b: () => comparing?.b ?? null,
    toB: (i: number) => comparing?.toB[i] ?? -1,
    fromB: (j: number) => comparing?.fromB[j] ?? -1,
    change: (i: number) => (comparing ? comparing.result.categories[comparing.change[i]] : null),
    counts: () => comparing?.result.counts ?? null,
    screenPositionB: (j: number) => plotB?.getScreenPosition(j),
    selectionB: () => [...((plotB?.get('selectedPoints') as unknown as number[] | undefined) ?? [])],
    pointsB: () => (plotB ? (plotB.get('points') as unknown[]).length : 0),
    /** B's camera as the map's hook gives A's: the map point at the centre and the zoom distance. */
    cameraB: () => {
      if (!plotB) return null;
      const c = plotB.get('camera') as unknown as { target: number[]; distance: number[] | number };
      return { x: c.target[0], y: c.target[1], distance: Array.isArray(c.distance) ? c.distance[0] : c.distance };
    },
  };
}
