/** QMP connections give up instead of waiting forever on a QEMU that does not answer. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { QmpClient } from '../../src/vmm/qemu/qmp.ts';

it('times out when the greeting never comes (QEMU stopped, or serving another client)', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-qmp-'));
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(path.join(dir, 'qmp.sock'), r));
  try {
    const started = Date.now();
    await assert.rejects(QmpClient.connect(path.join(dir, 'qmp.sock'), 200), /did not answer within 200 ms/);
    assert.ok(Date.now() - started < 2_000);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
