/**
 * VMs resumed from a template (sandbox/vm-templates.ts) with real microVMs: each clone is its own machine, runs
 * the process it was given, is confined exactly as a booted VM, and a template that fails to resume is
 * discarded while the VM boots instead.
 */
import assert from 'node:assert/strict';
import { readFile, readlink, truncate } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { CACHE_DIR, collect, makeLauncher, vmSuite } from '../helpers/vm-env.ts';
import type { MicroVmLauncher } from '../../src/sandbox/microvm-launcher.ts';
import { runToExit, sandboxSpec } from '../helpers/run-vm.ts';
import type { RunOptions } from '../helpers/run-vm.ts';

const suite = vmSuite();
const sh = (script: string) => ({ config: { cmd: ['/bin/sh', '-c', script] } });

/** Runs on `launcher` to the end; its output, and the template it resumed from. */
async function run(launcher: MicroVmLauncher, options: RunOptions): Promise<{ stdout: string; template: string | null | undefined; code: number | undefined }> {
  // Waiting for a failed VMM to be gone polls on timers that do not hold a process open (a manager's server
  // does); this test has nothing else while it waits.
  const hold = setInterval(() => undefined, 1_000);
  const sandbox = await launcher.launch(sandboxSpec(options)).finally(() => clearInterval(hold));
  const c = collect(sandbox);
  const exit = await sandbox.wait();
  await sandbox.release();
  return { stdout: c.stdout, template: sandbox.info.template, code: exit?.code };
}

describe('VMs resumed from a template', () => {
  it("run the image's entrypoint with the container's args, environment, user and working directory", async () => {
    const r = await runToExit(suite.env, {
      image: suite.busybox,
      config: { entrypoint: ['/bin/sh', '-c'], workingDir: '/tmp', user: '1000:1000', env: ['FROM_IMAGE=yes'] },
      args: ['echo "$0 $FROM_IMAGE $X $(id -u):$(id -g) $(pwd) $(hostname)"', 'arg0'],
      env: { X: 'x1' },
      hostname: 'clone-1',
    });
    assert.equal(r.exit?.code, 0);
    assert.equal(r.stdout, 'arg0 yes x1 1000:1000 /tmp clone-1\n');
    const again = await run(suite.env.launcher, { image: suite.busybox, ...sh('true') });
    assert.match(String(again.template), /^[0-9a-f]{32}$/, 'it resumed from a template');
  });

  it('are machines of their own: no two clones share a random stream, a boot id or a machine id', async () => {
    const script = 'cat /proc/sys/kernel/random/boot_id; head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n"; echo; cat /etc/machine-id';
    const clones = await Promise.all([1, 2, 3].map(() => run(suite.env.launcher, { image: suite.busybox, ...sh(script) })));
    const templates = new Set(clones.map((c) => c.template));
    assert.equal(templates.size, 1, 'all three resumed from the same template');
    assert.notEqual([...templates][0], null);
    const bootIds = clones.map((c) => c.stdout.split('\n')[0]);
    const randoms = clones.map((c) => c.stdout.split('\n')[1]);
    assert.equal(new Set(bootIds).size, 3, `distinct boot ids: ${bootIds.join(' ')}`);
    assert.equal(new Set(randoms).size, 3, `distinct random bytes: ${randoms.join(' ')}`);
    assert.ok(randoms.every((r) => /^[0-9a-f]{64}$/.test(r!)));
    // The image's /etc/machine-id is empty (systemd's "make one at first boot"): each clone gets its own.
    const machineIds = clones.map((c) => c.stdout.split('\n')[2]);
    assert.ok(machineIds.every((m) => /^[0-9a-f]{32}$/.test(m!)), `machine ids: ${machineIds.join(' ')}`);
    assert.equal(new Set(machineIds).size, 3, `distinct machine ids: ${machineIds.join(' ')}`);
  });

  it('run confined exactly as a booted VM: the same uid range, no capabilities, no_new_privs, seccomp, namespaces of their own', async () => {
    const cold = await makeLauncher(suite.env.vmsDir, true, false);
    const confinement = async (launcher: MicroVmLauncher) => {
      const sandbox = await launcher.launch(sandboxSpec({ image: suite.busybox, ...sh('sleep 30') }));
      try {
        const status = await readFile(`/proc/${sandbox.info.pid}/status`, 'utf8');
        const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
        const uid = Number(field('Uid')!.split(/\s+/)[0]);
        const own = await Promise.all(['mnt', 'net', 'ipc', 'uts'].map(async (k) => (await readlink(`/proc/${sandbox.info.pid}/ns/${k}`)) !== (await readlink(`/proc/self/ns/${k}`))));
        return {
          template: sandbox.info.template ?? null,
          confinement: { jailUid: uid >= 1_900_000_000, capEff: field('CapEff'), capBnd: field('CapBnd'), noNewPrivs: field('NoNewPrivs'), seccomp: field('Seccomp'), ownNamespaces: own },
        };
      } finally {
        await sandbox.kill();
        await sandbox.release();
      }
    };
    const resumed = await confinement(suite.env.launcher);
    const booted = await confinement(cold);
    assert.notEqual(resumed.template, null, 'the first resumed');
    assert.equal(booted.template, null, 'the second booted');
    assert.deepEqual(resumed.confinement, booted.confinement);
    assert.deepEqual(booted.confinement, { jailUid: true, capEff: '0000000000000000', capBnd: '0000000000000000', noNewPrivs: '1', seccomp: '2', ownNamespaces: [true, true, true, true] });
  });
});

describe('a template that fails to resume', () => {
  const warnings: string[] = [];
  let launcher: MicroVmLauncher;
  before(async () => {
    launcher = await makeLauncher(suite.env.vmsDir, true, true, (m) => warnings.push(m));
  });

  it('is discarded, the VM boots instead with the reason logged, and the next VM of its shape builds it anew', async () => {
    // A shape of its own (this memory size), so no other test resumes from the template this one breaks.
    const options = { image: suite.busybox, memoryMib: 77, ...sh('echo up') };
    const first = await run(launcher, options);
    assert.equal(first.stdout, 'up\n');
    assert.ok(first.template);
    const state = path.join(CACHE_DIR, 'vm-templates', first.template, 'state');
    await truncate(state, 4096);

    const fallback = await run(launcher, options);
    assert.equal(fallback.stdout, 'up\n', 'it ran all the same');
    assert.equal(fallback.template, null, 'it booted');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`resuming it from template ${first.template} failed \\(the template is discarded\\): QEMU did not resume the saved VM`));

    const rebuilt = await run(launcher, options);
    assert.equal(rebuilt.template, first.template, 'the same shape and inputs: the same key, built again');
    assert.equal(rebuilt.stdout, 'up\n');
  });
});
