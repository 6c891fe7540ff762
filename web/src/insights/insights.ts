// The Insights tab: what Percept found in the run's perception vectors (docs/insights.md), grouped by kind (groups in the
// order of their most important card, cards ranked by impact within), each with its count and a line of evidence. The
// first cards (the document's primary ones) show; the rest sit behind "more". A click (or Enter) on a card selects its
// samples on the map, zooms to them, shows them in the gallery and opens the card: how sure Percept is, and the evidence
// behind its first samples. Arrow keys move between cards.
import { source, type InsightsDocument } from '../data';
import { showDetails } from '../details/details';
import { showGallery } from '../gallery/gallery';
import { follow, select } from '../selection/selection';
import { state } from '../state';
import { $, el, message } from '../ui';

type Card = InsightsDocument['insights'][number];

const kindLabel: Record<string, string> = {
  'suspected-mislabel': 'Suspected mislabels', ambiguous: 'Ambiguous samples', 'rare-variant': 'Rare variants', 'close-classes': 'Close classes',
  'near-duplicates': 'Near duplicates', leakage: 'Leakage', 'weak-cluster': 'Weak clusters', outliers: 'Outliers',
};

const pct = (v: unknown) => (Number.isFinite(Number(v)) ? `${(100 * Number(v)).toFixed(Number(v) < 0.1 ? 1 : 0)}%` : '–');

/** One line of a card's evidence, from what its kind records (docs/insights.md). */
export function evidenceSummary(card: Card): string {
  const e = card.evidence ?? {};
  const n = cardSamples(card).length;
  switch (card.kind) {
    case 'rare-variant':
      return `${e.count ?? n} samples in ${e.groups ?? '?'} group${e.groups === 1 ? '' : 's'} · ${pct(e.share_of_class)} of the class · accuracy ${pct(e.accuracy)}`;
    case 'close-classes':
      return `${pct(((Number(e.share_a_to_b) || 0) + (Number(e.share_b_to_a) || 0)) / 2)} of neighbours cross · ${e.confusions ?? '?'} confusions`;
    case 'weak-cluster':
      return `errors ${pct(e.error_rate)} against ${pct(e.population_error_rate)} overall · ${e.size ?? n} samples`;
    case 'near-duplicates': case 'leakage':
      return `${e.pairs ?? card.pairs?.length ?? '?'} pairs${e.exact_pairs ? ` (${e.exact_pairs} exact)` : ''}`;
    default:
      return `${n.toLocaleString()} sample${n === 1 ? '' : 's'}`;
  }
}

/** Samples whose evidence a card lists when open. */
const evidenceRows = 6;

/** The samples a card is about: its samples, or both members of each pair, without repeats. */
export const cardSamples = (card: Card) =>
  [...new Set([...card.samples.map((s) => s.index), ...(card.pairs ?? []).flatMap((p) => p.map((s) => s.index))])];

const percent = (v: number) => `${Math.round(v * 100)}%`;

/** "Shirt 7 · T-shirt/top 3" from the neighbours' labels, counted (a list: class names such as "0" keep their order). */
const neighbourLine = (v: unknown) =>
  ((v ?? []) as { class: string; count: number }[]).map((n) => `${n.class} ${n.count}`).join(' · ');

const fixed = (v: unknown, digits = 2) => (Number.isFinite(Number(v)) ? Number(v).toFixed(digits) : '–');

/** One line of a sample's evidence: what its neighbours carry, what the model says, what its training said. */
function evidenceLine(e: Record<string, unknown>) {
  const parts = [`neighbours: ${neighbourLine(e.neighbors) || 'none labelled'}`];
  const m = e.model as { label: string; label_probability: number; perceived: string; perceived_probability: number } | undefined;
  if (m) parts.push(`model: ${m.label} (label) ${fixed(m.label_probability)} · ${m.perceived} ${fixed(m.perceived_probability)}`);
  const h = e.history as Record<string, number> | undefined;
  if (h) parts.push(`training: mean margin ${fixed(h.mean_margin)}${h.mean_neighbor_agreement != null ? `, neighbours agreeing ${percent(Number(h.mean_neighbor_agreement))}` : ''}`);
  return parts.join('; ');
}

