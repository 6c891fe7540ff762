// The legend of the colour field, by the kind of scale its values call for: categories with their counts and a toggle
// each; the steps of a small count field (each value, its count, a toggle); or the continuous ramp with its scale and
// values. Samples without a value are grey and counted, never drawn as the minimum.
import { categoryCounts } from '../filters/filters';
import type { Encoding } from '../map/map';
import { CONTINUOUS_STEPS, ramp } from '../map/scales';
import { field, state } from '../state';
import { $, el, formatNumber } from '../ui';

const scaleNotes: Record<string, string> = {
  rank: 'rank scale: each colour holds an equal share of the samples (values at the quartiles)',
  linear: 'linear scale',
  log: 'log scale: equal steps are equal ratios',
};

/** The colouring the legend shows (its steps give the counts' codes). */
let drawn: Encoding | null = null;

/** Draws the legend; `onToggle` runs after a category or step is switched on or off. */
export function renderLegend(encoding: Encoding, onToggle: () => void) {
  drawn = encoding;
  const s = state();
  const f = field(s.colorBy);
  const legend = $('legend');
  legend.dataset.field = f.name;
  legend.dataset.kind = encoding.kind;
  $('color-scale-box').hidden = encoding.kind !== 'continuous';
  const title = el('div', { className: 'legend-title', textContent: f.name });
  const missing = encoding.missing
    ? [el('div', { className: 'legend-item missing', title: 'samples without a value' }, el('span', { className: 'swatch missing' }),
      el('span', { className: 'legend-name', textContent: 'missing (grey)' }), el('span', { className: 'legend-count', textContent: encoding.missing.toLocaleString() }))]
    : [];
  if (encoding.kind === 'continuous') {
    const bar = el('div', { className: 'ramp' });
    bar.style.background = `linear-gradient(to right, ${ramp(9).join(', ')})`;
    const ticks = el('div', { className: 'ramp-ticks' }, ...encoding.ticks.map((t) => {
      // Whole numbers (ids, counts too wide for steps) without decimals.
      const tick = el('span', { textContent: Number.isInteger(t.value) && Math.abs(t.value) < 1e6 ? String(t.value) : formatNumber(t.value) });
      tick.style.left = `${100 * t.position}%`;
      return tick;
    }));
    const scale = el('div', { className: 'scale-note', textContent: scaleNotes[encoding.scale ?? 'linear'] + ` · ${CONTINUOUS_STEPS} colours` });
    scale.dataset.testid = 'legend-scale';
    legend.dataset.scale = encoding.scale ?? 'linear';
    legend.replaceChildren(title, bar, ticks, scale, ...missing);
    return;
  }
  legend.dataset.scale = encoding.kind;
  const names = encoding.kind === 'categorical' ? f.categories! : encoding.steps.map((v) => String(v));
  const items = names.map((name, k) => {
    const swatch = el('span', { className: 'swatch' + (encoding.kind === 'discrete' ? ' step' : '') });
    swatch.style.background = encoding.palette[k];
    const item = el('div', { className: 'legend-item' + (s.hidden.has(k) ? ' off' : ''), title: 'click to hide or show' },
      swatch, el('span', { className: 'legend-name', textContent: name, title: name }), el('span', { className: 'legend-count' }));
    item.dataset.category = String(k);
    item.dataset.testid = 'legend-item';
    item.addEventListener('click', () => {
      if (s.hidden.has(k)) s.hidden.delete(k); else s.hidden.add(k);
      item.classList.toggle('off');
      onToggle();
    });
    return item;
  });
  // Two columns for long lists of short names; names are never broken inside (a long one is cut, its title in full).
  const list = el('div', { className: 'legend-items' + (items.length > 12 || (items.length > 6 && names.every((n) => n.length <= 8)) ? ' columns' : '') }, ...items);
  const note = encoding.kind === 'discrete' ? [el('div', { className: 'scale-note', textContent: `steps: one colour per value, ${encoding.min} to ${encoding.max}` })] : [];
  if (encoding.kind === 'discrete') note[0].dataset.testid = 'legend-scale';
  legend.replaceChildren(title, list, ...note, ...missing);
  updateLegendCounts();
}

/** Each category's or step's count among the samples the filters pass ("n of total" while filters are on). */
export function updateLegendCounts() {
  const s = state();
  const f = field(s.colorBy);
  const legend = $('legend');
  const kind = legend.dataset.kind;
  if (kind !== 'categorical' && kind !== 'discrete') return;
  const values = s.columns.get(f.name);
  if (!values) return;
  const items = [...legend.querySelectorAll<HTMLElement>('.legend-item[data-category]')];
  // Steps of a count field: code k holds the value steps[0] + k.
  const min = kind === 'discrete' ? drawn?.steps[0] ?? 0 : 0;
  const codes = kind === 'discrete' ? values.map((v) => v - min) : values;
  const filtered = s.filters.length > 0;
  const all = categoryCounts(codes, items.length, null);
  const shown = filtered ? categoryCounts(codes, items.length, s.filterMask) : all;
  items.forEach((item) => {
    const k = Number(item.dataset.category);
    item.querySelector('.legend-count')!.textContent = filtered ? `${shown[k].toLocaleString()} of ${all[k].toLocaleString()}` : all[k].toLocaleString();
  });
}
