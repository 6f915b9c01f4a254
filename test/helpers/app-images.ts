/**
 * The images the manager's end-to-end tests pull, generated here and pushed to a local registry under
 * Docker Hub names (the registry stands in as the docker.io mirror):
 * - `hello-world:latest`: one static program that greets and exits 0;
 * - `busybox:latest`: busybox with every applet, users as in test-images.ts;
 * - `webapp:latest`: busybox httpd serving /www on port 80 (ExposedPorts 80/tcp).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pusher, pushImage } from './registry-push.ts';
import type { TarSpec } from './tar-writer.ts';
import { GROUP, PASSWD } from './test-images.ts';

const PROGRAMS = path.resolve(import.meta.dirname, '../fixtures/programs');

export const HELLO_OUTPUT = 'Hello from Hearth!';
export const WEBAPP_PAGE = '<h1>hearth webapp</h1>\n';

export function busyboxEntries(): TarSpec[] {
  const applets = execFileSync('/bin/busybox', ['--list']).toString().split('\n').filter((a) => a && a !== 'busybox');
  return [
    { path: 'bin/', type: 'dir' },
    { path: 'bin/busybox', content: readFileSync('/bin/busybox'), mode: 0o755 },
    ...applets.map((a): TarSpec => ({ path: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { path: 'etc/', type: 'dir' },
    { path: 'etc/passwd', content: PASSWD },
    { path: 'etc/group', content: GROUP },
    { path: 'tmp/', type: 'dir', mode: 0o1777 },
    { path: 'home/app/', type: 'dir', uid: 1000, gid: 1000 },
  ];
}

function helloBinary(): Buffer {
  const out = path.join(os.tmpdir(), `hearth-hello-${process.pid}`);
  execFileSync('musl-gcc', ['-static', '-Os', '-s', '-o', out, path.join(PROGRAMS, 'hello.c')]);
  try {
    return readFileSync(out);
  } finally {
    rmSync(out, { force: true });
  }
}

export async function pushAppImages(registryUrl: string): Promise<void> {
  const pusher = new Pusher(registryUrl);
  await pushImage(pusher, 'library/hello-world', 'latest', [{ entries: [{ path: 'hello', content: helloBinary(), mode: 0o755 }] }], {
    config: { Cmd: ['/hello'] },
  });
  const base = { entries: busyboxEntries() };
  await pushImage(pusher, 'library/busybox', 'latest', [base], { config: { Cmd: ['sh'] } });
  await pushImage(
    pusher,
    'library/webapp',
    'latest',
    [base, { entries: [{ path: 'www/', type: 'dir' }, { path: 'www/index.html', content: WEBAPP_PAGE }], compression: 'zstd' }],
    {
      config: {
        Cmd: ['httpd', '-f', '-v', '-p', '80', '-h', '/www'],
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ExposedPorts: { '80/tcp': {} },
        StopSignal: 'SIGTERM',
      },
    },
  );
}
