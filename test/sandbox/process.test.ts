/**
 * The container process inside a real microVM (QEMU microvm, TCG): output, exit codes, Docker's
 * Entrypoint/Cmd/Env/WorkingDir/User rules, stop, orphan reaping, isolation of writes, no listening sockets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { staticOnlyImage } from '../helpers/test-images.ts';
import { vmSuite } from '../helpers/vm-env.ts';
import { runToExit } from '../helpers/run-vm.ts';

const sh = (script: string) => ({ config: { cmd: ['/bin/sh', '-c', script] } });

describe('a container process in a microVM', () => {
  const suite = vmSuite();

  it('keeps stdout and stderr apart and in order', async () => {
    const started = Date.now();
    const r = await runToExit(suite.env, { image: suite.busybox, ...sh('for i in $(seq 1 200); do echo out$i; echo err$i >&2; done') });
    assert.deepEqual(r.exit, { code: 0, signal: null });
    const expect = (p: string) => Array.from({ length: 200 }, (_, i) => `${p}${i + 1}\n`).join('');
    assert.equal(r.stdout, expect('out'));
    assert.equal(r.stderr, expect('err'));
    for (const chunk of r.chunks) assert.ok(chunk.data.toString().endsWith('\n'), 'chunks end at a line end');
    assert.ok(r.chunks.every((c) => c.timestamp.getTime() <= Date.now()), 'no chunk is stamped in the future');
    assert.ok(r.chunks.every((c) => c.timestamp.getTime() >= started - 50), 'the guest clock follows the host to within 50 ms, not the RTC second');
  });

  it('loses nothing of 10 MB of output', async () => {
    const r = await runToExit(suite.env, { image: suite.busybox, ...sh('seq 1 1400000') });
    assert.deepEqual(r.exit, { code: 0, signal: null });
    const expected = Array.from({ length: 1_400_000 }, (_, i) => `${i + 1}\n`).join('');
    assert.ok(expected.length > 10_000_000);
    assert.equal(r.stdout.length, expected.length);
    assert.equal(r.stdout, expected);
  });

  it('reports exit codes 0, 7 and 137 for SIGKILL exactly', async () => {
    for (const [script, code] of [['exit 0', 0], ['exit 7', 7], ['kill -9 $$', 137]] as const) {
      const r = await runToExit(suite.env, { image: suite.busybox, ...sh(script) });
      assert.equal(r.exit?.code, code, script);
    }
  });

  it('runs an image with no shell and no libc', async () => {
    const r = await runToExit(suite.env, { image: await staticOnlyImage(), config: { entrypoint: ['/hello'], cmd: ['a b'] } });
    assert.equal(r.exit?.code, 5);
    assert.equal(r.stdout, 'argv[0]=/hello\nargv[1]=a b\ncwd=/ uid=0\n');
  });

  it('says why when the executable does not exist, with 127', async () => {
    const r = await runToExit(suite.env, { image: suite.busybox, config: { cmd: ['no-such-program'] } });
    assert.equal(r.exit?.code, 127);
    assert.match(r.agentErrors.join('\n'), /no-such-program.*not found/);
  });

  it('reaps orphans', async () => {
    // Children that outlive their parent are re-parented to PID 1 in the guest; when they exit, only
    // PID 1 can reap them. Count zombies after they have all exited.
    const script = 'for i in 1 2 3 4 5; do (sleep 0.2 &) ; done; sleep 1.5; ' +
      'z=0; for s in /proc/[0-9]*/stat; do case "$(cut -d" " -f3 $s 2>/dev/null)" in Z) z=$((z+1));; esac; done; echo zombies=$z';
    const r = await runToExit(suite.env, { image: suite.busybox, ...sh(script) });
    assert.equal(r.stdout.trim(), 'zombies=0');
  });

  it('exposes no listening network socket in the guest', async () => {
    const script = 'cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null | grep -v local_address | wc -l; ' +
      'grep -c " 00010000 0001 01 " /proc/net/unix; ls /proc/net/';
    const r = await runToExit(suite.env, { image: suite.busybox, ...sh(script) });
    const [inetSockets, listeningUnix] = r.stdout.split('\n');
    assert.equal(inetSockets?.trim(), '0', 'no TCP or UDP socket at all');
    assert.equal(listeningUnix?.trim(), '0', 'no listening unix socket');
    assert.match(r.stdout, /\btcp\b/, 'the probe really read /proc/net');
  });
});
