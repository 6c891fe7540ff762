// The gallery, docked below the map: a grid of samples (an insight card's, a lasso selection, a search, or the samples
// the filters show) with label → prediction and loss, sortable; each opens the details pane. Arrow keys move through it,
// Enter opens the focused sample, Escape closes it.
import { rel, source } from '../data';
import { column, state, value, valueText } from '../state';
import { snippet } from '../text/text';
import { isOpen, showPane } from '../layout/layout';
import { $, el, formatNumber } from '../ui';

/** Most thumbnails drawn at once: the rest are counted, and reached by sorting. */
const MAX_CARDS = 240;

let current: { title: string; indices: number[] } | null = null;
let openSample: (i: number) => void = () => {};

/** The sort orders the run's fields allow. */
function sorts(): { key: string; label: string }[] {
  const s = state();
  const has = (f: string) => s.run.fields.some((x) => x.name === f);
  return [
    ...(has('loss') ? [{ key: 'loss', label: 'loss, highest first' }] : []),
    ...(has('label_issue') ? [{ key: 'label_issue', label: 'label issue, highest first' }] : []),
    ...(has('confidence') ? [{ key: 'confidence', label: 'confidence, lowest first' }] : []),
    ...(has('outlier_score') ? [{ key: 'outlier_score', label: 'outlier score, highest first' }] : []),
    { key: 'given', label: 'as listed' },
    { key: 'index', label: 'index' },
  ];
}

async function sortedIndices(indices: number[], key: string): Promise<number[]> {
  if (key === 'given') return indices;
  if (key === 'index') return [...indices].sort((a, b) => a - b);
  await column(key);
  const v = (i: number) => { const x = value(key, i); return x === undefined || Number.isNaN(x) ? -Infinity : x; };
  return [...indices].sort((a, b) => (key === 'confidence' ? v(a) - v(b) : v(b) - v(a)));
}

/**
 * "Shirt → T-shirt/top", each class name kept on one line (a caption breaks at the arrow, never inside a name); the label
 * alone where there is no prediction (a model without class scores).
 */
function caption(label: string | null, prediction: string | null) {
  const name = (text: string | null) => el('span', { className: 'nowrap', textContent: text ?? '—' });
  return prediction == null ? el('div', { className: 'caption' }, name(label))
    : el('div', { className: 'caption' }, name(label), ' → ', name(prediction));
}

let focused = -1;

async function render() {
  if (!current) return;
  const s = state();
  showPane('gallery', true);
  const order = $<HTMLSelectElement>('gallery-sort').value || 'given';
  const indices = await sortedIndices(current.indices, order);
  const shown = indices.slice(0, MAX_CARDS);
  const n = current.indices.length;
  $('gallery-title').textContent = current.title;
  $('gallery-title').title = current.title;
  // The count, unless the title already says it (a card's title often does).
  const says = new RegExp(`\\b${n.toLocaleString().replace(/,/g, ',?')} samples?\\b`).test(current.title);
  $('gallery-count').textContent = (says ? '' : `${n.toLocaleString()} sample${n === 1 ? '' : 's'}`) +
    (indices.length > MAX_CARDS ? `${says ? '' : ' · '}first ${MAX_CARDS} shown` : '');
  const grid = $('gallery-grid');
  focused = -1;
  grid.replaceChildren(...shown.map((i) => {
    const label = s.columns.has('label') ? valueText('label', i) : null;
    const prediction = s.columns.has('prediction') ? valueText('prediction', i) : null;
    const loss = value('loss', i);
    const wrong = s.columns.has('correct') && value('correct', i) === 0;
    const preview = s.run.text ? el('div', { className: 'gallery-text', textContent: '…' }) : el('img', { src: rel(source.image(s.run.id, i, 96)), alt: `sample ${i}`, loading: 'lazy' });
    if (s.run.text) void source.sample(s.run.id, i).then((d) => { preview.textContent = snippet(d.tokens ?? [], 10); }).catch(() => {});
    const card = el('div', { className: 'gallery-card' + (wrong ? ' wrong' : ''), title: `open sample ${i}` }, preview,
      el('div', { textContent: `#${i}` }),
      ...(label != null || prediction != null ? [caption(label, prediction)] : []),
      ...(loss !== undefined && !Number.isNaN(loss) ? [el('div', { textContent: `loss ${formatNumber(loss)}` })] : []));
    card.dataset.testid = 'gallery-card';
    card.dataset.sample = String(i);
    card.setAttribute('role', 'option');
    card.addEventListener('click', () => { focus([...grid.children].indexOf(card)); openSample(i); });
    return card;
  }));
}

/** Marks the k-th card as the keyboard's (and scrolls it into view). */
function focus(k: number) {
  const cards = [...$('gallery-grid').children] as HTMLElement[];
  if (!cards.length) return;
  k = Math.max(0, Math.min(cards.length - 1, k));
  cards[focused]?.classList.remove('focused');
  cards[focused]?.setAttribute('aria-selected', 'false');
  focused = k;
  cards[k].classList.add('focused');
  cards[k].setAttribute('aria-selected', 'true');
  cards[k].scrollIntoView({ block: 'nearest' });
}

/** Shows `indices` in the gallery under `title`, in the order given until the user sorts (`asListed`: whatever order was chosen before). */
export function showGallery(title: string, indices: number[], asListed = false) {
  current = { title, indices };
  const sort = $<HTMLSelectElement>('gallery-sort');
  const options = sorts();
  if (![...sort.options].some((o) => o.value === sort.value) || sort.options.length !== options.length)
    sort.replaceChildren(...options.map((o) => el('option', { value: o.key, textContent: o.label })));
  if (asListed || !options.some((o) => o.key === sort.value)) sort.value = 'given';
  void render();
}

export function hideGallery() {
  current = null;
  showPane('gallery', false);
}

/** The gallery's title while it is open and shows `selection` (the address restores a gallery from the selection), else null. */
export function galleryTitle(selection: number[]): string | null {
  if (!current || !isOpen('gallery') || current.indices.length !== selection.length) return null;
  const chosen = new Set(selection);
  return current.indices.every((i) => chosen.has(i)) ? current.title : null;
}

/** Wires the gallery's controls; `open` shows a sample's details. */
export function wireGallery(open: (i: number) => void) {
  openSample = open;
  $('gallery-sort').addEventListener('change', () => void render());
  $('close-gallery').addEventListener('click', hideGallery);
  const grid = $('gallery-grid');
  grid.addEventListener('keydown', (e) => {
    const cards = [...grid.children] as HTMLElement[];
    if (!cards.length) return;
    // Cards per row, from where the cards sit.
    const top = cards[0].offsetTop;
    const perRow = Math.max(1, cards.findIndex((c) => c.offsetTop !== top) < 0 ? cards.length : cards.findIndex((c) => c.offsetTop !== top));
    const step: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -cards.length, End: cards.length };
    if (e.key in step) { e.preventDefault(); focus(focused < 0 ? 0 : focused + step[e.key]); }
    else if (e.key === 'Enter' && focused >= 0) { e.preventDefault(); openSample(Number(cards[focused].dataset.sample)); }
    else if (e.key === 'Escape') { e.preventDefault(); hideGallery(); }
  });
  $('gallery-shown').addEventListener('click', () => {
    const s = state();
    const shown: number[] = [];
    for (let i = 0; i < s.run.count; i++) if (s.mask[i]) shown.push(i);
    showGallery(s.filters.length || s.hidden.size ? 'Filtered samples' : 'All samples', shown);
  });
}
