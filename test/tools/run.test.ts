/**
 * runTool through the program spawner (src/tools/spawner.ts): the same results and errors as a direct spawn,
 * many at once, and a spawner that died is replaced.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTool } from '../../src/tools/run.ts';

const failsWith = (code: string, message: RegExp) => (e: Error & { code?: string }) => e.code === code && message.test(e.message);

describe('runTool', () => {
  it('gives a program its arguments, input (bytes), environment and directory, and returns its output', async () => {
    assert.deepEqual(await runTool('echo', ['a b', 'c']), { stdout: 'a b c\n', stderr: '' });
    assert.equal((await runTool('od', ['-An', '-tx1'], { input: Buffer.from([0, 0xff, 0x80]) })).stdout.trim(), '00 ff 80');
    const r = await runTool('sh', ['-c', 'echo "$FOO"; pwd; echo warn >&2'], { env: { FOO: 'bar', PATH: '/usr/bin:/bin' }, cwd: '/tmp' });
    assert.deepEqual(r, { stdout: 'bar\n/tmp\n', stderr: 'warn\n' });
  });

  it('fails as a person can act on: a missing program, an exit code with the program\'s words, a time limit', async () => {
    await assert.rejects(runTool('hearth-no-such-program', []), failsWith('HEARTH_ERR_TOOL_MISSING', /hearth-no-such-program is not installed \(run scripts\/setup.sh\)/));
    await assert.rejects(runTool('sh', ['-c', 'echo broken >&2; exit 3']), failsWith('HEARTH_ERR_TOOL_FAILED', /^sh -c echo broken >&2; exit 3 exited with 3: broken$/));
    await assert.rejects(runTool('sleep', ['30'], { timeoutMs: 100 }), failsWith('HEARTH_ERR_TOOL_FAILED', /sleep 30 was killed by SIGKILL/));
    assert.deepEqual(await runTool('sh', ['-c', 'exit 1'], { okExitCodes: [1] }), { stdout: '', stderr: '' });
  });

  it('runs many at once, and replaces a spawner that died', async () => {
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => runTool('echo', [String(i)])));
    assert.deepEqual(many.map((r) => r.stdout), Array.from({ length: 30 }, (_, i) => `${i}\n`));
    const spawner = Number((await runTool('sh', ['-c', 'echo $PPID'])).stdout);
    assert.ok(spawner !== process.pid, 'programs are the spawner\'s children, not this process\'s');
    process.kill(spawner, 'SIGKILL');
    for (const end = Date.now() + 5_000; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
      try {
        process.kill(spawner, 0);
      } catch {
        break;
      }
    }
    assert.equal((await runTool('echo', ['again'])).stdout, 'again\n');
    assert.notEqual(Number((await runTool('sh', ['-c', 'echo $PPID'])).stdout), spawner, 'a new spawner');
  });
});
