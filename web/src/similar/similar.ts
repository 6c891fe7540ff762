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

/** Requests made: an answer to an older one is dropped. */
let requests = 0;

async function fetchSimilar(open: (i: number) => void) {
  const s = state();
  if (s.current == null) return;
  const sample = s.current;
  const k = Math.max(1, Math.min(200, Number($<HTMLInputElement>('k').value) || 12));
  const grid = $('similar');
  grid.replaceChildren(el('span', { textContent: 'Searching…' }));
  $('similar-note').hidden = true;
  try {
    // The overlay picker shows only where there is a choice (an image model with a convolution); else the server's default.
    const picker = $<HTMLSelectElement>('similar-overlay');
    const overlay = picker.hidden ? undefined : picker.value as 'gradcam' | 'gradient';
    const asked = ++requests;
    const result = await source.similar(s.run.id, sample, k, overlay);
    if (asked !== requests) return;
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
    const note = $('similar-note');
    note.hidden = !source.similarHeatmaps;
    note.textContent = s.run.text
      ? 'Each neighbour\'s words are scored by what makes the model see it as like this sample (gradient × embedding of their perception vectors\' cosine). Warm: more alike; blue: less alike.'
      : result.overlay === 'gradcam'
        ? 'Overlay: the regions of each neighbour that make the model see it as like this sample — a coarse map at the last convolution (Grad-CAM of their perception vectors\' cosine). Warm: more alike. Each map is scaled to its own strongest value.'
        : 'Overlay: what in each neighbour makes the model see it as like this sample, pixel by pixel (gradient × input of their perception vectors\' cosine). Warm: regions that make it more alike; blue: less alike. Each map is scaled to its own strongest value.';
    note.dataset.overlay = result.overlay ?? '';
    select([sample, ...result.neighbors.map((n) => n.index)], 'sample');
  } catch (e) {
    grid.replaceChildren(el('span', { className: 'error', textContent: message(e) }));
  }
}

/** Wires the button; `open` shows a neighbour's details. */
export function wireSimilar(open: (i: number) => void) {
  $('fetch-similar').addEventListener('click', () => void fetchSimilar(open));
  // Another overlay for the neighbours on show: fetch them again.
  $('similar-overlay').addEventListener('change', () => { if ($('similar').querySelector('[data-testid=similar-card]')) void fetchSimilar(open); });
  onSampleChange(() => { $('similar').replaceChildren(); $('similar-note').hidden = true; });
}
