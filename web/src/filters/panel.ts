// The filter controls: a list per categorical field, a range of any numeric field, and the selection filter.
import { column, field, state } from '../state';
import { $, el, formatNumber } from '../ui';

/** Draws the filter controls; `onChange` runs after any filter changes. */
export function renderFilters(onChange: () => void) {
  const s = state();
  const box = $('filters');
  box.replaceChildren();
  for (const f of s.run.fields.filter((f) => f.kind === 'categorical' && f.categories!.length >= 2 && f.categories!.length <= 64)) {
    const sel = el('select', { multiple: true, size: Math.min(6, f.categories!.length) });
    sel.dataset.testid = `filter-${f.name}`;
    f.categories!.forEach((c, k) => sel.append(el('option', { value: String(k), textContent: c })));
    const existing = s.filters.find((x) => x.kind === 'categories' && x.field === f.name);
    if (existing && existing.kind === 'categories') for (const o of sel.options) o.selected = existing.allowed.has(Number(o.value));
    sel.addEventListener('change', async () => {
      s.filters = s.filters.filter((x) => !(x.kind === 'categories' && x.field === f.name));
      const allowed = new Set([...sel.selectedOptions].map((o) => Number(o.value)));
      if (allowed.size) { await column(f.name); s.filters.push({ kind: 'categories', field: f.name, allowed }); }
      onChange();
    });
    box.append(el('div', { className: 'filter' }, el('label', { textContent: f.name }), sel));
  }
  const numeric = s.run.fields.filter((f) => f.kind === 'numeric');
  if (numeric.length) {
    const which = el('select');
    numeric.forEach((f) => which.append(el('option', { value: f.name, textContent: f.name })));
    which.value = numeric.some((f) => f.name === 'loss') ? 'loss' : numeric[0].name;
    const lo = el('input', { type: 'number', step: 'any', placeholder: 'min' });
    const hi = el('input', { type: 'number', step: 'any', placeholder: 'max' });
    lo.dataset.testid = 'range-min'; hi.dataset.testid = 'range-max';
    // The field this control last filtered: its range is replaced (other fields' ranges, from the charts, stay).
    let filtered = which.value;
    const update = async () => {
      s.filters = s.filters.filter((x) => !(x.kind === 'range' && (x.field === filtered || x.field === which.value)));
      filtered = which.value;
      const min = lo.value === '' ? null : Number(lo.value), max = hi.value === '' ? null : Number(hi.value);
      if (min !== null || max !== null) { await column(which.value); s.filters.push({ kind: 'range', field: which.value, min, max }); }
      onChange();
    };
    const hint = el('div', { className: 'ramp-labels' });
    const showRange = () => hint.replaceChildren(el('span', { textContent: formatNumber(field(which.value).min ?? 0) }), el('span', { textContent: formatNumber(field(which.value).max ?? 0) }));
    showRange();
    which.addEventListener('change', () => { showRange(); void update(); });
    lo.addEventListener('change', update); hi.addEventListener('change', update);
    box.append(el('div', { className: 'filter' }, el('label', { textContent: 'range of' }), which, el('div', { className: 'row' }, lo, hi), hint));
  }
  const sel = s.filters.find((x) => x.kind === 'indices');
  if (sel && sel.kind === 'indices') box.append(el('div', { className: 'filter', textContent: `${sel.name}: ${sel.indices.size} samples` }));
}
