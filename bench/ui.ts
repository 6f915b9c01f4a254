/**
 * npm run bench:ui — the web UI as a browser gets it from the manager on loopback: the bytes of what the first
 * page loads (the shell, its script and styles; gzip as served, and raw), the terminal's chunk loaded on first
 * use, and the first load time measured by chromium (headless, a fresh profile each time, so nothing cached):
 * from navigation to the Containers page drawn with the manager's list (BENCH_N loads, default 10). Target:
 * under 1 s.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UI_DIR } from '../src/api/ui.ts';
import { launchBrowser } from '../test/helpers/browser.ts';
import { e2eEnv } from '../test/helpers/e2e-env.ts';
import { enterTestNetns } from '../test/helpers/inside-netns.ts';
import { buildUi } from '../test/helpers/ui-build.ts';
import { summary } from './stats.ts';

await enterTestNetns(import.meta.url);

const N = Number(process.env.BENCH_N ?? 10);
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

buildUi();
const world = await e2eEnv();
const browser = await launchBrowser();
try {
  const url = world.manager.url;
  const served = async (file: string, gzip: boolean) => {
    const r = await fetch(`${url}/${file}`, { headers: { 'accept-encoding': gzip ? 'gzip' : 'identity' } });
    if (!r.ok) throw new Error(`${file}: ${r.status}`);
    return Number(r.headers.get('content-length') ?? (await r.arrayBuffer()).byteLength);
  };
  const first = ['', 'ui/app.js', 'ui/app.css', 'ui/favicon.svg'];
  const sizes = await Promise.all(first.map(async (f) => ({ f: f || '/', gzip: await served(f, true), raw: await served(f, false) })));
  for (const s of sizes) console.log(`${s.f.padEnd(28)} gzip=${kib(s.gzip)} raw=${kib(s.raw)}`);
  const sum = (k: 'gzip' | 'raw') => sizes.reduce((n, s) => n + s[k], 0);
  console.log(`first page total              gzip=${kib(sum('gzip'))} raw=${kib(sum('raw'))}`);
  const chunks = readdirSync(UI_DIR).filter((f) => f.startsWith('chunk-') && f.endsWith('.js'));
  const chunkBytes = (ext: string) => chunks.reduce((n, f) => n + statSync(path.join(UI_DIR, f + ext)).size, 0);
  console.log(`lazy chunks (terminal: xterm) gzip=${kib(chunkBytes('.gz'))} raw=${kib(chunkBytes(''))} files=${chunks.length}`);

  const loads: number[] = [];
  const navigation: number[] = [];
  for (let i = 0; i < N; i++) {
    const context = await browser.browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(`${url}/`);
      await page.getByText('No containers yet.').waitFor();
      loads.push(performance.now() - t0);
      navigation.push(await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd));
    } finally {
      await context.close();
    }
  }
  console.log(summary('first load to live list', loads));
  console.log(summary('navigation load event', navigation));
  if (browser.errors.length) console.log(`console errors: ${browser.errors.join('; ')}`);
} finally {
  await browser.close();
  await world.close();
}