/** What an open card shows under its title. */
function cardBody(card: Card, samples: number[]) {
  const body = el('div', { className: 'insight-body' });
  body.append(el('p', { className: 'insight-action', textContent: `→ ${card.action}` }));
  const described = card.samples.filter((s) => s.evidence).slice(0, evidenceRows);
  if (described.length) {
    const list = el('ul', { className: 'insight-evidence' });
    list.dataset.testid = 'insight-evidence';
    for (const s of described) {
      const e = s.evidence!;
      const open = el('button', { type: 'button', className: 'link', textContent: `#${s.index}`, title: `open sample ${s.id}` });
      open.addEventListener('click', (ev) => { ev.stopPropagation(); void showDetails(s.index); });
      list.append(el('li', {}, open, ` ${e.verdict === 'clear' ? 'clear' : 'split'}, label_issue ${fixed(e.label_issue)}: ${evidenceLine(e)}`));
    }
    if (card.samples.length > described.length) list.append(el('li', { className: 'note', textContent: `…and ${card.samples.length - described.length} more in the gallery` }));
    body.append(list);
  }
  if (card.typical?.length) {
    const typical = card.typical.map((t) => t.index);
    const compare = el('button', { type: 'button', textContent: `Beside typical ${card.classes[0] ?? 'samples'}` , title: 'the pocket first, then typical samples of its class' });
    compare.addEventListener('click', (ev) => {
      ev.stopPropagation();
      select([...samples, ...typical]);
      // The pocket first, then its class's typical samples: the order is the point.
      showGallery(`${card.title}, then ${typical.length} typical ${card.classes[0] ?? ''}`, [...samples, ...typical], true);
    });
    body.append(compare);
  }
  return body;
}

function cardItem(card: Card, list: HTMLElement) {
  const samples = cardSamples(card);
  const item = el('div', { className: `insight ${card.severity}` });
  const line = el('span', { className: 'insight-line' }, el('span', { className: 'insight-evidence-line', textContent: evidenceSummary(card) }));
  const head = el('button', { type: 'button', className: 'insight-head', title: card.action },
    el('span', { className: 'insight-title', textContent: card.title }), line);
  if (card.precision != null) {
    const sure = el('span', { className: 'insight-precision', textContent: `≈${percent(card.precision)} right`, title: 'estimated share of these samples that are what the card says (docs/insights.md)' });
    sure.dataset.testid = 'insight-precision';
    line.prepend(sure);
  }
  item.dataset.testid = 'insight';
  item.dataset.kind = card.kind;
  item.dataset.impact = String(card.impact ?? 0);
  head.disabled = samples.length === 0;
  item.toggleAttribute('disabled', head.disabled);
  head.addEventListener('click', () => {
    const wasOpen = item.classList.contains('active');
    list.querySelectorAll('.insight.active').forEach((x) => { x.classList.remove('active'); x.querySelector('.insight-body')?.remove(); });
    select(samples);
    follow(samples);
    showGallery(card.title, samples);
    if (!wasOpen) { item.classList.add('active'); item.append(cardBody(card, samples)); }
  });
  item.append(head);
  return item;
}

/** The cards in groups by kind: groups in the order of their first (most important) card, cards in the order given. */
function groups(cards: Card[]): { kind: string; cards: Card[] }[] {
  const out = new Map<string, Card[]>();
  for (const c of cards) { if (!out.has(c.kind)) out.set(c.kind, []); out.get(c.kind)!.push(c); }
  return [...out].map(([kind, cs]) => ({ kind, cards: cs }));
}

