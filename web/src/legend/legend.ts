// The legend of the colour field: categories with their counts (of the samples the filters pass) and a toggle each,
// or the colour ramp with its scale and values.
import { categoryCounts } from '../filters/filters';
import type { Encoding } from '../map/map';
import { categoricalColors, ramp } from '../map/scales';
import { field, state } from '../state';
import { $, el, formatNumber } from '../ui';

/** Draws the legend; `onToggle` runs after a category is switched on or off. */
export function renderLegend(encoding: Encoding, onToggle: () => void) {
  const s = state();
  const f = field(s.colorBy);
  const legend = $('legend');
  legend.dataset.field = f.name;
  if (f.kind === 'categorical') {
    const colors = categoricalColors(f.categories!.length);
    const items = f.categories!.map((name, k) => {
      const item = el('div', { className: 'legend-item' + (s.hidden.has(k) ? ' off' : ''), title: 'click to hide or show' },
        el('span', { className: 'swatch' }), el('span', { className: 'legend-name', textContent: name }), el('span', { className: 'legend-count' }));
      (item.firstChild as HTMLElement).style.background = colors[k];
      item.dataset.category = String(k);
      item.addEventListener('click', () => {
        if (s.hidden.has(k)) s.hidden.delete(k); else s.hidden.add(k);
        item.classList.toggle('off');
        onToggle();
      });
      return item;
    });
    legend.replaceChildren(...items, ...(encoding.missing ? [el('div', { className: 'legend-item' }, `missing (${encoding.missing})`)] : []));
    updateLegendCounts();
  } else {
    const bar = el('div', { className: 'ramp' });
    bar.style.background = `linear-gradient(to right, ${ramp(9).join(', ')})`;
    const ticks = el('div', { className: 'ramp-ticks' }, ...encoding.ticks.map((t) => {
      const tick = el('span', { textContent: formatNumber(t.value) });
      tick.style.left = `${100 * t.position}%`;
      return tick;
    }));
    const scale = el('div', { className: 'scale-note', textContent: encoding.scale === 'rank'
      ? 'rank scale: each colour holds an equal share of the samples (values at the quartiles)'
      : 'linear scale' });
    scale.dataset.testid = 'legend-scale';
    legend.dataset.scale = encoding.scale;
    legend.replaceChildren(el('div', { textContent: f.name }), bar, ticks, scale,
      ...(encoding.missing ? [el('div', { textContent: `${encoding.missing} missing (drawn as the minimum)` })] : []));
  }
}

/** Each category's count among the samples the filters pass ("n of total" while filters are on). */
export function updateLegendCounts() {
  const s = state();
  const f = field(s.colorBy);
  if (f.kind !== 'categorical') return;
  const values = s.columns.get(f.name);
  if (!values) return;
  const filtered = s.filters.length > 0;
  const all = categoryCounts(values, f.categories!.length, null);
  const shown = filtered ? categoryCounts(values, f.categories!.length, s.filterMask) : all;
  document.querySelectorAll<HTMLElement>('#legend .legend-item[data-category]').forEach((item) => {
    const k = Number(item.dataset.category);
    item.querySelector('.legend-count')!.textContent = filtered ? ` (${shown[k].toLocaleString()} of ${all[k].toLocaleString()})` : ` (${all[k].toLocaleString()})`;
  });
}
