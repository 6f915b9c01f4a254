/**
 * Debian's chromium driven by playwright-core, headless, for the web UI's tests: launched by explicit path
 * (playwright's own browser downloads are not used), with every console error and uncaught page error recorded
 * so a test can require none. `close` ends the browser and its processes; call it in `after` even when `before`
 * failed half-way (it is safe to call when nothing was launched).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots the UI tests take (gitignored). */
export const SCREENSHOTS = path.resolve(import.meta.dirname, '../../test-output/screenshots');

export interface TestBrowser {
  browser: Browser;
  /** A new tab (its own sessionStorage) at `width`x`height`, its console errors recorded in `errors`. */
  page(o?: { width?: number; height?: number; context?: BrowserContext }): Promise<Page>;
  /** Console errors and page errors of every tab opened here, as text. */
  errors: string[];
  /** Saves a screenshot of the page, after checking every control on it has a label (see `unlabelled`). */
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // Root cannot use chromium's sandbox; the pages are the manager's own, on loopback.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  const errors: string[] = [];
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    browser,
    errors,
    async page(o = {}) {
      const context = o.context ?? (await browser.newContext({ viewport: { width: o.width ?? 1280, height: o.height ?? 800 } }));
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()} (${page.url()})`);
      });
      page.on('pageerror', (e) => errors.push(`page error: ${e.message} (${page.url()})`));
      return page;
    },
    async screenshot(page, name) {
      assert.deepEqual(await unlabelled(page), [], `${name}: controls without a label`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
    },
    async close() {
      await browser.close();
    },
  };
}

/** The controls of a page that a screen reader could not name: no <label>, no aria-label, no text. */
export function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('input, select, textarea, button, a[href]')]
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels;
        return !(labels && labels.length > 0) && !el.getAttribute('aria-label') && !(el.tagName === 'BUTTON' || el.tagName === 'A' ? el.textContent?.trim() : '');
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}
