// The Percept dashboard: wires the panes together. Each feature lives in its own folder: layout/ (docked panes, tabs),
// map/ (the population map, its scales and density layer), legend/, filters/, selection/, search/, url/ (the view in
// the address), details/ (one sample), analysis/ (heat maps), similar/ (Fetch Similar), insights/, gallery/, training/,
// and data/ (one interface over the server's API or a report's embedded data).
import './style.css';
import { activeTab, onTabChange, selectTab } from './layout/layout';
import { renderLayerChart, renderLayerPicker, shownLayer, showLayer, wireLayers } from './layers/layers';
import { afterDraw, compareHooks, comparedWith, compareWith, wantedCompare, renderPanel as renderComparePanel, restoreCompare, stopComparing, wireCompare } from './compare/compare';
import { renderConfusion } from './confusion/confusion';
import { renderCharts, wireCharts } from './charts/charts';
import { wireAnalysis, renderMethods } from './analysis/analysis';
import { isReport, source } from './data';
import { showDetails, wireDetails } from './details/details';
import { renderFilters } from './filters/panel';
import { renderLegend, updateLegendCounts } from './legend/legend';
import { camera, densityDrawTimes, draw, drawnCount, dense, panTo, refilter, resetView, scatterplot, setCamera, zoomTo } from './map/map';
import { normalizeMap } from './map/scales';
import { pointsInPolygon } from './map/density';
import { search } from './search/search';
import { clearSelection, follow, onSelectionChange, renderSaved, select, selectionOfSample, setSelection, wireSelection } from './selection/selection';
import { wireSimilar } from './similar/similar';
import { galleryTitle, hideGallery, showGallery, wireGallery } from './gallery/gallery';
import { renderInsights, wireInsightKeys } from './insights/insights';
import { renderTraining, wirePlay } from './training/training';
import { column, setState, state, type State } from './state';
import { $, el, message, placeIcons } from './ui';
import { readView, writeView, type View } from './url/url';

placeIcons();

let loaded: State | null = null;
/** Loads begun: a load that a later one overtook stops at its next step (epochs picked quickly, or played). */
let loads = 0;

