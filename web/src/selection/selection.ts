// The selection: what a click, a lasso, a card, a search or Fetch Similar picked; zoomed to, exported as CSV, made a
// filter, or saved under a name (kept in the browser for runs of the same samples, exportable as JSON with sample ids).
import { source } from '../data';
import { selectionCsv } from '../filters/filters';
import { scatterplot, zoomTo } from '../map/map';
import { decodeIndices, encodeIndices } from '../url/url';
import { state, value, valueText } from '../state';
import { $, el, icon } from '../ui';

/** Records the selection and updates its controls (the map's own highlight is the caller's). */
export function setSelection(points: number[], from?: 'sample' | 'group') {
  if (from) origin = from;
  state().selection = points;
  $('selection-info').textContent = points.length === 0 ? 'Click a dot, or lasso a group.' : `${points.length.toLocaleString()} selected`;
  $('selection-count').textContent = points.length ? points.length.toLocaleString() : '';
  $<HTMLButtonElement>('export-selection').disabled = points.length === 0;
  $<HTMLButtonElement>('zoom-selection').disabled = points.length === 0;
  $<HTMLButtonElement>('save-selection-button').disabled = points.length === 0;
  $<HTMLButtonElement>('filter-selection').disabled = points.length < 2;
  selectionListeners.forEach((f) => f());
}

const selectionListeners: (() => void)[] = [];
/** Runs after every change of the selection (the confusion matrix follows it). */
export const onSelectionChange = (f: () => void) => selectionListeners.push(f);

/** Clears the selection on the map and in the controls. */
export function clearSelection() {
  scatterplot.deselect({ preventEvent: true });
  setSelection([]);
}

/** Where the selection came from: one sample opened (its dot, or it and its similar samples), or a group. */
let origin: 'sample' | 'group' = 'group';

/** Whether the selection belongs to the open sample (closing the sample then clears it). */
export const selectionOfSample = () => origin === 'sample';

/**
 * Selects `points` on the map and in the controls. The map gets a copy: regl-scatterplot keeps the array it is given
 * and cuts the dots it does not draw out of it.
 */
export function select(points: number[], from: 'sample' | 'group' = 'group') {
  origin = from;
  scatterplot.select([...points], { preventEvent: true });
  setSelection([...points]);
}

/** Zooms the map to a new selection when "zoom to selections" is on (cards, searches, gallery picks, saved selections). */
export function follow(points: number[]) {
  if ($<HTMLInputElement>('follow-selection').checked && points.length) void zoomTo(points);
}

type Saved = { name: string; run: string; count: number; indices: string; created: string };
const KEY = 'percept.selections';

function readSaved(): Saved[] {
  try { return JSON.parse(localStorage.getItem(KEY) ?? '[]') as Saved[]; } catch { return []; }
}
function writeSaved(all: Saved[]) {
  try { localStorage.setItem(KEY, JSON.stringify(all)); } catch { $('selection-info').textContent = 'cannot save: the browser keeps no storage for this page'; }
}

/** The saved selections that fit this run: those saved on a run of as many samples (its epochs, its checkpoints, itself). */
const fitting = () => readSaved().filter((x) => x.count === state().run.count);

let showSelection: (title: string, points: number[]) => void = () => {};

/** Lists the saved selections of this run's samples: a click selects one and shows it in the gallery. */
export function renderSaved() {
  const list = $('saved-selections');
  const saved = fitting();
  list.replaceChildren(...saved.map((x) => {
    const n = decodeIndices(x.indices).length;
    const name = el('button', { type: 'button', className: 'link name', textContent: x.name, title: `select these ${n} samples (saved on ${x.run})` });
    name.addEventListener('click', () => {
      const points = decodeIndices(x.indices).filter((i) => i < state().run.count);
      select(points);
      follow(points);
      showSelection(x.name, points);
    });
    const remove = el('button', { type: 'button', className: 'icon-button', title: `forget '${x.name}'` }, icon('trash', `forget ${x.name}`));
    remove.addEventListener('click', () => { writeSaved(readSaved().filter((y) => !(y.name === x.name && y.count === x.count && y.created === x.created))); renderSaved(); });
    const item = el('li', {}, name, el('span', { className: 'muted', textContent: n.toLocaleString() }), remove);
    item.dataset.testid = 'saved-selection';
    return item;
  }));
  $('export-saved').hidden = saved.length === 0;
}

function download(name: string, text: string, type: string) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a); a.click(); a.remove();
}

/** Wires the selection's buttons; `onFilter` runs after "Filter to selection"; `show` puts a saved selection in the gallery. */
export function wireSelection(onFilter: () => void, show: (title: string, points: number[]) => void) {
  showSelection = show;
  $('filter-selection').addEventListener('click', () => {
    const s = state();
    s.filters = s.filters.filter((x) => x.kind !== 'indices');
    s.filters.push({ kind: 'indices', name: 'selection', indices: new Set(s.selection) });
    onFilter();
  });
  $('zoom-selection').addEventListener('click', () => void zoomTo(state().selection));
  $('export-selection').addEventListener('click', async () => {
    const s = state();
    s.ids ??= await source.ids(s.run.id);
    const extra = ['label', 'prediction'].filter((n) => s.columns.has(n)).map((n) => ({ name: n, value: (i: number) => valueText(n, i) }));
    if (s.columns.has('loss')) extra.push({ name: 'loss', value: (i: number) => String(value('loss', i)) });
    download(`${s.run.id}-selection.csv`, selectionCsv(s.selection, s.ids, extra), 'text/csv');
  });
  $('save-selection').addEventListener('submit', (e) => {
    e.preventDefault();
    const s = state();
    if (!s.selection.length) return;
    const input = $<HTMLInputElement>('selection-name');
    const name = input.value.trim() || `selection ${fitting().length + 1}`;
    const others = readSaved().filter((x) => !(x.name === name && x.count === s.run.count));
    writeSaved([...others, { name, run: s.run.id, count: s.run.count, indices: encodeIndices(s.selection), created: new Date().toISOString() }]);
    input.value = '';
    renderSaved();
  });
  $('export-saved').addEventListener('click', async () => {
    const s = state();
    s.ids ??= await source.ids(s.run.id);
    const ids = s.ids;
    const out = fitting().map((x) => {
      const indices = decodeIndices(x.indices);
      return { name: x.name, run: x.run, created: x.created, count: indices.length, indices, ids: indices.map((i) => ids[i] ?? String(i)) };
    });
    download(`${s.run.id}-selections.json`, JSON.stringify({ run: s.run.id, samples: s.run.count, selections: out }, null, 1) + '\n', 'application/json');
  });
}
