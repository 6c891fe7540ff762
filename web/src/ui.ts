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