/** Loads a run; `keepView` keeps the encodings, filters and selection of the run before (another epoch of the same samples). */
async function loadRun(id: string, keepView: boolean, restore: View = {}) {
  const token = ++loads;
  const run = await source.run(id);
  if (!run.map) throw new Error(`run '${id}' has no map (analyse it with --map umap, pca or tsne)`);
  const map = await source.map(id);
  if (token !== loads) return;
  const { x, y } = normalizeMap(map.values, map.columns);
  const previous = keepView ? loaded : null;
  const has = (name: string | undefined): name is string => !!name && run.fields.some((f) => f.name === name);
  const s: State = {
    run, columns: new Map(), x, y,
    colorBy: has(restore.color) ? restore.color : previous?.colorBy ?? (has('loss') ? 'loss' : run.fields[0]?.name ?? ''),
    // Above 200,000 dots, one size for all by default: drawing is then cheapest.
    sizeBy: restore.size === 'none' || has(restore.size) ? restore.size! : previous?.sizeBy ?? (has('loss') && run.count <= 200_000 ? 'loss' : 'none'),
    colorScale: (['linear', 'log', 'rank', 'auto'].includes(restore.scale ?? '') ? restore.scale : previous?.colorScale ?? 'auto') as State['colorScale'],
    // Legend toggles are palette steps of the colour field; another run's steps may stand for other values: they stay
    // only for a categorical field (its categories do not change between epochs).
    hidden: restore.hidden ? new Set(restore.hidden)
      : previous && run.fields.find((f) => f.name === previous.colorBy)?.kind === 'categorical' ? new Set(previous.hidden) : new Set(),
    filters: (restore.filters ?? previous?.filters ?? []).filter((f) => f.kind === 'indices' || has(f.field)),
    filterMask: new Uint8Array(run.count).fill(1), mask: new Uint8Array(run.count).fill(1), shown: run.count,
    selection: (restore.selection ?? previous?.selection ?? []).filter((i) => i < run.count),
    current: restore.sample != null && restore.sample < run.count ? restore.sample : previous?.current ?? null, ids: null,
  };
  if (!has(s.colorBy)) s.colorBy = run.fields[0]?.name ?? '';
  // Compare mode carries over to another epoch or checkpoint: the new run against the same B (or off, when it is B).
  const comparedB = wantedCompare();
  if (comparedWith()) await stopComparing(false, true);
  setState(s);
  loaded = s;
  const needed = ['label', 'prediction', 'correct', 'loss', 'confidence', ...s.filters.flatMap((f) => (f.kind === 'indices' ? [] : [f.field]))];
  await Promise.all([...new Set(needed)].filter((n) => has(n)).map(column));
  if (token !== loads) return;
  $('run-title').textContent = `${run.id} · ${run.model} · ${run.count.toLocaleString()} samples` +
    (run.accuracy != null ? ` · accuracy ${(100 * run.accuracy).toFixed(2)}%` : '') + ` · ${run.map.method.toUpperCase()} map`;
  $('run-title').title = $('run-title').textContent!;
  renderSelectors();
  renderComparePanel();
  // A tab the address names opens at once; otherwise Insights or Encoding, once it is known whether there are insights.
  if (restore.tab) selectTab(restore.tab);
  renderMethods();
  renderFilters(filtersChanged);
  renderSaved();
  $('similar-overlay').hidden = !source.similarHeatmaps || !!run.text || run.camLayers.length === 0;
  if (!previous) hideGallery();
  const insights = renderInsights();
  await redraw(!!previous);
  // The layer the address names (another epoch keeps showing the same layer's map).
  void renderLayerPicker().catch(fail);
  setSelection(s.selection);
  matrixFollows();
  if (restore.camera) await setCamera(restore.camera);
  if (restore.gallery && s.selection.length) showGallery(restore.gallery, s.selection);
  if (s.current != null) await showDetails(s.current);
  // The Insights tab first on a run that has them; Encoding on one that has none.
  const hasInsights = await insights;
  if (!restore.tab && !previous && token === loads) selectTab(hasInsights ? 'insights' : 'encoding');
  if (comparedB && comparedB !== id && token === loads) await compareWith(comparedB);
}

function renderSelectors() {
  const s = state();
  const options = (sel: HTMLSelectElement, extra: string[], current: string) => {
    sel.replaceChildren(...extra.map((n) => el('option', { value: n, textContent: n })),
      ...s.run.fields.map((f) => el('option', { value: f.name, textContent: f.name })));
    sel.value = current;
  };
  options($<HTMLSelectElement>('color-by'), [], s.colorBy);
  options($<HTMLSelectElement>('size-by'), ['none'], s.sizeBy);
  $<HTMLSelectElement>('color-scale').value = s.colorScale;
  const checkpoint = $<HTMLSelectElement>('checkpoint');
  // An epoch of a training offers its epochs (in order); other runs, the runs of the same samples (checkpoints).
  const t = s.run.training;
  const choices = t ? t.runs.map((r, i) => ({ id: r, label: `${t.epochs[i]} of ${t.epochs.length}` })).filter((c): c is { id: string; label: string } => c.id != null)
    : s.run.runs.map((r) => ({ id: r, label: r }));
  $('checkpoint-box').hidden = choices.length < 2;
  checkpoint.replaceChildren(...choices.map((c) => el('option', { value: c.id, textContent: c.label })));
  checkpoint.value = s.run.id;
  renderTraining(s.run, (id) => void goTo(id));
  if (isReport) document.title = `Percept report · ${s.run.id}`;
}

/** The draw in progress: draws run one after another (regl-scatterplot drops a draw asked during another). */
let drawing: Promise<void> = Promise.resolve();

/** Draws the map and its legend with the current encodings. */
function redraw(animate = false): Promise<void> {
  drawing = drawing.catch(() => {}).then(async () => {
    const encoding = await draw(animate);
    renderLegend(encoding, () => void filtersChanged());
    await afterDraw();
    (window as unknown as { perceptTest: unknown }).perceptTest = testHooks();
  });
  return drawing;
}

/** After a filter changed: the map, the counts, the legend's counts and the confusion matrix follow. */
async function filtersChanged() {
  await refilter(true);
  updateLegendCounts();
  matrixFollows();
  await afterDraw();
}

