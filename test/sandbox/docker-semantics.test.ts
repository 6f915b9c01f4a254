/**
 * Docker's rules for the process, checked inside real microVMs. Each row is what Docker documents for
 * `docker run` with that image config and those arguments (ENTRYPOINT/CMD table, -e, WORKDIR, USER).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageProcessConfig } from '../../src/containers/process-spec.ts';
import { vmSuite } from '../helpers/vm-env.ts';
import { runToExit } from '../helpers/run-vm.ts';

interface Row {
  name: string;
  config: ImageProcessConfig;
  args?: string[];
  env?: Record<string, string>;
  stdout: string | RegExp;
}

const rows: Row[] = [
  { name: 'Cmd alone', config: { cmd: ['echo', 'cmd'] }, stdout: 'cmd\n' },
  { name: 'args replace Cmd', config: { cmd: ['echo', 'cmd'] }, args: ['echo', 'args'], stdout: 'args\n' },
  { name: 'Entrypoint + Cmd', config: { entrypoint: ['echo', 'ep'], cmd: ['cmd'] }, stdout: 'ep cmd\n' },
  { name: 'Entrypoint + args (Cmd dropped)', config: { entrypoint: ['echo', 'ep'], cmd: ['cmd'] }, args: ['a1', 'a2'], stdout: 'ep a1 a2\n' },
  { name: 'Entrypoint alone', config: { entrypoint: ['echo', 'only'] }, stdout: 'only\n' },
  {
    name: 'request env overrides image suite.env, PATH kept',
    config: { entrypoint: ['/bin/sh', '-c', 'echo "$A|$B|$PATH"'], env: ['A=image', 'B=image', 'PATH=/bin:/custom'] },
    env: { B: 'request' },
    stdout: 'image|request|/bin:/custom\n',
  },
  { name: 'default PATH when the image has none', config: { cmd: ['/bin/sh', '-c', 'echo $PATH'] }, stdout: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' },
  { name: 'HOSTNAME and hostname', config: { cmd: ['/bin/sh', '-c', 'echo $HOSTNAME $(hostname) $(cat /etc/hostname)'] }, stdout: 'h-test h-test h-test\n' },
  { name: 'WorkingDir', config: { cmd: ['pwd'], workingDir: '/srv' }, stdout: '/srv\n' },
  { name: 'WorkingDir created when missing', config: { cmd: ['pwd'], workingDir: '/new/dir' }, stdout: '/new/dir\n' },
  { name: 'root by default, HOME=/root', config: { cmd: ['/bin/sh', '-c', 'echo $(id -u):$(id -g) $HOME'] }, stdout: '0:0 /root\n' },
  {
    name: 'User by name: uid, primary gid, supplementary groups, HOME',
    config: { cmd: ['/bin/sh', '-c', 'echo $(id -u):$(id -g):$(id -G | tr " " "\\n" | sort -n | uniq | tr "\\n" ,) $HOME'], user: 'app' },
    stdout: '1000:1000:29,1000,2000, /home/app\n',
  },
  { name: 'User name:group', config: { cmd: ['/bin/sh', '-c', 'echo $(id -u):$(id -g)'], user: 'app:extra' }, stdout: '1000:2000\n' },
  { name: 'User by number', config: { cmd: ['/bin/sh', '-c', 'echo $(id -u):$(id -g) $HOME'], user: '1500' }, stdout: '1500:1500 /srv\n' },
  { name: 'User uid:gid', config: { cmd: ['/bin/sh', '-c', 'echo $(id -u):$(id -g)'], user: '1000:2000' }, stdout: '1000:2000\n' },
  { name: 'numeric User not in /etc/passwd', config: { cmd: ['/bin/sh', '-c', 'echo $(id -u):$(id -g) $HOME'], user: '4242' }, stdout: '4242:0 /\n' },
];

describe('Docker process semantics in a microVM', () => {
  const suite = vmSuite();

  for (const row of rows) {
    it(row.name, async () => {
      const r = await runToExit(suite.env, { image: suite.busybox, config: row.config, args: row.args, env: row.env, hostname: 'h-test' });
      assert.equal(r.exit?.code, 0, r.stderr);
      if (typeof row.stdout === 'string') assert.equal(r.stdout, row.stdout);
      else assert.match(r.stdout, row.stdout);
    });
  }

  it('refuses an unknown user by name with a message', async () => {
    const r = await runToExit(suite.env, { image: suite.busybox, config: { cmd: ['true'], user: 'nobody-here' } });
    assert.notEqual(r.exit?.code, 0);
    assert.match(r.agentErrors.join('\n'), /nobody-here/);
  });
});
