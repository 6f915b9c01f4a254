/**
 * The web UI with an API token configured, in a real browser against a real manager: without signing in the
 * tab gets the sign-in page and nothing else (every page's hash, the API and the WebSocket refuse it); a wrong
 * token is refused; the right one opens the pages, and a shell over the WebSocket (the token as a
 * subprotocol); it is kept for that tab only (sessionStorage), not in cookies or localStorage, and gone on
 * sign-out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { e2eEnv, type E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { buildUi } from '../helpers/ui-build.ts';

await enterTestNetns(import.meta.url);

const TOKEN = 'ui-e2e-token-with-some/odd+chars=';
const RIGHT = { authorization: `Bearer ${TOKEN}` };

describe('web UI with an API token', { timeout: 300_000 }, () => {
  let world: E2eEnv;
  let b: TestBrowser | undefined;
  let page: Page;
  let id = '';
  before(async () => {
    buildUi();
    world = await e2eEnv({ HEARTH_API_TOKEN: TOKEN });
    b = await launchBrowser();
    page = await b.page();
  });
  after(async () => {
    await b?.close();
    // e2eEnv's clean-up speaks without the token.
    if (id) await world?.api.call('DELETE', `/v1/containers/${id}`, undefined, RIGHT);
    await world?.close();
  });

  /** What this tab can do with the API by itself (no token). */
  const fromPage = (p: Page) =>
    p.evaluate(async () => {
      const statuses = await Promise.all(['/v1/containers', '/v1/host', '/v1/events?until=0', '/metrics'].map((u) => fetch(u).then((r) => r.status)));
      const socket = await new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/v1/exec/${'ab'.repeat(16)}/attach`, ['hearth']);
        ws.onopen = () => resolve('open');
        ws.onclose = (e) => resolve(`closed ${e.code}`);
      });
      return { statuses, socket };
    });

  it('shows only the sign-in page, on every page, and the API refuses the tab', async () => {
    for (const hash of ['', '#/containers', '#/create', '#/host', '#/images', '#/volumes', '#/containers/00000000-0000-4000-8000-000000000000/logs']) {
      await page.goto(`${world.manager.url}/${hash}`);
      await page.reload(); // a hash alone does not load the page again
      await page.getByLabel('API token').waitFor();
      assert.equal(await page.locator('header.top').count(), 0, `${hash}: no navigation`);
      assert.equal(await page.locator('h1').textContent(), 'Hearth');
    }
    await b!.screenshot(page, 'sign-in');
    assert.deepEqual(await fromPage(page), { statuses: [401, 401, 401, 401], socket: 'closed 1006' });
    await page.getByLabel('API token').fill(TOKEN + 'x');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'That token was refused.' }).waitFor();
    assert.equal(await page.locator('header.top').count(), 0);
  });

  it('signs in with the right token, for this tab only; the pages, the list and a shell work', async () => {
    id = (await world.api.call('POST', '/v1/containers', { name: 'behind-token', image: 'busybox:latest', args: ['sleep', '600'] }, RIGHT)).body.id;
    assert.ok(id);
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Containers' }).click();
    await page.locator('tr[data-name="behind-token"][data-state="running"]').waitFor({ timeout: 180_000 });
    assert.deepEqual(
      await page.evaluate(() => ({ session: sessionStorage.getItem('hearth.token'), local: localStorage.length, cookie: document.cookie })),
      { session: TOKEN, local: 0, cookie: '' },
    );
    await page.goto(`${world.manager.url}/#/containers/${id}/terminal`);
    await page.locator('[data-testid=terminal-status]', { hasText: 'connected' }).waitFor({ timeout: 60_000 });
    await page.keyboard.type('echo hello\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((r) => r.textContent?.trim() === 'hello'));

    const other = await b!.page({ context: page.context() });
    await other.goto(`${world.manager.url}/#/containers`);
    await other.getByLabel('API token').waitFor();
    assert.deepEqual((await fromPage(other)).statuses, [401, 401, 401, 401], 'another tab of the same browser is not signed in');
    await other.close();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('hearth.token')), null);
    // The only errors: the refusals this test asked for.
    const unexpected = b!.errors.filter((e) => !/status of 401|WebSocket connection to .* failed/.test(e));
    assert.deepEqual(unexpected, []);
  });
});
