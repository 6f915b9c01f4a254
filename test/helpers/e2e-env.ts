/**
 * One end-to-end world inside the test's network namespace: a real registry holding the test images under
 * Docker Hub names (configured as the docker.io mirror), a data directory, and the manager process.
 * `assertNoLeaks` checks what a deleted container must not leave: VMM processes and virtiofsd helpers, taps
 * and their anti-spoofing entries, run directories, disks (anonymous volumes included), log files and rows.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { listTapSenders } from '../../src/network/tap-guard.ts';
import { listLinks } from '../../src/tools/ip.ts';
import { VmCgroups, cgroupInstance } from '../../src/vmm/jail/cgroups.ts';
import { SHARE_TAG } from '../../src/vmm/qemu/file-shares.ts';
import { processesTagged } from '../../src/vmm/process.ts';
import { killVmmsUnder, vmmsUnder } from './vmm-processes.ts';
import { pushAppImages } from './app-images.ts';
import { DockerCli } from './docker-cli.ts';
import { startManager } from './manager-process.ts';
import type { ManagerOptions, ManagerProcess } from './manager-process.ts';
import { freePort, startRegistry } from './registry.ts';
import type { TestRegistry } from './registry.ts';

export interface E2eEnv {
  dataDir: string;
  registry: TestRegistry;
  manager: ManagerProcess;
  api: Api;
  /** The real `docker` CLI on this manager's Docker socket. */
  docker: DockerCli;
  /** Starts the manager again on the same data directory and port (after a kill). */
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** `prepare` runs once the registry holds the images and may return more manager variables. */
export async function e2eEnv(
  baseEnv: Record<string, string> = {},
  prepare?: (registry: TestRegistry) => Promise<Record<string, string>>,
): Promise<E2eEnv> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hearth-e2e-'));
  const registry = await startRegistry();
  await pushAppImages(registry.url);
  const env = { ...baseEnv, ...(prepare ? await prepare(registry) : {}) };
  const options: ManagerOptions = { dataDir, port: await freePort(), registryHost: registry.host, env };
  const world: E2eEnv = {
    dataDir,
    registry,
    manager: await startManager(options),
    api: new Api(`http://127.0.0.1:${options.port}`),
    docker: new DockerCli(path.join(dataDir, 'docker.sock')),
    async restart(extra = {}) {
      world.manager = await startManager({ ...options, env: { ...env, ...extra } });
    },
    async close() {
      // A test that failed half-way leaves containers: delete them as a user would, then make sure.
      const left = await world.api.call('GET', '/v1/containers').catch(() => undefined);
      for (const c of left?.body?.items ?? []) await world.api.call('DELETE', `/v1/containers/${c.id}`).catch(() => undefined);
      await world.manager.stop();
      world.docker.close();
      await killVmmsUnder(dataDir);
      await registry.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Pulls images through /v1 (the Docker API's image endpoints are not this world's business). */
export async function pullThroughV1(world: E2eEnv, images: string[]): Promise<void> {
  for (const image of images) {
    const r = await world.api.call('POST', '/v1/images/pull', { image });
    assert.ok(r.status < 300, r.text);
  }
}

export interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
}

export class Api {
  constructor(readonly url: string) {}

  async call<T = any>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const r = await fetch(`${this.url}${route}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await r.text();
    let parsed: any = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: r.status, body: parsed as T, text };
  }

  async create(body: Record<string, unknown>): Promise<string> {
    const r = await this.call('POST', '/v1/containers', body);
    assert.equal(r.status, 201, r.text);
    return r.body.id as string;
  }

  async get(id: string): Promise<any> {
    const r = await this.call('GET', `/v1/containers/${id}`);
    assert.equal(r.status, 200, r.text);
    return r.body.item;
  }

  /** Polls until the container is in one of `states`; fails on a state outside `passing`. */
  async waitFor(id: string, states: string[], timeoutMs = 120_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = await this.get(id);
      if (states.includes(item.state)) return item;
      if (Date.now() > deadline) throw new Error(`container ${id} is ${item.state}, not ${states.join('|')}: ${JSON.stringify(item)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async logs(id: string, query = ''): Promise<Array<{ timestamp: string; stream: string; message: string }>> {
    const r = await this.call('GET', `/v1/containers/${id}/logs${query}`);
    assert.equal(r.status, 200, r.text);
    return r.body.items;
  }
}

/**
 * Nothing of any container is left: no VMM of this data dir, no tap, no anti-spoofing entry, no run dir, no
 * disk, no log, no row.
 */
export async function assertNoLeaks(world: E2eEnv): Promise<void> {
  assert.deepEqual(await vmmsUnder(world.dataDir), [], 'no VMM process');
  const taps = (await listLinks()).filter((l) => l.name.startsWith('hth'));
  assert.deepEqual(taps.map((t) => t.name), [], 'no tap');
  assert.deepEqual(await listTapSenders(), [], 'no entry in the anti-spoofing table');
  // Inside a test's network namespace `ip netns exec` remounts /sys without the cgroup hierarchies, so the
  // manager there runs its VMMs without cgroups; test/vmm/jail.test.ts checks them where they exist.
  const cgroups = VmCgroups.detect(cgroupInstance(path.join(world.dataDir, 'vms')));
  assert.deepEqual((await cgroups?.list()) ?? [], [], 'no VMM cgroup');
  for (const dir of ['vms', 'containers']) {
    const left = await readdir(path.join(world.dataDir, dir)).catch(() => []);
    assert.deepEqual(left, [], `nothing in ${dir}/`);
  }
  const list = await world.api.call('GET', '/v1/containers');
  assert.deepEqual(list.body.items, [], 'no container rows');
  const vms = await world.api.call('GET', '/v1/vms');
  assert.deepEqual(vms.body.items, [], 'no VM rows');
  assert.deepEqual(await processesTagged(SHARE_TAG, world.dataDir), [], 'no virtiofsd (host directory share)');
  // Named volumes outlive containers; anonymous ones go with theirs, and no disk is left that no volume names.
  const volumes = ((await world.api.call('GET', '/v1/volumes')).body.items as Array<{ name: string; anonymous: boolean }>) ?? [];
  assert.deepEqual(volumes.filter((v) => v.anonymous).map((v) => v.name), [], 'no anonymous volume');
  const disks = await readdir(path.join(world.dataDir, 'volumes')).catch(() => [] as string[]);
  assert.deepEqual(disks.sort(), volumes.map((v) => `${v.name}.ext4`).sort(), 'a disk for each volume and no other file in volumes/');
}
