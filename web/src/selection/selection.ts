// The selection: what a click, a lasso or Fetch Similar picked, exported as CSV or made a filter.
import { source } from '../data';
import { selectionCsv } from '../filters/filters';
import { scatterplot } from '../map/map';
import { state, value, valueText } from '../state';
import { $, el } from '../ui';

/** Records the selection and updates its controls (the map's own highlight is the caller's). */
export function setSelection(points: number[]) {
  state().selection = points;
  $('selection-info').textContent = points.length === 0 ? 'Click a dot, or lasso a group.' : `${points.length.toLocaleString()} selected`;
  $<HTMLButtonElement>('export-selection').disabled = points.length === 0;
  $<HTMLButtonElement>('filter-selection').disabled = points.length < 2;
}

/** Clears the selection on the map and in the controls. */
export function clearSelection() {
  scatterplot.deselect({ preventEvent: true });
  setSelection([]);
}

/** Selects `points` on the map and in the controls. */
export function select(points: number[]) {
  scatterplot.select(points, { preventEvent: true });
  setSelection(points);
}

/** Wires the selection's buttons; `onFilter` runs after "Filter to selection". */
export function wireSelection(onFilter: () => void) {
  $('filter-selection').addEventListener('click', () => {
    const s = state();
    s.filters = s.filters.filter((x) => x.kind !== 'indices');
    s.filters.push({ kind: 'indices', name: 'selection', indices: new Set(s.selection) });
    onFilter();
  });
  $('export-selection').addEventListener('click', async () => {
    const s = state();
    s.ids ??= await source.ids(s.run.id);
    const extra = ['label', 'prediction'].filter((n) => s.columns.has(n)).map((n) => ({ name: n, value: (i: number) => valueText(n, i) }));
    if (s.columns.has('loss')) extra.push({ name: 'loss', value: (i: number) => String(value('loss', i)) });
    const csv = selectionCsv(s.selection, s.ids, extra);
    const a = el('a', { href: URL.createObjectURL(new Blob([csv], { type: 'text/csv' })), download: `${s.run.id}-selection.csv` });
    document.body.append(a); a.click(); a.remove();
  });
}