/** The confusion matrix and the linked charts, drawn when their tab is open (a selection or a filter changes them). */
function matrixFollows() { if (loaded && activeTab() === 'charts') { renderConfusion(); void renderCharts(); void renderLayerChart(); } }
// A brush or a bar click changed a filter: the filters panel shows it, and the map, legend and charts follow.
wireCharts(() => { renderFilters(filtersChanged); void filtersChanged(); });
onTabChange(matrixFollows);
onSelectionChange(matrixFollows);

/** Opens a sample: selects its dot and shows its details. */
function open(i: number) {
  select([i], 'sample');
  void showDetails(i);
}

/** Another epoch or checkpoint of the same samples, keeping the view. */
const goTo = (id: string) => loadRun(id, true).catch(fail);

scatterplot.subscribe('select', ({ points }: { points: number[] }) => {
  const picked = [...points];
  setSelection(picked, picked.length === 1 ? 'sample' : 'group');
  if (picked.length === 1) void showDetails(picked[0]);
  // A lasso selection: its samples in the gallery.
  else if (picked.length > 1) showGallery('Selection', picked);
});
// On a map that draws only some of its dots (a dense map's level of detail), the lasso takes every shown sample inside
// it, not only the dots drawn.
scatterplot.subscribe('lassoEnd', ({ coordinates }: { coordinates: unknown[] }) => {
  const s = state();
  // Map points as [x, y] pairs (the typings say flat numbers; regl-scatterplot 1.16 sends pairs): either is read.
  const polygon = typeof coordinates[0] === 'number'
    ? Array.from({ length: coordinates.length >> 1 }, (_, k) => [coordinates[2 * k] as number, coordinates[2 * k + 1] as number])
    : (coordinates as number[][]);
  if (drawnCount() >= s.shown || polygon.length < 3) return;
  const inside = pointsInPolygon(s.x, s.y, s.mask, polygon);
  select(inside);
  showGallery('Selection', inside);
});
scatterplot.subscribe('deselect', () => setSelection([]));

// Closing the sample clears the selection when it was the sample's (its dot, or it and its similar samples), not a group's.
wireDetails(() => { if (selectionOfSample()) clearSelection(); });
wireAnalysis();
wireSimilar(open);
wireGallery((i) => { void showDetails(i); if ($<HTMLInputElement>('follow-selection').checked) void panTo(i); });
wireSelection(() => { renderFilters(filtersChanged); void filtersChanged(); }, (title, points) => showGallery(title, points, true));
wireInsightKeys();
wireCompare(() => { renderSelectors(); return redraw(); }, () => refilter(false), fail);
wireLayers((animate) => redraw(animate), fail);

$('color-by').addEventListener('change', async (e) => { state().colorBy = (e.target as HTMLSelectElement).value; state().hidden.clear(); await refilter(false); await redraw(); });
$('color-scale').addEventListener('change', async (e) => { state().colorScale = (e.target as HTMLSelectElement).value as State['colorScale']; await redraw(); });
$('size-by').addEventListener('change', async (e) => { state().sizeBy = (e.target as HTMLSelectElement).value; await redraw(); });
$('checkpoint').addEventListener('change', (e) => void goTo((e.target as HTMLSelectElement).value));
wirePlay(() => state().run, (id) => loadRun(id, true).catch(fail));
/** Zooms to the selection, or, with none, to the samples the filters show. */
function fit() {
  const s = state();
  if (s.selection.length) { void zoomTo(s.selection); return; }
  if (s.shown === s.run.count) { void resetView(); return; }
  const shown: number[] = [];
  for (let i = 0; i < s.run.count; i++) if (s.mask[i]) shown.push(i);
  void zoomTo(shown);
}
$('fit-selection').addEventListener('click', fit);
$('reset-view').addEventListener('click', () => void resetView());
// A training that is still being watched gains epochs: the selector and the chart take them without a reload.
source.onRunAdded(() => {
  const s = state();
  void source.run(s.run.id).then((fresh) => {
    if (state() !== s) return;
    s.run = { ...s.run, runs: fresh.runs, training: fresh.training };
    renderSelectors();
  }).catch(fail);
});
$('clear-filters').addEventListener('click', async () => {
  const s = state();
  s.filters = []; s.hidden.clear();
  clearSelection();
  renderFilters(filtersChanged);
  await refilter(false);
  await redraw();
});

