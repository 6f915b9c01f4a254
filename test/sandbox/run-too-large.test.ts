/**
 * A process the guest protocol cannot carry is the host's failure, told at once: the launcher refuses it
 * before it makes anything or starts a VMM, and a sandbox that must send it (a VM recorded by an earlier
 * version) reports `failed` with the host's error and ends the VM, instead of reconnecting in a loop.
 * Drivers here are stand-ins: what is tested is what the sandbox layer does before and around them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { encodeFrame, encodeRecords, FrameType, MAX_PAYLOAD, RecordTag } from '../../src/agent/protocol.ts';
import { isHearthError } from '../../src/errors.ts';
import { MicroVmLauncher } from '../../src/sandbox/microvm-launcher.ts';
import { MicroVmSandbox } from '../../src/sandbox/microvm-sandbox.ts';
import type { ProcessSpec } from '../../src/sandbox/sandbox.ts';
import type { ScratchDisks } from '../../src/sandbox/scratch-disk.ts';
import type { VmmDriver, VmProcess } from '../../src/vmm/driver.ts';

const tooBig: ProcessSpec = { argv: ['/x'], env: [`BIG=${'b'.repeat(MAX_PAYLOAD)}`], cwd: '/', user: '', hostname: 'h', hosts: '' };

describe('a RUN message over the protocol limit', () => {
  it('is refused by the launcher before a run directory, a disk or a VMM exists', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-run-limit-'));
    const calls: string[] = [];
    const driver: VmmDriver = {
      name: 'qemu',
      start: async () => {
        calls.push('start');
        throw new Error('not reached');
      },
      adopt: async () => undefined,
      destroy: async () => {},
      findAll: async () => [],
      forgetSaved: () => undefined,
      stateInputs: async () => '',
    };
    const scratch = { create: async () => void calls.push('scratch') } as unknown as ScratchDisks;
    const launcher = new MicroVmLauncher({
      vmsDir: join(dir, 'vms'),
      driver,
      guest: { kernel: '/k', initramfs: '/i', bareInitramfs: '/b' },
      scratch,
      scratchSizeMib: 64,
    });
    try {
      await assert.rejects(
        launcher.launch({ id: 'vm1', rootfs: { path: '/r', fsType: 'erofs' }, process: tooBig, cpus: 1, memoryMib: 256 }),
        (e) => isHearthError(e, 'HEARTH_ERR_RUN_TOO_LARGE') && /over the guest protocol's limit/.test(e.message),
      );
      assert.deepEqual(calls, []);
      assert.equal(existsSync(join(dir, 'vms', 'vm1')), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes a sandbox that must send it fail with the host error, end the VM and send nothing', { timeout: 10_000 }, async () => {
    const written: Buffer[] = [];
    const control = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        written.push(chunk);
        done();
      },
    });
    let end!: () => void;
    const exited = new Promise<{ reason: string }>((resolve) => (end = () => resolve({ reason: 'terminated' })));
    let connects = 0;
    let terminated = 0;
    const vm: VmProcess = {
      id: 'vm1',
      pid: 1,
      accel: 'tcg',
      paused: false,
      connectControl: async () => {
        connects++;
        return control;
      },
      exited,
      terminate: async () => {
        terminated++;
        end();
      },
      detach: () => {},
      pause: () => Promise.reject(new Error('not used')),
      resume: () => Promise.reject(new Error('not used')),
      usage: () => Promise.reject(new Error('not used')),
      saveState: () => Promise.reject(new Error('not used')),
      controlOpened: () => Promise.reject(new Error('not used')),
    };
    const info = { id: 'vm1', vmm: 'qemu' as const, pid: 1, accel: 'tcg' as const, vcpus: 1, memoryMib: 256, guestIp: null };
    const sandbox = new MicroVmSandbox(info, vm, '/nonexistent', { spec: tooBig, rootfsType: 'ext4' }, async () => {});
    const failed = new Promise<Error>((resolve) => sandbox.once('failed', ({ error }) => resolve(error)));
    const agentErrors: unknown[] = [];
    sandbox.on('agentError', (e) => agentErrors.push(e));
    await sandbox.attach();
    control.push(encodeFrame(FrameType.HELLO, encodeRecords([[RecordTag.AGENT_VERSION, '1'], [RecordTag.STATE, 'waiting']])));
    const error = await failed;
    assert.ok(isHearthError(error, 'HEARTH_ERR_RUN_TOO_LARGE'), String(error));
    assert.equal(await sandbox.wait(), null);
    assert.equal(terminated, 1);
    assert.deepEqual(written, [], 'no RUN frame went out');
    assert.deepEqual(agentErrors, [], 'not reported as the guest agent failing');
    assert.equal(connects, 1, 'no reconnection');
  });
});
