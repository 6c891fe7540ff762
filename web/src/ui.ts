// Small DOM helpers shared by every panel of the dashboard.

/** The element with this id (the page's fixed skeleton is in index.html). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** A new element with properties and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

/** A number for people: three decimals, or scientific notation when very large or very small. */
export const formatNumber = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

/** An error's message, for showing in the page. */
export const message = (e: unknown) => String((e as Error)?.message ?? e);

/** The page's icons, drawn inline (no icon font, no system font needed): 24 × 24 stroke paths. */
const ICONS: Record<string, string> = {
  play: 'M7 4.5v15l12-7.5z',
  pause: 'M7 5h3.5v14H7zM13.5 5H17v14h-3.5z',
  close: 'M6 6l12 12M18 6L6 18',
  pan: 'M12 3v18M3 12h18M12 3l-3 3M12 3l3 3M12 21l-3-3M12 21l3-3M3 12l3-3M3 12l3 3M21 12l-3-3M21 12l-3 3',
  lasso: 'M12 5c5 0 8 2 8 4.5S16.5 14 12 14s-8-2-8-4.5S7 5 12 5zM7.5 13.2c-.8 1.3-.6 2.8.8 3.6 1.2.7 2.7.3 3.2-.9M9 17l-1.5 4',
  fit: 'M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5M9 9h6v6H9z',
  reset: 'M4 12a8 8 0 1 0 2.4-5.7M4 4v4.5h4.5',
  search: 'M10.5 4a6.5 6.5 0 1 1 0 13 6.5 6.5 0 0 1 0-13zM15.5 15.5L20 20',
  check: 'M5 12.5l4.5 4.5L19 7',
  cross: 'M6.5 6.5l11 11M17.5 6.5l-11 11',
  download: 'M12 4v11M7 10.5l5 5 5-5M5 19.5h14',
  bookmark: 'M7 4h10v16l-5-4-5 4z',
  trash: 'M5 7h14M10 7V5h4v2M7 7l1 13h8l1-13',
  density: 'M4 4h4v4H4zM10 4h4v4h-4zM16 4h4v4h-4zM4 10h4v4H4zM10 10h4v4h-4zM4 16h4v4H4z',
};

/** An inline SVG icon; `label` is read by screen readers (the icon is decorative when there is none). */
export function icon(name: keyof typeof ICONS | string, label?: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', `icon icon-${name}`);
  if (label) { svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', label); } else svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name] ?? '');
  if (name === 'play' || name === 'pause') path.setAttribute('class', 'filled');
  svg.append(path);
  return svg;
}

/** Puts icons into every `[data-icon]` element of the page's skeleton (kept before any text it has). */
export function placeIcons(root: ParentNode = document) {
  root.querySelectorAll<HTMLElement>('[data-icon]').forEach((e) => {
    e.querySelector(':scope > svg.icon')?.remove();
    e.prepend(icon(e.dataset.icon!));
  });
}
