/**
 * Exec sessions inside a real microVM (QEMU microvm, TCG): Docker's exit codes, binary output and stdin, a
 * terminal driven like a person would, user and working directory, many at once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Sandbox } from '../../src/sandbox/sandbox.ts';
import { ending, execSpec, execToEnd, gather, runningContainer, sha256, until } from '../helpers/exec-run.ts';
import { vmSuite } from '../helpers/vm-env.ts';
import type { VmEnv } from '../helpers/vm-env.ts';

describe('exec in a running microVM', () => {
  const suite = vmSuite();
  describe('in one container', execTests(suite));
  describe('with capabilities', () => {
    let vm: Sandbox;
    before(async () => {
      vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000', { capabilities: 0xa80425fb });
    });
    after(async () => {
      if (vm) await ending(vm);
    });

    it("gives an exec the main process's capabilities unless it names its own", async () => {
      const capEff = async (more = {}) => (await execToEnd(vm, execSpec(['grep', 'CapEff', '/proc/self/status'], more))).stdout.toString();
      assert.equal(await capEff(), 'CapEff:\t00000000a80425fb\n');
      assert.equal(await capEff({ capabilities: 2 ** 41 - 1 }), 'CapEff:\t000001ffffffffff\n');
      assert.equal(await capEff({ capabilities: 0 }), 'CapEff:\t0000000000000000\n');
    });
  });
});

function execTests(suite: { env: VmEnv; busybox: string }) {
  return () => {
    let vm: Sandbox;
    before(async () => {
      vm = await runningContainer(suite.env, suite.busybox, 'exec sleep 100000');
    });
    after(async () => {
      if (vm) await ending(vm);
    });

    it('reports exit codes 0, 1, 2, 126 and 127 with Docker\'s messages', async () => {
      for (const [argv, code] of [[['true'], 0], [['sh', '-c', 'exit 1'], 1], [['sh', '-c', 'exit 2'], 2]] as const) {
        const r = await execToEnd(vm, execSpec([...argv]));
        assert.deepEqual(r.exit, { code, signal: null }, argv.join(' '));
        assert.deepEqual(r.errors, []);
      }
      const notExecutable = await execToEnd(vm, execSpec(['/etc/passwd']));
      assert.equal(notExecutable.exit?.code, 126);
      assert.match(notExecutable.errors.join(), /exec: "\/etc\/passwd": permission denied/);
      assert.equal(notExecutable.pid, null, 'no STARTED for a command that did not start');
      const missing = await execToEnd(vm, execSpec(['no-such-cmd']));
      assert.equal(missing.exit?.code, 127);
      assert.match(missing.errors.join(), /exec: "no-such-cmd": executable file not found in \$PATH/);
    });

    it('reports 137 for SIGKILL and 143 for SIGTERM sent to the session', async () => {
      for (const [signo, code] of [[9, 137], [15, 143]] as const) {
        const session = await vm.exec(execSpec(['sleep', '100']));
        const result = gather(session);
        await new Promise<void>((resolve) => session.once('started', () => resolve()));
        session.signal(signo);
        assert.deepEqual((await result).exit, { code, signal: signo });
      }
    });

    it('carries 10 MB of random bytes through stdout exactly', async () => {
      const r = await execToEnd(vm, execSpec(['sh', '-c', 'head -c 10485760 /dev/urandom > /tmp/r && sha256sum /tmp/r >&2 && cat /tmp/r && rm /tmp/r']));
      assert.equal(r.exit?.code, 0);
      assert.equal(r.stdout.length, 10_485_760);
      assert.equal(r.stderr.toString().split(' ')[0], sha256(r.stdout), 'the guest hashed what the host received');
    });

    it('carries 10 MB through stdin and back, and ends cat with stdin EOF', async () => {
      const input = randomBytes(10_485_760);
      const r = await execToEnd(vm, execSpec(['cat'], { stdin: true }), input);
      assert.equal(r.exit?.code, 0);
      assert.equal(r.stdout.length, input.length);
      assert.equal(sha256(r.stdout), sha256(input));
    });

    it('gives a command without stdin /dev/null', async () => {
      const r = await execToEnd(vm, execSpec(['sh', '-c', 'cat; readlink /proc/self/fd/0; [ -t 1 ] || echo notty']));
      assert.equal(r.stdout.toString(), '/dev/null\nnotty\n');
    });

    it('drives a terminal: tty, stty size, resize, Ctrl-C and a surviving shell', async () => {
      const session = await vm.exec(execSpec(['sh'], { tty: true, stdin: true, size: { rows: 30, cols: 100 } }));
      const result = gather(session);
      const say = (line: string) => session.write(Buffer.from(line));
      say('tty; echo "T=$TERM"\n');
      await until(result.text, /\n\/dev\/pts\/\d+\r?\n/);
      await until(result.text, /T=xterm/);
      say('stty size\n');
      await until(result.text, /\n30 100\r?\n/);
      session.resize(40, 120);
      say('stty size\n');
      await until(result.text, /\n40 120\r?\n/);
      say('echo go; sleep 100\n');
      await until(result.text, /\ngo\r?\n/);
      await new Promise((r) => setTimeout(r, 1000)); // let the shell start sleep in the foreground
      say('\x03');
      await until(result.text, /\^C/);
      say('echo status=$?\n');
      await until(result.text, /status=130/); // sleep died of SIGINT; the shell did not
      say('echo alive-$((20+22))\n');
      await until(result.text, /alive-42/);
      say('exit 3\n');
      const r = await result;
      assert.deepEqual(r.exit, { code: 3, signal: null });
      assert.equal(r.stderr.length, 0, 'with a tty everything is one stream');
    });

    it('honours user and working directory, and falls back to the container\'s', async () => {
      const r = await execToEnd(vm, execSpec(['sh', '-c', 'id -u; id -g; pwd; echo $HOME'], { user: 'app', cwd: '/tmp/work' }));
      assert.equal(r.stdout.toString(), '1000\n1000\n/tmp/work\n/home/app\n');
      const d = await execToEnd(vm, execSpec(['sh', '-c', 'id -u; pwd']));
      assert.equal(d.stdout.toString(), '0\n/\n');
      const bad = await execToEnd(vm, execSpec(['true'], { user: 'nobody-here' }));
      assert.equal(bad.exit?.code, 125);
      assert.match(bad.errors.join(), /nobody-here/);
    });

    it('runs 8 execs at once', async () => {
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => execToEnd(vm, execSpec(['sh', '-c', `sleep 2; echo n${i}; echo e${i} >&2; exit ${i}`]))),
      );
      runs.forEach((r, i) => {
        assert.deepEqual(r.exit, { code: i, signal: null });
        assert.equal(r.stdout.toString(), `n${i}\n`);
        assert.equal(r.stderr.toString(), `e${i}\n`);
      });
      const pids = new Set(runs.map((r) => r.pid));
      assert.equal(pids.size, 8, 'eight distinct processes');
    });
  };
}
