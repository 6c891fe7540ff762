// Fetch Similar: the samples nearest to the open one in perception space, each with what makes it similar.
import { rel, source } from '../data';
import { onSampleChange } from '../details/details';
import { select } from '../selection/selection';
import { state } from '../state';
import { tokensView } from '../text/text';
import { $, el, formatNumber, message } from '../ui';

/** The heat maps' colours (blue → transparent → warm) for a neighbour's words, which come without a colour bar. */
const COLOURS = ['rgba(33, 102, 172, 0.85)', 'rgba(67, 147, 195, 0.6)', 'rgba(146, 197, 222, 0.35)', 'rgba(255, 255, 255, 0)',
  'rgba(253, 219, 199, 0.35)', 'rgba(244, 165, 130, 0.6)', 'rgba(214, 96, 77, 0.85)'];

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
      const card = el('div', { className: n.tokens ? 'card text' : 'card', title: 'open this sample' },
        n.tokens
          ? tokensView(n.tokens, n.tokenScores, undefined, n.tokenScores ? COLOURS : undefined)
          : el('div', { className: 'stack' }, el('img', { src: rel(n.image), alt: `sample ${n.index}`, loading: 'lazy' }),
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
