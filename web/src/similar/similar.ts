// Fetch Similar: the samples nearest to the open one in perception space, each with what makes it similar.
import { rel, source } from '../data';
import { onSampleChange } from '../details/details';
import { select } from '../selection/selection';
import { state } from '../state';
import { $, el, formatNumber, message } from '../ui';

async function fetchSimilar(open: (i: number) => void) {
  const s = state();
  if (s.current == null) return;
  const sample = s.current;
  const k = Math.max(1, Math.min(200, Number($<HTMLInputElement>('k').value) || 12));
  const grid = $('similar');
  grid.replaceChildren(el('span', { textContent: 'Searching…' }));
  $('similar-note').hidden = true;
  try {
    const result = await source.similar(s.run.id, sample, k);
    if (s.current !== sample) return;
    grid.replaceChildren(...result.neighbors.map((n) => {
      const card = el('div', { className: 'card', title: 'open this sample' },
        el('div', { className: 'stack' }, el('img', { src: rel(n.image), alt: `sample ${n.index}`, loading: 'lazy' }),
          el('img', { className: 'overlay', src: rel(n.heatmap), alt: 'what makes it similar', loading: 'lazy' })),
        el('div', { textContent: `#${n.index} · sim ${n.similarity.toFixed(3)}` }),
        el('div', { textContent: `${n.values.label_name ?? '—'} → ${n.values.prediction_name ?? '—'}` }),
        el('div', { textContent: n.values.loss != null ? `loss ${formatNumber(Number(n.values.loss))}` : '' }));
      card.dataset.testid = 'similar-card';
      card.addEventListener('click', () => open(n.index));
      return card;
    }));
    $('similar-note').hidden = !source.similarHeatmaps;
    select([sample, ...result.neighbors.map((n) => n.index)]);
  } catch (e) {
    grid.replaceChildren(el('span', { className: 'error', textContent: message(e) }));
  }
}

/** Wires the button; `open` shows a neighbour's details. */
export function wireSimilar(open: (i: number) => void) {
  $('fetch-similar').addEventListener('click', () => void fetchSimilar(open));
  onSampleChange(() => { $('similar').replaceChildren(); $('similar-note').hidden = true; });
}
