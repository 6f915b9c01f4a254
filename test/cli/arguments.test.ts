/**
 * The CLI's parsing, without a manager: which flags each verb takes and where its arguments start (options
 * after IMAGE belong to the process, as docker's), docker's flag syntaxes turned into the create request,
 * HEARTH_HOST spellings, the completion script, and the client's handling of the API's answers (against a
 * small local HTTP server standing in for the manager).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, Client, managerUrl, seg } from '../../src/cli/client.ts';
import { bashCompletion } from '../../src/cli/completion.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { createRequest, generatedName } from '../../src/cli/verbs/run.ts';
import { parseEnv, parseMemory, parsePort, parseRestart, parseVolume, RunUsageError } from '../../src/cli/verbs/run-options.ts';

/** What commander hands the verb's action: its name, positional arguments and options; the action never runs. */
async function parse(args: string[]): Promise<{ verb: string; args: unknown[]; opts: Record<string, unknown>; host?: string }> {
  const program = buildProgram({ status: 0 }).configureOutput({ writeErr: () => {}, writeOut: () => {} });
  let seen: { verb: string; args: unknown[]; opts: Record<string, unknown>; host?: string } | undefined;
  program.hook('preAction', (_top, cmd) => {
    seen = { verb: cmd.name(), args: cmd.processedArgs, opts: cmd.opts(), host: cmd.optsWithGlobals<{ host?: string }>().host };
    throw new Error('parsed');
  });
  await assert.rejects(program.parseAsync(args, { from: 'user' }), /parsed/);
  return seen!;
}

describe('the command line', () => {
  it("run: flags before IMAGE are hearth's, everything after it the process's", async () => {
    const r = await parse(['run', '-it', '--rm', '-p', '8080:80', '-p', '127.0.0.1:53:53/udp', '-e', 'A=1', '--memory', '1g', 'busybox', 'sh', '-c', 'x', '-d', '--rm']);
    assert.equal(r.verb, 'run');
    assert.deepEqual(r.args, ['busybox', ['sh', '-c', 'x', '-d', '--rm']]);
    assert.deepEqual(r.opts, { interactive: true, tty: true, rm: true, publish: ['8080:80', '127.0.0.1:53:53/udp'], env: ['A=1'], memory: '1g' });
  });

  it('exec: -it, then the container and its command with its own flags', async () => {
    const r = await parse(['exec', '-it', '-u', 'app', 'web', 'ls', '-la', '/']);
    assert.deepEqual(r.args, ['web', ['ls', '-la', '/']]);
    assert.deepEqual(r.opts, { interactive: true, tty: true, user: 'app' });
  });

  it('--host before or after the verb; repeatable and numeric flags', async () => {
    assert.equal((await parse(['--host', 'http://a:1', 'ps', '-a'])).host, 'http://a:1');
    assert.equal((await parse(['ps', '--host', 'http://b:2'])).host, 'http://b:2');
    assert.deepEqual((await parse(['stop', '-t', '3', 'a', 'b'])).opts, { time: 3 });
    assert.deepEqual((await parse(['stats', '--no-stream'])).opts, { stream: false });
    assert.deepEqual((await parse(['volume', 'create', '-l', 'a=b', '-l', 'c', 'v1'])).args, ['v1']);
    assert.deepEqual((await parse(['logs', '-f', '-n', '5', '-t', 'web'])).opts, { follow: true, tail: '5', timestamps: true });
  });

  it('refuses an unknown flag, a missing argument and a bad number', async () => {
    for (const args of [['ps', '--bogus'], ['logs'], ['stop', '-t', 'soon', 'a'], ['exec', 'web']]) {
      const program = buildProgram({ status: 0 }).configureOutput({ writeErr: () => {}, writeOut: () => {} });
      await assert.rejects(program.parseAsync(args, { from: 'user' }), { name: 'CommanderError' }, args.join(' '));
    }
  });

  it('the bash completion knows every verb and their flags', () => {
    const script = bashCompletion(buildProgram({ status: 0 }));
    assert.match(script, /words="run exec ps logs start stop restart rm inspect pull images rmi volume events stats completion serve/);
    assert.match(script, /^ {4}volume\) words="--help ls create rm" ;;$/m);
    assert.match(script, /^ {4}run\) words="--host -d --detach -i --interactive -t --tty .*--rm --help" ;;$/m);
    assert.match(script, /^complete -o default -F _hearth hearth$/m);
  });
});

