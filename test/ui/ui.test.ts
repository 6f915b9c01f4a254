/**
 * The web UI in a real browser (Debian's chromium through playwright-core) against a real manager with real
 * VMs, as an operator uses it: create a web server from the form and watch it turn running without a reload;
 * its logs show a request made through the mapped port as it happens; a shell in the terminal answers
 * `echo hello`; the CPU chart rises under load; stop, start and delete from the list; a bad field shows the
 * API's own message beside it. Every page is screenshot (test-output/screenshots/), at desktop and phone width,
 * and no tab may log an error other than the ones the test provoked.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { assertNoLeaks, e2eEnv, type E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { freePort } from '../helpers/registry.ts';
import { buildUi } from '../helpers/ui-build.ts';

await enterTestNetns(import.meta.url);

/** A GET on loopback: the status, or undefined if nothing answered. */
function getFrom(port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    });
    req.once('error', () => resolve(undefined));
  });
}

const VM_MS = 180_000;

describe('web UI, in a browser, against real VMs', { timeout: 600_000 }, () => {
  let world: E2eEnv;
  let b: TestBrowser | undefined;
  let page: Page;
  let hostPort: number;
  let id = '';
  /** Errors the test caused on purpose (the API's 400 for a bad field). */
  const provoked: RegExp[] = [];

  before(async () => {
    buildUi();
    world = await e2eEnv();
    b = await launchBrowser();
    page = await b.page();
    hostPort = await freePort();
  });
  after(async () => {
    await b?.close();
    await world?.close();
  });

  const state = () => page.locator('[data-testid=detail-state]');
  const row = (name: string) => page.locator(`tr[data-name="${name}"]`);

  it('creates a web server from the form, with pull progress, and shows it turn running without a reload', async () => {
    await page.goto(`${world.manager.url}/#/create`);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await page.getByLabel('Image', { exact: true }).fill('webapp:latest');
    await page.getByLabel('Name', { exact: true }).fill('web');
    await page.getByRole('button', { name: 'Add a port' }).click();
    await page.getByLabel('Host port 1').fill(String(hostPort));
    await page.getByLabel('Container port 1').fill('80');
    await page.getByLabel('Environment (NAME=value, one per line)').fill('GREETING=hello from the form');
    await b!.screenshot(page, 'create');
    // What the pull progress said, every step (the page moves on to the container once it is created).
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { pullSteps: string[] }).pullSteps = []);
      new MutationObserver(() => {
        const text = document.querySelector('.pull span')?.textContent;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/#\/containers\/[0-9a-f-]{36}$/);
    const steps = await page.evaluate(() => (window as unknown as { pullSteps: string[] }).pullSteps);
    assert.match(steps.at(-1) ?? '', /^webapp:latest: done/, steps.join('\n'));
    assert.ok(steps.some((t) => / of .* 2 layers$/.test(t)), `bytes of layers shown: ${steps.join('\n')}`);
    id = page.url().split('/').at(-1)!;
    const seen = new Set<string>();
    // Every state the page shows on the way, read as it changes: it is the events stream, not a reload.
    for (;;) {
      const now = (await state().textContent())!;
      assert.ok(['creating', 'booting', 'initializing', 'running'].includes(now), `state ${now}`);
      seen.add(now);
      if (now === 'running') break;
      await page.waitForFunction((s) => document.querySelector('[data-testid=detail-state]')?.textContent !== s, now, { timeout: VM_MS });
    }
    assert.ok(seen.size >= 2, `the page showed the states on the way: ${[...seen].join(', ')}`);
    assert.ok(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), 'the page was not reloaded');
    const item = await world.api.get(id);
    assert.equal(item.state, 'running');
    assert.deepEqual(item.env_vars, { GREETING: 'hello from the form' });
    assert.deepEqual(item.port_mappings.map((p: { host_port: number; container_port: number }) => [p.host_port, p.container_port]), [[hostPort, 80]]);
    await page.locator('[data-fact="Guest IP"]', { hasText: /^10\.213\./ }).waitFor();
    await page.locator('.history li', { hasText: '→ running' }).waitFor();
    await b!.screenshot(page, 'detail-overview');
  });

  it('shows a request made through the mapped port in the logs as it happens', async () => {
    await page.getByRole('link', { name: 'logs' }).click();
    await page.getByLabel('Log lines').waitFor();
    // httpd -v logs each response (`[client]: response:404`; the client's port is NAT's, not ours). Once it
    // answers at all (its listener may still be starting), one request for a missing page: one 404 line.
    while ((await getFrom(hostPort, '/')) !== 200) await new Promise((r) => setTimeout(r, 200));
    const line = page.locator('.log-lines div', { hasText: 'response:404' });
    assert.equal(await line.count(), 0);
    assert.equal(await getFrom(hostPort, '/no-such-page'), 404);
    await line.waitFor();
    await page.getByLabel('Stream').selectOption('stdout');
    assert.equal(await line.count(), 0, 'httpd -v logs to stderr: hidden by the stdout filter');
    await page.getByLabel('Stream').selectOption('stderr');
    assert.equal(await line.count(), 1);
    await page.getByLabel('Search').fill('response:404');
    assert.equal(await page.locator('.log-lines div').count(), 1, 'the search keeps that line only');
    await page.getByLabel('Timestamps').check();
    assert.match((await line.textContent())!, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[/);
    await b!.screenshot(page, 'detail-logs');
    await page.getByLabel('Search').fill('');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), 'web.log');
    const text = await readFile((await download.path())!, 'utf8');
    assert.match(text, /^\d{4}-\d\d-\d\dT[\d:.]+Z \[.*\]:\d+: response:404$/m, 'the whole log, with timestamps');
  });

  it('opens a shell in the terminal that answers echo hello, and tells it the new size when the page resizes', async () => {
    await page.getByRole('link', { name: 'terminal' }).click();
    await page.locator('[data-testid=terminal-status]', { hasText: 'connected' }).waitFor({ timeout: 60_000 });
    await page.keyboard.type('echo hello\n');
    const rows = () => page.evaluate(() => [...document.querySelectorAll('.xterm-rows > div')].map((r) => r.textContent?.trim() ?? ''));
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((r) => r.textContent?.trim() === 'hello'));
    await b!.screenshot(page, 'detail-terminal');
    // `stty size` in the guest: rows and columns, before and after the window narrows.
    const sizes = async () => (await rows()).filter((r) => /^\d+ \d+$/.test(r)).map((r) => r.split(' ').map(Number) as [number, number]);
    await page.keyboard.type('stty size\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((r) => /^\d+ \d+$/.test(r.textContent?.trim() ?? '')));
    const [wide] = await sizes();
    const drawnRows = (await rows()).length;
    await page.setViewportSize({ width: 800, height: 600 });
    await page.waitForFunction((n) => document.querySelectorAll('.xterm-rows > div').length < n, drawnRows);
    await page.keyboard.type('stty size\n');
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].filter((r) => /^\d+ \d+$/.test(r.textContent?.trim() ?? '')).length >= 2);
    const narrow = (await sizes()).at(-1)!;
    assert.ok(narrow[0] < wide![0] && narrow[1] < wide![1], `the guest's tty went from ${wide} to ${narrow}`);
    assert.equal(narrow[0], await page.evaluate(() => document.querySelectorAll('.xterm-rows > div').length), 'as many rows as drawn');
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.keyboard.type('exit\n');
    await page.locator('[data-testid=terminal-status]', { hasText: 'exited with 0' }).waitFor();
  });

  it('shows the CPU chart rise under load', async () => {
    await page.getByRole('link', { name: 'stats' }).click();
    const cpu = () => page.locator('[data-testid=cpu-now]').textContent().then((t) => Number(/CPU now: ([\d.]+)%/.exec(t ?? '')?.[1]));
    const points = () => page.locator('.chart [data-points]').first().getAttribute('data-points').then(Number);
    await page.waitForFunction(() => Number(document.querySelector('.chart [data-points]')?.getAttribute('data-points')) >= 2, null, { timeout: 60_000 });
    const idle = await cpu();
    assert.ok(idle < 50, `idle CPU ${idle}%`);
    const exec = await world.api.call('POST', `/v1/containers/${id}/exec`, { cmd: ['sh', '-c', 'timeout 60 yes > /dev/null'] });
    assert.equal(exec.status, 201, exec.text);
    assert.equal((await world.api.call('POST', `/v1/exec/${exec.body.id}/start`, { detach: true })).status, 200);
    const before = await points();
    await page.waitForFunction(() => Number(/CPU now: ([\d.]+)%/.exec(document.querySelector('[data-testid=cpu-now]')?.textContent ?? '')?.[1]) > 60, null, { timeout: 60_000 });
    assert.ok((await points()) > before, 'the chart has new points');
    // A fuller chart for the screenshot (docs/web-ui-stats.png is one).
    await page.waitForFunction((n) => Number(document.querySelector('.chart [data-points]')?.getAttribute('data-points')) >= n, before + 8, { timeout: 60_000 });
    await b!.screenshot(page, 'detail-stats');
    await page.getByRole('link', { name: 'inspect' }).click();
    assert.equal(JSON.parse((await page.getByLabel('The container as JSON').textContent())!).id, id);
    await b!.screenshot(page, 'detail-inspect');
  });

  it('stops, starts and deletes from the list, asking before the delete', async () => {
    await page.getByRole('link', { name: 'Containers' }).click();
    await row('web').locator('.port', { hasText: `${hostPort}→80/tcp` }).waitFor();
    assert.equal(await row('web').locator('.port').getAttribute('href'), `http://127.0.0.1:${hostPort}/`);
    await row('web').locator('.spark polyline').first().waitFor();
    await b!.screenshot(page, 'containers');
    // By keyboard: Tab from the top of the page to the row's Stop, Enter.
    await page.locator('body').focus();
    for (let i = 0; i < 40 && (await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) !== 'Stop web'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Stop web', 'Stop is reachable by Tab');
    await page.keyboard.press('Enter');
    await page.locator('tr[data-name="web"][data-state="stopped"]').waitFor({ timeout: VM_MS });
    // A stopped container's pages say what they can show.
    await page.goto(`${world.manager.url}/#/containers/${id}/stats`);
    await page.getByText('Stats are read from a running container; this one is stopped.').waitFor();
    await page.getByRole('link', { name: 'terminal' }).click();
    await page.getByText('A shell needs a running container; this one is stopped.').waitFor();
    await page.getByRole('link', { name: 'overview' }).click();
    await page.locator('.history li', { hasText: 'running → stopped' }).waitFor();
    assert.equal(await page.locator('.history li', { hasText: 'initializing → running' }).count(), 1, 'each event once');
    await page.getByRole('link', { name: 'Containers' }).click();
    await page.getByRole('button', { name: 'Start web', exact: true }).click();
    await page.locator('tr[data-name="web"][data-state="running"]').waitFor({ timeout: VM_MS });
    await page.getByRole('button', { name: 'Delete web', exact: true }).click();
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal((await world.api.call('GET', `/v1/containers/${id}`)).status, 200, 'cancelled: still there');
    await page.getByRole('button', { name: 'Delete web', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await row('web').waitFor({ state: 'detached', timeout: 60_000 });
    assert.equal((await world.api.call('GET', `/v1/containers/${id}`)).status, 404);
    await assertNoLeaks(world);
  });

  it("shows the API's message next to the field it names", async () => {
    const body = { name: 'bad', image: 'webapp:latest', restart_policy: 'no', port_mappings: [{ host_port: 70000, container_port: 80, protocol: 'tcp' }] };
    const api = await world.api.call('POST', '/v1/containers', body);
    assert.equal(api.status, 400);
    assert.equal(api.body.error.field, 'body/port_mappings/0/host_port');
    provoked.push(/status of 400/);
    await page.getByRole('link', { name: 'Create' }).click();
    await page.getByLabel('Image', { exact: true }).fill('webapp:latest');
    await page.getByLabel('Pull the image first (shows progress)').uncheck();
    await page.getByLabel('Name', { exact: true }).fill('bad');
    await page.getByRole('button', { name: 'Add a port' }).click();
    await page.getByLabel('Host port 1').fill('70000');
    await page.getByLabel('Container port 1').fill('80');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const field = page.locator('.field.invalid', { has: page.getByLabel('Host port 1') });
    await field.locator('.error').waitFor();
    assert.equal(await field.locator('.error').textContent(), api.body.error.message);
    assert.equal(await page.locator('.field.invalid').count(), 1, 'only that field');
    await b!.screenshot(page, 'create-error');
    assert.equal((await world.api.call('GET', '/v1/containers')).body.items.length, 0);
  });

  it('lists images, creates and deletes a volume, shows the host; the list fits a phone', async () => {
    await page.getByRole('link', { name: 'Images' }).click();
    await page.locator('td', { hasText: 'docker.io/library/webapp:latest' }).waitFor();
    await page.getByLabel('Image to pull').fill('busybox:latest');
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    await page.locator('.pull', { hasText: 'busybox:latest: done' }).waitFor({ timeout: 60_000 });
    await page.locator('td', { hasText: 'docker.io/library/busybox:latest' }).waitFor();
    await b!.screenshot(page, 'images');
    await page.getByRole('button', { name: 'Delete docker.io/library/busybox:latest' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('td', { hasText: 'docker.io/library/busybox:latest' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Prune unused' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByText(/^Pruned 1 image\(s\)/).waitFor();
    await page.getByText('No images.').waitFor();
    assert.deepEqual((await world.api.call('GET', '/v1/images')).body.items, []);
    await page.getByRole('link', { name: 'Volumes' }).click();
    await page.getByLabel('Name').fill('ui-data');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator('td', { hasText: 'ui-data' }).waitFor();
    assert.equal((await world.api.call('POST', '/v1/volumes', { name: 'made-elsewhere' })).status, 201);
    await page.locator('td', { hasText: 'made-elsewhere' }).waitFor();
    assert.equal((await world.api.call('DELETE', '/v1/volumes/made-elsewhere')).status, 204);
    await page.locator('td', { hasText: 'made-elsewhere' }).waitFor({ state: 'detached' });
    await b!.screenshot(page, 'volumes');
    await page.getByRole('button', { name: 'Delete volume ui-data' }).click();
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.locator('td', { hasText: 'ui-data' }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Host' }).click();
    await page.locator('[data-fact="Accelerator"]', { hasText: 'tcg configured' }).waitFor();
    await b!.screenshot(page, 'host');

    const phone = await b!.page({ width: 390, height: 844 });
    const c = await world.api.create({ name: 'a-container-with-a-rather-long-name', image: 'busybox:latest', args: ['sleep', '600'] });
    await phone.goto(`${world.manager.url}/#/containers`);
    await phone.locator('tr[data-name="a-container-with-a-rather-long-name"]').waitFor();
    const overflow = () => phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(await overflow(), 0, 'no sideways scroll at phone width');
    await b!.screenshot(phone, 'containers-phone');
    for (const [hash, ready] of [['#/create', 'Add a port'], [`#/containers/${c}/overview`, 'State history'], ['#/host', 'Host']] as const) {
      await phone.goto(`${world.manager.url}/${hash}`);
      await phone.getByText(ready, { exact: true }).first().waitFor();
      assert.equal(await overflow(), 0, `${hash}: no sideways scroll at phone width`);
    }
    await b!.screenshot(phone, 'host-phone');
    await world.api.call('DELETE', `/v1/containers/${c}`);
    const unexpected = b!.errors.filter((e) => !provoked.some((p) => p.test(e)));
    assert.deepEqual(unexpected, [], 'no console errors');
  });
});