// Search: an id, #index, a class, or field=value; the samples found are selected, zoomed to and shown in the gallery.
$('search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const s = state();
  const query = $<HTMLInputElement>('search').value;
  const note = $('search-message');
  const found = await search(query, {
    count: s.run.count, fields: s.run.fields, column,
    ids: async () => (s.ids ??= await source.ids(s.run.id)),
  }).catch((err: unknown) => ({ error: message(err) }));
  if ('error' in found) { note.textContent = found.error; return; }
  note.textContent = found.indices.length ? '' : `no sample has ${found.title}`;
  if (!found.indices.length) return;
  select(found.indices);
  follow(found.indices);
  if (found.indices.length === 1) void showDetails(found.indices[0]);
  showGallery(found.title, found.indices);
});
$('search').addEventListener('input', () => { $('search-message').textContent = ''; });

// Keys: "/" finds, "f" zooms to the selection (or the filtered samples), "0" shows the whole map, Escape closes the sample (outside text fields).
document.addEventListener('keydown', (e) => {
  const target = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
  if (e.key === '/') { e.preventDefault(); $('search').focus(); }
  else if (e.key === 'f') fit();
  else if (e.key === '0') void resetView();
  else if (e.key === 'Escape' && !$('details').hidden && !target.closest('#gallery')) $('close-details').click();
});

/** The view as the address writes it. */
function currentView(): View {
  const s = state();
  return {
    run: s.run.id, tab: activeTab(), color: s.colorBy, scale: s.colorScale, size: s.sizeBy,
    filters: s.filters, hidden: [...s.hidden],
    // Very large selections stay out of the address (it would grow past what browsers keep).
    selection: s.selection.length <= 20_000 ? s.selection : [],
    gallery: galleryTitle(s.selection) ?? undefined,
    sample: s.current ?? undefined, camera: camera(),
  };
}

// The address follows the view (replaced, not pushed: the back button leaves the page, as people expect of a tool).
// Other parameters (such as density=N) are kept.
window.setInterval(() => {
  if (!loaded) return;
  const keep = new URLSearchParams(location.search);
  const mine = new URLSearchParams(writeView(currentView()));
  for (const k of ['run', 'tab', 'color', 'scale', 'size', 'filters', 'hidden', 'sel', 'gallery', 'sample', 'view']) keep.delete(k);
  for (const [k, v] of mine) keep.set(k, v);
  const next = keep.toString();
  if (next !== location.search.slice(1)) history.replaceState(null, '', `${location.pathname}?${next}${location.hash}`);
}, 400);

/** Hooks for the end-to-end tests: where a dot is on screen, what is drawn. */
function testHooks() {
  return {
    ready: true,
    count: state().run.count,
    shown: () => state().shown,
    selection: () => state().selection,
    screenPosition: (i: number) => scatterplot.getScreenPosition(i),
    pointsDrawn: () => (scatterplot.get('points') as unknown[]).length,
    dotsDrawn: () => drawnCount(),
    dense: () => dense(),
    densityDrawTimes: () => densityDrawTimes(),
    camera: () => camera(),
    open: (i: number) => { scatterplot.select([i]); },
    compare: compareHooks(),
    layer: () => shownLayer(),
    showLayer: (name: string) => showLayer(name),
  };
}

function fail(e: unknown) {
  $('status').replaceChildren(el('span', { className: 'error', textContent: message(e) }));
}

(async () => {
  const runs = await source.runs();
  const view = readView(location.search);
  // percept serve A B --compare: A opens, compared with B (unless the address names a run).
  const pair = view.run ? null : await source.comparePair();
  let id = view.run && runs.some((r) => r.id === view.run) ? view.run : pair?.[0] ?? runs[0].id;
  if (!view.run && !pair) {
    // A training opens at its latest epoch.
    const first = await source.run(id);
    const latest = first.training?.runs.filter((r): r is string => r != null && runs.some((x) => x.id === r)).at(-1);
    if (latest) id = latest;
  }
  await loadRun(id, false, view);
  await restoreCompare(id, pair);
})().catch(fail);
