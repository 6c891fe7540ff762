// The confusion matrix, linked to the map: counts per (label, prediction) of the selection when there is one (a lasso,
// a card, a search), else of the samples the filters show; rows and columns in class order, counts or shares of each
// row. A click on a cell selects its samples, zooms to them and fills the gallery.
import { showGallery } from '../gallery/gallery';
import { follow, select } from '../selection/selection';
import { field, state } from '../state';
import { $, el } from '../ui';
import { confusion } from './counts';

let normalise = false;
/** The cell whose samples were selected from the matrix: the matrix then keeps its scope and marks that cell. */
let fromCell: { y: number; p: number; n: number; first: number; last: number } | null = null;

/** Draws the matrix of the current scope into the Matrix tab (a note instead when the run has no labels or predictions). */
export function renderConfusion() {
  const s = state();
  const box = $('confusion');
  const labels = s.columns.get('label'), predictions = s.columns.get('prediction');
  const classes = s.run.classes ?? field('label')?.categories ?? null;
  if (!labels || !predictions || !classes) {
    box.replaceChildren(el('p', { className: 'note', textContent: 'A confusion matrix needs labels and a model with class scores.' }));
    return;
  }
  const own = fromCell != null && s.selection.length === fromCell.n && s.selection[0] === fromCell.first && s.selection[s.selection.length - 1] === fromCell.last;
  if (!own) fromCell = null;
  const scoped = s.selection.length > 1 && !own;
  const m = confusion(labels, predictions, classes.length, scoped ? s.selection : null, s.mask);
  const total = m.reduce((a, row) => a + row.reduce((b, v) => b + v, 0), 0);
  const right = m.reduce((a, row, y) => a + row[y], 0);
  const largest = Math.max(1, ...m.flatMap((row, y) => row.filter((_, p) => p !== y)));
  const head = el('p', { className: 'matrix-scope' },
    el('strong', { textContent: scoped ? `The selection (${s.selection.length.toLocaleString()})` : s.shown < s.run.count ? `The ${s.shown.toLocaleString()} shown samples` : 'All samples' }),
    ` · ${total.toLocaleString()} labelled · accuracy ${total ? ((100 * right) / total).toFixed(2) : '–'}%`);
  const toggle = el('label', { className: 'inline' }, el('input', { type: 'checkbox', checked: normalise }), ' share of each row');
  toggle.querySelector('input')!.addEventListener('change', (e) => { normalise = (e.target as HTMLInputElement).checked; renderConfusion(); });
  const table = el('table', { className: 'matrix' });
  table.dataset.testid = 'confusion-matrix';
  table.append(el('tr', {}, el('th', { className: 'corner', textContent: 'label ↓ · predicted →' }),
    ...classes.map((c, p) => el('th', { className: 'col', textContent: String(p), title: `predicted ${c}` }))));
  m.forEach((row, y) => {
    const n = row.reduce((a, v) => a + v, 0);
    const tr = el('tr', {}, el('th', { className: 'row', textContent: classes[y], title: `${n.toLocaleString()} labelled ${classes[y]}` }));
    row.forEach((v, p) => {
      const share = n ? v / n : 0;
      const cell = el('td', { textContent: v === 0 ? '' : normalise ? `${Math.round(100 * share)}` : String(v), title: `${classes[y]} predicted as ${classes[p]}: ${v.toLocaleString()} (${(100 * share).toFixed(1)}% of the row)` });
      cell.dataset.testid = 'confusion-cell';
      cell.dataset.label = String(y); cell.dataset.prediction = String(p); cell.dataset.count = String(v);
      if (fromCell && fromCell.y === y && fromCell.p === p) cell.classList.add('active');
      // Errors in warm tones by their count against the largest error; the diagonal in cool tones by its row share.
      const strength = y === p ? share : Math.sqrt(v / largest);
      cell.style.background = v === 0 ? '' : y === p ? `rgba(78, 121, 167, ${0.12 + 0.5 * strength})` : `rgba(225, 87, 89, ${0.1 + 0.75 * strength})`;
      if (v > 0) {
        cell.classList.add('link');
        cell.addEventListener('click', () => {
          const scope = scoped ? s.selection : null;
          const picked: number[] = [];
          const take = (i: number) => { if (labels[i] === y && predictions[i] === p) picked.push(i); };
          if (scope) scope.forEach(take); else for (let i = 0; i < labels.length; i++) if (s.mask[i]) take(i);
          fromCell = { y, p, n: picked.length, first: picked[0], last: picked[picked.length - 1] };
          select(picked);
          follow(picked);
          showGallery(`label ${classes[y]} → predicted ${classes[p]}`, picked);
          renderConfusion();
        });
      }
      tr.append(cell);
    });
    table.append(tr);
  });
  const legend = el('p', { className: 'note', textContent: `Columns: ${classes.map((c, p) => `${p} ${c}`).join(' · ')}` });
  box.replaceChildren(head, toggle, table, legend);
}
