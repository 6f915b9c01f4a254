/**
 * Health checks and /metrics through the real manager and real VMs: an image HEALTHCHECK goes starting ->
 * healthy; a failing check is unhealthy after exactly `retries` failures; ["NONE"] turns the image's off; a
 * check past its timeout is killed and counted (never piling up); pause, stop and start; a manager killed
 * with -9 and started again shows the state and carries on; /metrics parses and its series move.
 * Intervals of 1 s keep it short. Prints what one check costs (its exec, start to end, from the log).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { busyboxEntries } from '../helpers/app-images.ts';
import { assertNoLeaks, e2eEnv, type E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { parsePrometheusText, valueOf } from '../helpers/prom-text.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';

await enterTestNetns(import.meta.url);

const SECOND_NS = 1e9;
/** busybox whose HEALTHCHECK passes once the process has written /tmp/ready. */
const CHECKED_IMAGE = 'checked:latest';

interface HealthItem {
  state: string;
  health: { status: string; failing_streak: number; log: Array<{ start: string; end: string; exit_code: number; output: string }> } | null;
}

describe('health checks and metrics, end to end', () => {
  let world: E2eEnv;
  const ids: string[] = [];
  before(async () => {
    world = await e2eEnv({}, async (registry) => {
      await pushImage(new Pusher(registry.url), 'library/checked', 'latest', [{ entries: busyboxEntries() }], {
        config: {
          Cmd: ['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 100000'],
          Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
          Healthcheck: { Test: ['CMD-SHELL', 'test -f /tmp/ready && echo ready'], Interval: SECOND_NS, Timeout: 10 * SECOND_NS, Retries: 3 },
        },
      });
      return {};
    });
  });
  after(async () => {
    await world?.close();
  });

  const create = async (body: Record<string, unknown>) => {
    const id = await world.api.create(body);
    ids.push(id);
    return id;
  };
  const until = async (id: string, ok: (item: HealthItem) => boolean, what: string, ms = 120_000): Promise<HealthItem> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const item = (await world.api.get(id)) as HealthItem;
      if (ok(item)) return item;
      if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(item)}`);
      await sleep(100);
    }
  };
  const healthEvents = async (id: string) =>
    ((await world.api.call('GET', `/v1/containers/${id}/events`)).body.items as Array<{ type: string; health_status: string; message: string }>)
      .filter((e) => e.type === 'health-status')
      .map((e) => `${e.health_status}: ${e.message}`);

  it("runs the image's HEALTHCHECK: starting, then healthy; ['NONE'] turns it off", async (t) => {
    const checked = await create({ name: 'checked', image: CHECKED_IMAGE });
    const unchecked = await create({ name: 'unchecked', image: CHECKED_IMAGE, healthcheck: { test: ['NONE'] } });
    const healthy = await until(checked, (i) => i.health?.status === 'healthy', 'healthy');
    assert.equal(healthy.state, 'running');
    assert.deepEqual(healthy.health!.log.at(-1)!.output, 'ready\n');
    const events = await healthEvents(checked);
    assert.deepEqual(events.slice(0, 2), ['starting: health checks begin', 'healthy: health check passed']);
    // By now the other container has run as long, its image check due every second: none ran.
    const other = (await world.api.get(unchecked)) as HealthItem;
    assert.equal(other.state, 'running');
    assert.equal(other.health, null);
    assert.deepEqual(await healthEvents(unchecked), []);
    // What one check costs: an exec of `sh -c 'test -f ...'` through the guest's control channel, start to end.
    await until(checked, (i) => i.health!.log.length >= 5, 'five checks');
    const took = ((await world.api.get(checked)) as HealthItem).health!.log.map((r) => Date.parse(r.end) - Date.parse(r.start)).sort((a, b) => a - b);
    t.diagnostic(`one health check (exec of sh -c 'test -f', TCG): median ${took[2]} ms, min ${took[0]} ms, max ${took[4]} ms`);
  });

  it('a failing check is unhealthy after exactly `retries` failures', async () => {
    const id = await create({
      name: 'failing',
      image: 'busybox:latest',
      args: ['sleep', '100000'],
      healthcheck: { test: ['CMD-SHELL', 'echo nope; exit 1'], interval_s: 1, retries: 3 },
    });
    const item = await until(id, (i) => i.health?.status === 'unhealthy', 'unhealthy');
    const events = await healthEvents(id);
    assert.deepEqual(events, ['starting: health checks begin', 'unhealthy: 3 health checks in a row failed (last: exit code 1)']);
    assert.ok(item.health!.failing_streak >= 3);
    assert.equal(item.health!.log.length, Math.min(item.health!.failing_streak, 5), 'one log entry per failure');
    for (const r of item.health!.log) assert.deepEqual([r.exit_code, r.output], [1, 'nope\n']);
  });

  it('a check past its timeout is killed and counts as a failure (-1), and killed checks never pile up', async () => {
    const id = await create({
      name: 'slow-check',
      image: 'busybox:latest',
      args: ['sleep', '100000'],
      healthcheck: { test: ['CMD', 'sleep', '30'], timeout_s: 1, interval_s: 1, retries: 2 },
    });
    const item = await until(id, (i) => i.health?.status === 'unhealthy', 'unhealthy');
    for (const r of item.health!.log) assert.deepEqual([r.exit_code, r.output], [-1, 'Health check exceeded timeout (1s)']);
    const top = (await world.api.call('GET', `/v1/containers/${id}/top`)).body;
    const commands = (top.processes as string[][]).map((p) => p.at(-1));
    assert.ok(commands.includes('sleep 100000'), `the main process is listed: ${JSON.stringify(commands)}`);
    const checks = commands.filter((c) => c === 'sleep 30');
    assert.ok(checks.length <= 1, `at most the check under way runs: ${JSON.stringify(top.processes)}`);
  });

  it('stops when paused (unhealthy), carries on when unpaused; starts over (starting) after a stop and start', async () => {
    const id = await create({ name: 'cycled', image: 'busybox:latest', args: ['sleep', '100000'], healthcheck: { test: ['CMD', 'true'], interval_s: 1 } });
    await until(id, (i) => i.health?.status === 'healthy', 'healthy');
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/pause`)).status, 200);
    const paused = await until(id, (i) => i.health?.status === 'unhealthy', 'unhealthy when paused');
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/unpause`)).status, 200);
    await until(id, (i) => i.health?.status === 'healthy' && i.health.log.length > paused.health!.log.length, 'healthy again');
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/stop?timeout=1`)).status, 200);
    const stopped = await until(id, (i) => i.health?.status === 'unhealthy', 'unhealthy when stopped');
    assert.equal(stopped.state, 'stopped');
    assert.equal((await world.api.call('POST', `/v1/containers/${id}/start`)).status, 200);
    await until(id, (i) => i.health?.status === 'healthy' && i.health.failing_streak === 0, 'healthy after the start');
    const events = await healthEvents(id);
    assert.deepEqual(events, [
      'starting: health checks begin',
      'healthy: health check passed',
      'unhealthy: health checks stopped: the container is paused',
      'healthy: health check passed',
      'unhealthy: health checks stopped: the container is stopped',
      'starting: health checks begin',
      'healthy: health check passed',
    ]);
  });

  it('survives a manager killed with -9: the state is shown at once and the checks carry on', async () => {
    const id = ids[0]!; // the image-checked container, healthy
    const before = (await world.api.get(id)) as HealthItem;
    await world.manager.kill9();
    await world.restart();
    const shown = (await world.api.get(id)) as HealthItem;
    assert.equal(shown.health?.status, 'healthy');
    assert.ok(Date.parse(shown.health!.log.at(-1)!.start) >= Date.parse(before.health!.log.at(-1)!.start), 'the stored log');
    const lastBefore = Date.parse(shown.health!.log.at(-1)!.start);
    await until(id, (i) => i.state === 'running' && Date.parse(i.health!.log.at(-1)!.start) > lastBefore, 'a check after the restart');
    assert.equal((await healthEvents(id)).at(-1), 'healthy: health check passed', 'no new run, no stop');
  });

  it('/metrics parses and its series move', async () => {
    const scrape = async () => {
      const r = await world.api.call('GET', '/metrics');
      assert.equal(r.status, 200);
      return parsePrometheusText(r.text);
    };
    const first = await scrape();
    const checked = ids[0]!;
    assert.equal(valueOf(first, 'hearth_container_state', { id: checked, name: 'checked', state: 'running' }), 1);
    assert.equal(valueOf(first, 'hearth_container_health', { id: checked, name: 'checked', status: 'healthy' }), 1);
    assert.equal(valueOf(first, 'hearth_containers', { state: 'running' }), ids.length);
    assert.equal(valueOf(first, 'hearth_vmms'), ids.length);
    const gets = (f: typeof first) => valueOf(f, 'hearth_api_request_duration_seconds_count', { route: '/v1/containers/:id', method: 'GET', status: '200' }) ?? 0;

    const id = await create({ name: 'newcomer', image: 'hello-world:latest' });
    await world.api.waitFor(id, ['exited']);
    const second = await scrape();
    assert.equal(valueOf(second, 'hearth_container_state', { id, name: 'newcomer', state: 'exited' }), 1);
    assert.equal(valueOf(second, 'hearth_containers', { state: 'exited' }), 1);
    assert.ok(gets(second) > gets(first), 'the GETs of the wait were counted');
    assert.equal(valueOf(second, 'hearth_container_create_to_running_seconds_count'), 1, 'one provisioning since the manager restarted');
    assert.equal(valueOf(second, 'hearth_image_pull_duration_seconds_count', { outcome: 'ok' }), 1, 'hello-world was pulled');

    // a running container's usage, from its stats
    const mine = { id: checked, name: 'checked' };
    assert.equal(valueOf(second, 'hearth_container_memory_limit_bytes', mine), 256 * 1024 * 1024, 'the default memory_mib');
    assert.ok(valueOf(second, 'hearth_container_vmm_resident_bytes', mine)! > 0);
    assert.ok(valueOf(second, 'hearth_container_block_read_bytes_total', { ...mine, disk: 'rootfs' })! > 0, 'the image disk was read');
    assert.ok(valueOf(second, 'hearth_container_pids', mine)! >= 1);
    const vmmCpu = (f: typeof first) => valueOf(f, 'hearth_container_vmm_cpu_seconds_total', mine)!;
    assert.ok(vmmCpu(second) > vmmCpu(first), `the VMM's CPU time goes on: ${vmmCpu(first)} -> ${vmmCpu(second)}`);
    assert.equal(valueOf(second, 'hearth_container_cpu_seconds_total', { id, name: 'newcomer' }), undefined, 'an exited container has no usage');
  });

  it('leaves nothing behind', async () => {
    for (const id of ids) assert.equal((await world.api.call('DELETE', `/v1/containers/${id}`)).status, 204);
    await assertNoLeaks(world);
  });
});
