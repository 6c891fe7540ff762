// The Insights panel: what Percept found in the run's perception vectors (docs/insights.md), ranked by impact. The first
// cards (the document's primary ones) show; the rest sit behind "more". A click on a card selects its samples on the map,
// shows them in the gallery and opens the card: how sure Percept is, and the evidence behind its first samples.
import { source, type InsightsDocument } from '../data';
import { showDetails } from '../details/details';
import { showGallery } from '../gallery/gallery';
import { select } from '../selection/selection';
import { state } from '../state';
import { $, el, message } from '../ui';

type Card = InsightsDocument['insights'][number];

const kindLabel: Record<string, string> = {
  'suspected-mislabel': 'mislabel?', ambiguous: 'ambiguous', 'rare-variant': 'rare variant', 'close-classes': 'close classes',
  'near-duplicates': 'duplicates', leakage: 'leakage', 'weak-cluster': 'weak cluster', outliers: 'outliers',
};

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
  const head = el('button', { type: 'button', className: 'insight-head', title: card.action },
    el('span', { className: 'insight-kind', textContent: kindLabel[card.kind] ?? card.kind }),
    el('span', { className: 'insight-title', textContent: card.title }));
  if (card.precision != null) {
    const sure = el('span', { className: 'insight-precision', textContent: `≈${percent(card.precision)} right`, title: 'estimated share of these samples that are what the card says (docs/insights.md)' });
    sure.dataset.testid = 'insight-precision';
    head.append(sure);
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
    showGallery(card.title, samples);
    if (!wasOpen) { item.classList.add('active'); item.append(cardBody(card, samples)); }
  });
  item.append(head);
  return item;
}

export async function renderInsights() {
  const s = state();
  const list = $('insights');
  list.replaceChildren(el('p', { className: 'note', textContent: 'Loading…' }));
  let doc: InsightsDocument | null;
  try { doc = await source.insights(s.run.id); } catch (e) { list.replaceChildren(el('p', { className: 'error', textContent: message(e) })); return; }
  if (state() !== s) return;
  if (!doc) {
    list.replaceChildren(el('p', { className: 'note', textContent: `No insights in this run yet: percept insights on the run folder computes them.` }));
    return;
  }
  // Documents before version 2 have no ranking: every card is shown.
  const ranked = doc.insights.some((c) => c.primary !== undefined);
  const primary = ranked ? doc.insights.filter((c) => c.primary) : doc.insights;
  const rest = ranked ? doc.insights.filter((c) => !c.primary) : [];
  const head = doc.label_issues
    ? [el('p', { className: 'insight-summary', textContent: `About ${Math.round(doc.label_issues.estimated_issues)} label errors estimated (evidence: ${doc.label_issues.basis}).` })] : [];
  const items = primary.map((c) => cardItem(c, list));
  const more = rest.length ? [moreToggle(rest, list)] : [];
  const notes = doc.notes.map((n) => el('p', { className: 'note', textContent: n }));
  const proximity = doc.class_proximity && Number.isFinite(doc.class_proximity.spearman)
    ? [el('p', { className: 'note', textContent: `Class proximity predicts confusion: Spearman ${doc.class_proximity.spearman.toFixed(2)} over pairs of classes.` })] : [];
  const nothing = doc.insights.length ? [] : [el('p', { className: 'note', textContent: 'Nothing stands out.' })];
  list.replaceChildren(...head, ...items, ...nothing, ...more, ...proximity, ...notes);
}

/** "N more cards": opens the cards of less impact in place. */
function moreToggle(rest: Card[], list: HTMLElement) {
  const box = el('div', { className: 'insight-more' });
  const button = el('button', { type: 'button', className: 'link', textContent: `${rest.length} more card${rest.length === 1 ? '' : 's'} of less impact` });
  button.dataset.testid = 'insights-more';
  button.addEventListener('click', () => {
    button.remove();
    box.append(...rest.map((c) => cardItem(c, list)));
  });
  box.append(button);
  return box;
}
