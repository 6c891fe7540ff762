// What every end-to-end script shares: the server's URL and the browser from the environment, headless Chromium with
// software WebGL, named checks that record ok/FAIL, and the exit code the C# tests read (0 passed, 1 failed, 77 no browser).
import { existsSync, mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** PERCEPT_URL (required), and SCREENSHOTS, the folder for screenshots (made), when set. */
export function environment() {
  const url = process.env.PERCEPT_URL;
  if (!url) { console.error('PERCEPT_URL is not set'); process.exit(2); }
  const shots = process.env.SCREENSHOTS;
  if (shots) mkdirSync(shots, { recursive: true });
  return { url, shots };
}

/** Debian's Chromium (or CHROMIUM), headless, WebGL through the SwiftShader software rasteriser; exits 77 when there is none. */
export async function launch() {
  const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) { console.error(`no browser at ${executablePath}`); process.exit(77); }
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run',
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
}

const results = [];
let failed = 0;

/** Runs one named check; a thrown error is a FAIL line, and the script goes on. */
export async function check(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    failed++;
    results.push(`FAIL ${name}: ${e.message.split('\n')[0]}`);
  }
}

export function assert(condition, message) { if (!condition) throw new Error(message); }

/** Collects the page's errors: uncaught exceptions, console errors, and HTTP answers of 400 or more (unless `ignore` says so). */
export function watchErrors(page, ignore = () => false) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  page.on('response', (r) => { if (r.status() >= 400 && !ignore(r.url())) errors.push(`${r.status()} ${r.url()}`); });
  return errors;
}

/** Prints every check's line and exits with 0 when all passed, else 1. */
export function finish() {
  console.log(results.join('\n'));
  process.exit(failed ? 1 : 0);
}