/** Draws the run's cards; resolves to whether the run has insights. */
export async function renderInsights(): Promise<boolean> {
  const s = state();
  const list = $('insights');
  list.replaceChildren(el('p', { className: 'note', textContent: 'Loading…' }));
  let doc: InsightsDocument | null;
  $('insights-count').textContent = '';
  try { doc = await source.insights(s.run.id); } catch (e) { list.replaceChildren(el('p', { className: 'error', textContent: message(e) })); return false; }
  if (state() !== s) return doc != null;
  if (!doc) {
    list.replaceChildren(el('p', { className: 'note', textContent: `No insights in this run yet: percept insights on the run folder computes them.` }));
    return false;
  }
  // Documents before version 2 have no ranking: every card is shown.
  const ranked = doc.insights.some((c) => c.primary !== undefined);
  const byImpact = [...doc.insights].sort((a, b) => (b.impact ?? 0) - (a.impact ?? 0));
  const cards = ranked ? byImpact : doc.insights;
  const primary = new Set(ranked ? cards.filter((c) => c.primary) : cards);
  const head = doc.label_issues
    ? [el('p', { className: 'insight-summary', textContent: `About ${Math.round(doc.label_issues.estimated_issues)} label errors estimated (evidence: ${doc.label_issues.basis}).` })] : [];
  const sections = groups(cards).map((g) => {
    const section = el('section', { className: 'insight-group' });
    section.dataset.kind = g.kind;
    section.dataset.testid = 'insight-group';
    const samples = new Set(g.cards.flatMap(cardSamples)).size;
    section.append(el('h4', { className: 'insight-group-head' }, kindLabel[g.kind] ?? g.kind,
      el('span', { className: 'count', textContent: `${g.cards.length} card${g.cards.length === 1 ? '' : 's'} · ${samples.toLocaleString()} samples` })));
    for (const c of g.cards) {
      const item = cardItem(c, list);
      if (!primary.has(c)) item.hidden = true;
      section.append(item);
    }
    section.hidden = !g.cards.some((c) => primary.has(c));
    return section;
  });
  const rest = cards.length - primary.size;
  const more = rest ? [moreToggle(rest, list)] : [];
  const notes = doc.notes.map((n) => el('p', { className: 'note', textContent: n }));
  const proximity = doc.class_proximity && Number.isFinite(doc.class_proximity.spearman)
    ? [el('p', { className: 'note', textContent: `Class proximity predicts confusion: Spearman ${doc.class_proximity.spearman.toFixed(2)} over pairs of classes.` })] : [];
  const nothing = doc.insights.length ? [] : [el('p', { className: 'note', textContent: 'Nothing stands out.' })];
  $('insights-count').textContent = String(doc.insights.length);
  list.replaceChildren(...head, ...sections, ...nothing, ...more, ...proximity, ...notes);
  list.dataset.ready = 'true';
  return true;
}

/** "N more cards": shows the cards of less impact in their groups. */
function moreToggle(rest: number, list: HTMLElement) {
  const box = el('div', { className: 'insight-more' });
  const button = el('button', { type: 'button', className: 'link', textContent: `${rest} more card${rest === 1 ? '' : 's'} of less impact` });
  button.dataset.testid = 'insights-more';
  button.addEventListener('click', () => {
    box.remove();
    list.querySelectorAll<HTMLElement>('.insight-group, .insight').forEach((e) => { e.hidden = false; });
  });
  box.append(button);
  return box;
}

/** Arrow keys (and j / k) move between the cards shown; Enter or Space opens one (they are buttons). */
export function wireInsightKeys() {
  const list = $('insights');
  list.addEventListener('keydown', (e) => {
    const down = e.key === 'ArrowDown' || e.key === 'j', up = e.key === 'ArrowUp' || e.key === 'k';
    if (!down && !up) return;
    const heads = [...list.querySelectorAll<HTMLButtonElement>('.insight-head')].filter((h) => h.offsetParent !== null && !h.disabled);
    if (!heads.length) return;
    const at = heads.indexOf(document.activeElement as HTMLButtonElement);
    const next = heads[Math.max(0, Math.min(heads.length - 1, at < 0 ? 0 : at + (down ? 1 : -1)))];
    e.preventDefault();
    next.focus();
    next.scrollIntoView({ block: 'nearest' });
  });
}
