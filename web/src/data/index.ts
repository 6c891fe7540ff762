// The one data source of this page: a report's embedded data when the page is a report, else the server.
import { HttpSource } from './http';
import { ReportSource, type ReportData } from './report';
import type { DataSource } from './types';

const report = (globalThis as { __PERCEPT_REPORT__?: ReportData }).__PERCEPT_REPORT__ ?? null;

/** Whether this page is a self-contained report (no server). */
export const isReport = report !== null;

export const source: DataSource = report ? new ReportSource(report) : new HttpSource();

/** Server URLs are absolute paths; the page may be served under a prefix, so make them relative. */
export const rel = (url: string) => (url.startsWith('/') ? url.slice(1) : url);

/** Appends a query parameter to a URL (data: URLs from a report are left alone). */
export const withQuery = (url: string, param: string) => (url.startsWith('data:') ? url : url + (url.includes('?') ? '&' : '?') + param);

export type * from './types';