describe("docker's run flags as the create request", () => {
  it('ports, variables, volumes, sizes and policies', () => {
    assert.deepEqual(parsePort('8080:80'), { container_port: 80, host_port: 8080, protocol: 'tcp' });
    assert.deepEqual(parsePort('127.0.0.1:5353:53/udp'), { container_port: 53, host_port: 5353, protocol: 'udp', host_ip: '127.0.0.1' });
    for (const bad of ['80', '8080:http', '1:2:3:4', '80:80/sctp', '0:80', '70000:80']) assert.throws(() => parsePort(bad), RunUsageError, bad);
    assert.deepEqual(parseEnv(['A=1', 'B=', 'C=x=y', 'HOME', 'UNSET_HERE'], { HOME: '/root' }), { A: '1', B: '', C: 'x=y', HOME: '/root' });
    assert.throws(() => parseEnv(['=x']), RunUsageError);
    assert.deepEqual(parseVolume('data:/var/lib/db'), { name: 'data', container_path: '/var/lib/db' });
    assert.deepEqual(parseVolume('/srv/site:/www:ro'), { host_path: '/srv/site', container_path: '/www', readonly: true });
    assert.deepEqual(parseVolume('./site:/www', '/home/me'), { host_path: '/home/me/site', container_path: '/www' });
    assert.deepEqual(parseVolume('~/x:/x', '/', '/home/me'), { host_path: '/home/me/x', container_path: '/x' });
    assert.deepEqual(parseVolume('/scratch'), { container_path: '/scratch' });
    assert.throws(() => parseVolume('a:b:c:d'), RunUsageError);
    assert.equal(parseMemory('512m'), 512);
    assert.equal(parseMemory('1g'), 1024);
    assert.equal(parseMemory('1.5GiB'), 1536);
    assert.equal(parseMemory(String(100 * 2 ** 20 + 1)), 101, 'bytes, rounded up to a MiB');
    assert.throws(() => parseMemory('lots'), RunUsageError);
    assert.deepEqual(parseRestart('on-failure:3'), { restart_policy: 'on-failure', restart_max_retries: 3 });
    assert.deepEqual(parseRestart('unless-stopped'), { restart_policy: 'always' });
    assert.throws(() => parseRestart('always:3'), RunUsageError);
  });

  it('the whole request; --rm with a restart policy is refused; a name is made when none is given', () => {
    assert.deepEqual(createRequest('busybox', ['sleep', '1'], { name: 'x', interactive: true, cpus: '0.5', publish: ['1:2'] }), {
      name: 'x',
      image: 'busybox',
      args: ['sleep', '1'],
      port_mappings: [{ container_port: 2, host_port: 1, protocol: 'tcp' }],
      cpus: 0.5,
      tty: false,
      stdin_open: true,
    });
    assert.throws(() => createRequest('busybox', [], { rm: true, restart: 'always' }), /--rm and --restart/);
    assert.throws(() => createRequest('busybox', [], { rm: true, detach: true }), /--rm needs the run in the foreground/);
    assert.match(generatedName('registry.example.com:5000/team/web-app:1.0'), /^web-app-[0-9a-f]{6}$/);
    assert.match(generatedName('_odd@sha256:abc'), /^c-[0-9a-f]{6}$/);
  });
});

describe('the client', () => {
  it('HEARTH_HOST as a URL, or as the host the manager listens on', () => {
    assert.equal(managerUrl(undefined, {}), 'http://127.0.0.1:18080');
    assert.equal(managerUrl(undefined, { HEARTH_HOST: 'http://h:1/' }), 'http://h:1');
    assert.equal(managerUrl(undefined, { HEARTH_HOST: '0.0.0.0', HEARTH_PORT: '9000' }), 'http://127.0.0.1:9000');
    assert.equal(managerUrl(undefined, { HEARTH_HOST: '10.0.0.5' }), 'http://10.0.0.5:18080');
    assert.equal(managerUrl('https://m.example:443', { HEARTH_HOST: 'ignored' }), 'https://m.example:443');
  });

  it('a user-given name is one path segment, whatever it holds', () => {
    assert.equal(seg('docker.io/library/nginx:alpine'), 'docker.io%2Flibrary%2Fnginx%3Aalpine');
    // A URL cannot carry `.` or `..` as a segment (even escaped, it resolves): no image or volume has such a name.
    assert.throws(() => seg('..'), /'\.\.' names nothing/);
    assert.throws(() => seg('.'), /'\.' names nothing/);
    assert.equal(new URL(`http://h/v1/volumes/${seg('../containers')}`).pathname, '/v1/volumes/..%2Fcontainers');
  });

  let server: http.Server;
  let url: string;
  const seen: (string | undefined)[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.url === '/v1/volumes') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'HEARTH_ERR_INVALID_ARGUMENT', message: 'must match pattern', field: 'body/name' } }));
      } else {
        res.writeHead(502);
        res.end('<html>bad gateway</html>');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("sends the token, and makes the API's error a message naming the field", async () => {
    const client = new Client(url, 'a-token-of-sixteen-chars');
    await assert.rejects(client.json('POST', '/v1/volumes', { body: {} }), (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 400);
      assert.equal(e.code, 'HEARTH_ERR_INVALID_ARGUMENT');
      assert.equal(e.message, 'must match pattern (body/name)');
      return true;
    });
    assert.equal(seen.at(-1), 'Bearer a-token-of-sixteen-chars');
    await assert.rejects(new Client(url, '').json('GET', '/other'), { message: 'the manager answered 502: <html>bad gateway</html>' });
    assert.equal(seen.at(-1), undefined, 'no token, no header');
  });
});
