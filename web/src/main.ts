// The Percept dashboard: wires the panels together. Each feature lives in its own folder: map/ (the population map),
// legend/, filters/, selection/, details/ (one sample), analysis/ (heat maps), similar/ (Fetch Similar), and data/
// (one interface over the server's API or a report's embedded data).
import './style.css';
import { wireAnalysis, renderMethods } from './analysis/analysis';
import { isReport, source } from './data';
import { showDetails, wireDetails } from './details/details';
import { renderFilters } from './filters/panel';
import { renderLegend, updateLegendCounts } from './legend/legend';
import { draw, refilter, scatterplot } from './map/map';
import { normalizeMap } from './map/scales';
import { clearSelection, select, setSelection, wireSelection } from './selection/selection';
import { wireSimilar } from './similar/similar';
import { hideGallery, showGallery, wireGallery } from './gallery/gallery';
import { renderInsights } from './insights/insights';
import { renderTraining, wirePlay } from './training/training';
import { column, setState, state, type State } from './state';
import { $, el, message } from './ui';

let loaded: State | null = null;

async function loadRun(id: string, keepView: boolean) {
  const run = await source.run(id);
  if (!run.map) throw new Error(`run '${id}' has no map (analyse it with --map umap, pca or tsne)`);
  const map = await source.map(id);
  const { x, y } = normalizeMap(map.values, map.columns);
  const previous = keepView ? loaded : null;
  const s: State = {
    run, columns: new Map(), x, y,
    colorBy: previous?.colorBy ?? (run.fields.some((f) => f.name === 'loss') ? 'loss' : run.fields[0]?.name ?? ''),
    // Above 200,000 dots, one size for all by default: drawing is then cheapest.
    sizeBy: previous?.sizeBy ?? (run.fields.some((f) => f.name === 'loss') && run.count <= 200_000 ? 'loss' : 'none'),
    colorScale: previous?.colorScale ?? 'auto',
    hidden: previous?.hidden ?? new Set(), filters: previous?.filters ?? [],
    filterMask: new Uint8Array(run.count).fill(1), mask: new Uint8Array(run.count).fill(1), shown: run.count,
    selection: previous?.selection ?? [], current: previous?.current ?? null, ids: null,
  };
  if (!run.fields.some((f) => f.name === s.colorBy)) s.colorBy = run.fields[0]?.name ?? '';
  setState(s);
  loaded = s;
  await Promise.all(['label', 'prediction', 'correct', 'loss', 'confidence'].filter((n) => run.fields.some((f) => f.name === n)).map(column));
  $('run-title').textContent = `${run.id} · ${run.model} · ${run.count.toLocaleString()} samples` +
    (run.accuracy != null ? ` · accuracy ${(100 * run.accuracy).toFixed(2)}%` : '') + ` · ${run.map.method.toUpperCase()} map`;
  renderSelectors();
  renderMethods();
  renderFilters(filtersChanged);
  if (!previous) hideGallery();
  void renderInsights();
  await redraw(!!previous);
  if (s.current != null) await showDetails(s.current);
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
  renderTraining(s.run);
  if (isReport) document.title = `Percept report · ${s.run.id}`;
}

/** Draws the map and its legend with the current encodings. */
async function redraw(animate = false) {
  const encoding = await draw(animate);
  renderLegend(encoding, () => void refilter(true));
  (window as unknown as { perceptTest: unknown }).perceptTest = testHooks();
}

/** After a filter changed: the map, the counts and the legend's counts follow. */
async function filtersChanged() {
  await refilter(true);
  updateLegendCounts();
}

/** Opens a sample: selects its dot and shows its details. */
function open(i: number) {
  select([i]);
  void showDetails(i);
}

scatterplot.subscribe('select', ({ points }: { points: number[] }) => {
  setSelection(points);
  if (points.length === 1) void showDetails(points[0]);
  // A lasso selection: its samples in the gallery.
  else if (points.length > 1) showGallery('Selection', points);
});
scatterplot.subscribe('deselect', () => setSelection([]));

wireDetails(clearSelection);
wireAnalysis();
wireSimilar(open);
wireGallery((i) => void showDetails(i));
wireSelection(() => { renderFilters(filtersChanged); void filtersChanged(); });

$('color-by').addEventListener('change', async (e) => { state().colorBy = (e.target as HTMLSelectElement).value; state().hidden.clear(); await redraw(); });
$('color-scale').addEventListener('change', async (e) => { state().colorScale = (e.target as HTMLSelectElement).value as State['colorScale']; await redraw(); });
$('size-by').addEventListener('change', async (e) => { state().sizeBy = (e.target as HTMLSelectElement).value; await redraw(); });
$('checkpoint').addEventListener('change', (e) => void loadRun((e.target as HTMLSelectElement).value, true).catch(fail));
wirePlay(() => state().run, (id) => loadRun(id, true).catch(fail));
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
  await redraw();
});

/** Hooks for the end-to-end tests: where a dot is on screen, what is drawn. */
function testHooks() {
  return {
    ready: true,
    count: state().run.count,
    shown: () => state().shown,
    selection: () => state().selection,
    screenPosition: (i: number) => scatterplot.getScreenPosition(i),
    pointsDrawn: () => (scatterplot.get('points') as unknown[]).length,
    open: (i: number) => { scatterplot.select([i]); },
  };
}

function fail(e: unknown) {
  $('status').replaceChildren(el('span', { className: 'error', textContent: message(e) }));
}

(async () => {
  const runs = await source.runs();
  const wanted = new URLSearchParams(location.search).get('run');
  await loadRun(wanted && runs.some((r) => r.id === wanted) ? wanted : runs[0].id, false);
})().catch(fail);
