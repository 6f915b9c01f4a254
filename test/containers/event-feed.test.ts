/** The event feed's seam: events written while the backlog is read are delivered once, in order, none lost. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { followEvents } from '../../src/containers/event-feed.ts';
import { ContainerStore } from '../../src/store/container-store.ts';

it('events written during the backlog read are neither lost nor repeated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-feed-'));
  const store = await ContainerStore.openSqlite(join(dir, 'hearth.db'));
  try {
    const now = new Date().toISOString();
    await store.insertContainer({
      id: '00000000-0000-4000-8000-000000000001', name: 'c', image: 'i', args: [], env_vars: {}, volumes: [], port_mappings: [],
      restart_policy: 'no', restart_max_retries: null, tty: false, stdin_open: false, cpus: null, memory_mib: null, state: 'creating', desired_state: 'running', restart_count: 0, exit_code: null, oom_killed: false,
      error_message: null, vm_id: '00000000-0000-4000-8000-000000000002', container_id: 'f'.repeat(64), guest_ip: null,
      created_at: now, updated_at: now, started_at: null, finished_at: null, image_stop_signal: null, image_digest: null,
      dns_search: [], dns_options: [], stop_signal: null, stop_timeout_s: null,
      healthcheck: null, health: null, entrypoint: null, working_dir: null, user: null, labels: {}, auto_remove: false, networks: [], hostname: null, extra_hosts: [], dns: [],
      tmpfs: [], cap_add: [], cap_drop: [], privileged: false,
    });
    const add = (i: number) => store.addEvent({ container_id: '00000000-0000-4000-8000-000000000001', type: 'updated', from_state: null, to_state: null, message: String(i) });
    for (let i = 0; i < 50; i++) await add(i);
    const seen: number[] = [];
    const stop = new AbortController();
    // Writes started before the feed and still under way while it reads the backlog.
    const writes = Promise.all(Array.from({ length: 200 }, (_, i) => add(50 + i)));
    await followEvents(store, {}, (e) => seen.push(e.id), () => {}, stop.signal);
    await writes;
    stop.abort();
    const all = (await store.listAllEvents()).map((e) => e.id);
    assert.equal(all.length, 251);
    assert.deepEqual(seen, all);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
