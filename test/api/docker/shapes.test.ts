/**
 * The Docker shapes as pure functions: a create body as the CLI sends it mapped to Hearth's settings (and
 * what Hearth cannot honour refused, naming the field), container states and status texts, the summary and
 * inspect documents, filters, frames, times, versions and references.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockerError } from '../../../src/api/docker/errors.ts';
import { findContainer } from '../../../src/api/docker/resolve.ts';
import { commandOf, humanDuration, shownStatus, statusOf, statusText, toDockerInspect, toDockerSummary, type ContainerFacts } from '../../../src/api/docker/shapes/container.ts';
import { fromDockerCreate } from '../../../src/api/docker/shapes/create.ts';
import { matchesFilters, parseFilters } from '../../../src/api/docker/shapes/filters.ts';
import { frame, parseDockerTime, unframe } from '../../../src/api/docker/shapes/frames.ts';
import { checkApiVersion, compareVersions } from '../../../src/api/docker/version.ts';
import type { ContainerRecord } from '../../../src/model/index.ts';

/** What `docker run -d --name web -p 8080:80 -e A=1 -v /srv:/data:ro --restart on-failure:3 --memory 64m --cpus 1.5 --rm=false webapp` sends, trimmed to the usual fields. */
function cliBody(over: Record<string, unknown> = {}, host: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ExposedPorts: { '80/tcp': {} },
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: ['A=1', 'UNSET_LOCALLY'],
    Cmd: null,
    Image: 'webapp',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: { tier: 'front' },
    HostConfig: {
      Binds: ['/srv:/data:ro'],
      ContainerIDFile: '',
      LogConfig: { Type: '', Config: {} },
      NetworkMode: 'default',
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      ConsoleSize: [40, 120],
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: '',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: null,
      IpcMode: '',
      Cgroup: '',
      Links: null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 0,
      Isolation: '',
      CpuShares: 0,
      Memory: 64 * 1024 * 1024,
      NanoCpus: 1_500_000_000,
      CgroupParent: '',
      BlkioWeight: 0,
      Devices: [],
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: null,
      OomKillDisable: false,
      PidsLimit: null,
      Ulimits: [],
      Mounts: [{ Type: 'bind', Source: '/etc/hosts', Target: '/hosts', ReadOnly: true }],
      Init: true,
      ...host,
    },
    NetworkingConfig: { EndpointsConfig: {} },
    ...over,
  };
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof DockerError, String(e));
    assert.equal(e.status, 400);
    return e.message;
  }
  assert.fail('not refused');
}

describe('fromDockerCreate', () => {
  it('maps what the CLI sends for docker run', () => {
    const s = fromDockerCreate(cliBody());
    assert.equal(s.image, 'webapp');
    assert.deepEqual(s.args, []);
    assert.deepEqual(s.env_vars, { A: '1' }, 'a NAME alone (unset where the CLI ran) is left out, as Docker does');
    assert.deepEqual(s.labels, { tier: 'front' });
    assert.deepEqual(s.volumes, [
      { host_path: '/srv', container_path: '/data', readonly: true },
      { host_path: '/etc/hosts', container_path: '/hosts', readonly: true },
    ]);
    assert.deepEqual(s.port_mappings, [{ container_port: 80, host_port: 8080, protocol: 'tcp' }]);
    assert.deepEqual([s.restart_policy, s.restart_max_retries], ['on-failure', 3]);
    assert.deepEqual([s.memory_mib, s.cpus], [64, 1.5]);
    assert.deepEqual([s.entrypoint, s.working_dir, s.user, s.tty, s.stdin_open, s.auto_remove], [null, null, null, false, false, false]);
    assert.equal(s.healthcheck, null);
    assert.equal(s.hostname, null, 'no --hostname: the short id');
  });

  it('maps -p ADDR:HOST:CONTAINER and --hostname', () => {
    const s = fromDockerCreate(
      cliBody({ Hostname: 'web1' }, { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }, { HostIp: '::', HostPort: '8081' }] } }),
    );
    assert.deepEqual(s.port_mappings, [
      { container_port: 80, host_port: 8080, protocol: 'tcp', host_ip: '127.0.0.1' },
      { container_port: 80, host_port: 8081, protocol: 'tcp' },
    ]);
    assert.equal(s.hostname, 'web1');
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { PortBindings: { '80/tcp': [{ HostIp: '::1', HostPort: '80' }] } }))), /host address "::1" is not supported by Hearth: give an IPv4 address/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { PortBindings: { '80/tcp': [{ HostIp: '127.0.0.256', HostPort: '80' }] } }))), /host address "127\.0\.0\.256"/);
    for (const bad of ['-web', 'web-', 'web_1', 'web.example.com', 'a'.repeat(64)]) {
      assert.match(refusal(() => fromDockerCreate(cliBody({ Hostname: bad }))), /^invalid hostname format: .*Hostname must be 1 to 63/, bad);
    }
    assert.equal(fromDockerCreate(cliBody({ Hostname: 'a'.repeat(63) })).hostname, 'a'.repeat(63));
  });

  it('maps entrypoints, -w, -u, -it, --rm, health checks and free ports', () => {
    const s = fromDockerCreate(
      cliBody(
        {
          Entrypoint: ['/bin/sh', '-c'],
          Cmd: ['echo hi'],
          WorkingDir: '/srv',
          User: '1000:1000',
          Tty: true,
          OpenStdin: true,
          Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 2_000_000_000, Timeout: 0, Retries: 2, StartPeriod: 500_000_000 },
        },
        { AutoRemove: true, RestartPolicy: { Name: '', MaximumRetryCount: 0 }, PortBindings: { '53/udp': [{ HostIp: '0.0.0.0', HostPort: '' }] } },
      ),
    );
    assert.deepEqual([s.entrypoint, s.args, s.working_dir, s.user, s.tty, s.stdin_open, s.auto_remove], [['/bin/sh', '-c'], ['echo hi'], '/srv', '1000:1000', true, true, true]);
    assert.deepEqual(s.healthcheck, { test: ['CMD-SHELL', 'true'], interval_s: 2, retries: 2, start_period_s: 0.5 });
    assert.deepEqual(s.port_mappings, [{ container_port: 53, host_port: 0, protocol: 'udp', host_ip: '0.0.0.0' }]);
    assert.deepEqual(fromDockerCreate(cliBody({ Entrypoint: [''] })).entrypoint, [], '--entrypoint "" is no entrypoint');
    assert.equal(fromDockerCreate(cliBody({}, { RestartPolicy: { Name: 'unless-stopped' } })).restart_policy, 'always');
  });

  it('maps capabilities and tmpfs mounts: --cap-add, --cap-drop, --privileged, --tmpfs and --mount type=tmpfs as moby writes their options', () => {
    const s = fromDockerCreate(
      cliBody(
        { Volumes: { '/run': {}, '/data': {} } },
        {
          Binds: [],
          CapAdd: ['NET_ADMIN'],
          CapDrop: ['chown'],
          Privileged: true,
          Tmpfs: { '/run': 'rw,size=64m,mode=1777' },
          Mounts: [
            { Type: 'tmpfs', Target: '/x', TmpfsOptions: { SizeBytes: 3 * 2 ** 20, Mode: 0o1770 } },
            { Type: 'tmpfs', Target: '/y', ReadOnly: true, TmpfsOptions: { SizeBytes: 1000 } },
            { Type: 'volume', Source: 'data', Target: '/data' },
          ],
        },
      ),
    );
    assert.deepEqual([s.cap_add, s.cap_drop, s.privileged], [['NET_ADMIN'], ['chown'], true]);
    assert.deepEqual(s.tmpfs, [
      { container_path: '/run', options: 'rw,size=64m,mode=1777' },
      { container_path: '/x', options: 'mode=1770,size=3m' },
      { container_path: '/y', options: 'ro,size=1000' },
    ]);
    assert.deepEqual(s.volumes, [{ name: 'data', container_path: '/data', readonly: false }], 'a Volumes path a tmpfs covers is no anonymous volume');
    const none = fromDockerCreate(cliBody());
    assert.deepEqual([none.cap_add, none.cap_drop, none.privileged, none.tmpfs], [[], [], false, []]);
  });

  it('refuses what Hearth cannot honour, naming the field and why', () => {
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { Privileged: 'yes' }))), /^HostConfig\.Privileged must be a boolean/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { CapAdd: 'NET_ADMIN' }))), /^HostConfig\.CapAdd must be a list of strings/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { Tmpfs: { run: '' } }))), /^HostConfig\.Tmpfs: "run" must be an absolute path/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { Mounts: [{ Type: 'tmpfs', Source: '/host', Target: '/x' }] }))), /^HostConfig\.Mounts\[0\]\.Source must not be specified for a tmpfs/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { NetworkMode: 'host' }))), /NetworkMode "host" is not supported by Hearth/);
    assert.deepEqual(fromDockerCreate(cliBody({}, { Binds: ['data:/data'], Mounts: [] })).volumes, [{ name: 'data', container_path: '/data', readonly: false }]);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { Binds: ['da ta:/data'] }))), /invalid characters for a local volume name/);
    assert.deepEqual(
      fromDockerCreate(cliBody({ Volumes: { '/data': {}, '/scratch': {} } }, { Binds: ['/data'], Mounts: [{ Type: 'volume', Target: '/tmp/m', ReadOnly: true }] })).volumes,
      [
        { container_path: '/data', readonly: false },
        { container_path: '/tmp/m', readonly: true },
        { container_path: '/scratch', readonly: false },
      ],
      '-v /data, --mount type=volume without a source, and a Volumes path nothing covers: anonymous volumes',
    );
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { Mounts: [{ Type: 'volume', Source: 'da ta', Target: '/x' }] }))), /^HostConfig\.Mounts\[0\]\.Source must be a volume name/);
    const hosts = fromDockerCreate(cliBody({}, { ExtraHosts: ['db.local:10.1.2.3', 'gw=host-gateway'], Dns: ['10.9.9.9'] }));
    assert.deepEqual([hosts.extra_hosts, hosts.dns], [[{ hostname: 'db.local', ip: '10.1.2.3' }, { hostname: 'gw', ip: 'host-gateway' }], ['10.9.9.9']]);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { ExtraHosts: ['nocolon'] }))), /^HostConfig\.ExtraHosts: invalid entry "nocolon"/);
    const resolver = fromDockerCreate(cliBody({ StopSignal: 'SIGQUIT', StopTimeout: 3 }, { DnsSearch: ['example.com'], DnsOptions: ['ndots:2'] }));
    assert.deepEqual([resolver.dns_search, resolver.dns_options, resolver.stop_signal, resolver.stop_timeout_s], [['example.com'], ['ndots:2'], 'SIGQUIT', 3]);
    assert.equal(fromDockerCreate(cliBody({ StopTimeout: -1 }, {})).stop_timeout_s, 86_400, "-1: dockerd's for ever, a day");
    assert.match(refusal(() => fromDockerCreate(cliBody({ StopTimeout: 1.5 }, {}))), /^StopTimeout must be a whole number/);
    const compose = fromDockerCreate(cliBody({ Volumes: { '/www': {} } }, { Binds: ['shop_data:/www:rw'], Mounts: [] }));
    assert.deepEqual(compose.volumes, [{ name: 'shop_data', container_path: '/www', readonly: false }], 'a path a bind covers is no anonymous volume (Compose lists them all)');
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { AutoRemove: true }))), /can't create 'AutoRemove' container with restart policy/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { Memory: 1024 }))), /^Minimum memory limit allowed is 6MB$/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { SomethingNew: 'x' }))), /^HostConfig\.SomethingNew is not supported by Hearth$/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { LogConfig: { Type: 'syslog' } }))), /syslog logging driver is not supported/);
    assert.match(refusal(() => fromDockerCreate(cliBody({}, { RestartPolicy: { Name: 'sometimes' } }))), /unknown policy 'sometimes'/);
    assert.match(refusal(() => fromDockerCreate({})), /Config\.Image is required/);
  });
});

const NOW = new Date('2025-01-01T12:00:00Z');

function record(over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    id: 'uuid-1', name: 'web', image: 'webapp', args: [], env_vars: { A: '1' }, volumes: [], port_mappings: [{ container_port: 80, host_port: 8080, protocol: 'tcp' }],
    restart_policy: 'no', restart_max_retries: null, tty: false, stdin_open: false, healthcheck: null, cpus: 1, memory_mib: 64,
    entrypoint: null, working_dir: null, user: null, labels: { tier: 'front' }, auto_remove: false, hostname: null, extra_hosts: [], dns: [],
    tmpfs: [], cap_add: [], cap_drop: [], privileged: false,
    state: 'running', desired_state: 'running', restart_count: 0, exit_code: null, oom_killed: false, error_message: null,
    vm_id: 'vm-1', container_id: 'ab'.repeat(32), guest_ip: '10.213.0.5', created_at: '2025-01-01T11:00:00.000Z', updated_at: '2025-01-01T11:00:00.000Z',
    started_at: '2025-01-01T11:59:57.000Z', finished_at: null, image_stop_signal: null, image_digest: 'sha256:m', health: null, networks: [],
    dns_search: [], dns_options: [], stop_signal: null, stop_timeout_s: null,
    ...over,
  };
}

const FACTS: ContainerFacts = {
  imageId: 'sha256:c0ffee',
  image: { entrypoint: [], cmd: ['httpd', '-f'], env: ['PATH=/bin'], workingDir: '/www', user: '', labels: { vendor: 'x' }, exposedPorts: ['80/tcp', '443/tcp'] },
  network: { bridge: 'fcbr0', gateway: '10.213.0.1', prefixLength: 22, mac: '02:00:00:00:00:05' },
  pid: 4242,
  restartPending: false,
  networkIds: new Map([['bridge', 'b'.repeat(64)]]),
  now: NOW,
};

describe('container shapes', () => {
  it('says states and status texts as docker ps does', () => {
    assert.equal(statusText(record(), FACTS), 'Up 3 seconds');
    assert.equal(statusText(record({ state: 'paused' }), FACTS), 'Up 3 seconds (Paused)');
    assert.equal(statusText(record({ health: { status: 'starting', failing_streak: 0, log: [] } }), FACTS), 'Up 3 seconds (health: starting)');
    assert.equal(statusText(record({ state: 'exited', exit_code: 2, finished_at: '2025-01-01T11:58:00.000Z' }), FACTS), 'Exited (2) 2 minutes ago');
    const created = record({ state: 'stopped', started_at: null, finished_at: null });
    assert.equal(statusOf(created), 'created');
    assert.equal(statusText(created, FACTS), 'Created');
    const crashed = record({ state: 'exited', exit_code: 1, finished_at: '2025-01-01T11:59:58.000Z' });
    assert.equal(shownStatus(crashed, { restartPending: true }), 'restarting');
    assert.equal(shownStatus(crashed, FACTS), 'exited');
    assert.equal(statusText(crashed, { ...FACTS, restartPending: true }), 'Restarting (1) 2 seconds ago');
    const inspected = toDockerInspect(crashed, { ...FACTS, restartPending: true });
    assert.equal(inspected.State.Status, 'restarting');
    assert.equal(inspected.State.Restarting, true);
    assert.equal(inspected.State.Running, true, 'Docker counts a restarting container as running');
    assert.equal(inspected.State.ExitCode, 1);
    assert.equal(inspected.State.Pid, 0);
    assert.equal(statusOf(record({ state: 'booting' })), 'created');
    assert.equal(statusOf(record({ state: 'error', exit_code: null, finished_at: NOW.toISOString() })), 'exited');
    assert.deepEqual([0.5, 1, 59, 61, 3600, 86400 * 3].map((s) => humanDuration(s * 1000)), [
      'Less than a second', '1 second', '59 seconds', 'About a minute', 'About an hour', '3 days',
    ]);
  });

  it('runs the command Docker would: the entrypoint, then the args or the image\'s CMD', () => {
    assert.deepEqual(commandOf(record(), FACTS.image), ['httpd', '-f']);
    assert.deepEqual(commandOf(record({ args: ['sh'] }), FACTS.image), ['sh']);
    assert.deepEqual(commandOf(record({ entrypoint: ['/init'] }), FACTS.image), ['/init'], 'an entrypoint given drops the image CMD');
  });

  it('summarises a container as docker ps reads it', () => {
    const s = toDockerSummary(record(), FACTS);
    assert.equal(s.Id, 'ab'.repeat(32));
    assert.deepEqual(s.Names, ['/web']);
    assert.equal(s.Command, 'httpd -f');
    assert.equal(s.State, 'running');
    assert.deepEqual(s.Ports, [
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ]);
    assert.deepEqual(s.Labels, { vendor: 'x', tier: 'front' });
    assert.equal(s.NetworkSettings.Networks.bridge!.IPAddress, '10.213.0.5');
  });

  it('inspects a container with the fields --format users reach for', () => {
    const d = toDockerInspect(record({ oom_killed: true }), FACTS);
    assert.equal(d.Name, '/web');
    assert.deepEqual([d.State.Status, d.State.Running, d.State.Pid, d.State.OOMKilled, d.State.FinishedAt], ['running', true, 4242, true, '0001-01-01T00:00:00Z']);
    assert.deepEqual(d.NetworkSettings.Ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: '8080' }]);
    assert.equal(d.NetworkSettings.Ports['443/tcp'], null);
    assert.deepEqual([d.NetworkSettings.IPAddress, d.NetworkSettings.Gateway, d.NetworkSettings.IPPrefixLen], ['10.213.0.5', '10.213.0.1', 22]);
    assert.deepEqual([d.HostConfig.Memory, d.HostConfig.NanoCpus], [64 * 1024 * 1024, 1e9]);
    assert.deepEqual(d.Config.Env, ['PATH=/bin', 'HOSTNAME=abababababab', 'A=1']);
    assert.equal(d.Config.WorkingDir, '/www');
    assert.deepEqual([d.HostConfig.CapAdd, d.HostConfig.CapDrop, d.HostConfig.Privileged, 'Tmpfs' in d.HostConfig], [null, null, false, false]);
    const caps = toDockerInspect(record({ cap_add: ['CAP_NET_ADMIN'], cap_drop: ['ALL'], privileged: true, tmpfs: [{ container_path: '/run', options: 'size=64m' }] }), FACTS);
    assert.deepEqual(
      [caps.HostConfig.CapAdd, caps.HostConfig.CapDrop, caps.HostConfig.Privileged, caps.HostConfig.Tmpfs],
      [['CAP_NET_ADMIN'], ['ALL'], true, { '/run': 'size=64m' }],
    );
    const exited = toDockerInspect(record({ state: 'exited', exit_code: 3, guest_ip: null, finished_at: NOW.toISOString() }), FACTS);
    assert.deepEqual([exited.State.Status, exited.State.ExitCode, exited.State.Pid, exited.NetworkSettings.IPAddress], ['exited', 3, 0, '']);
    assert.deepEqual(exited.NetworkSettings.Ports, {});
    const local = record({ hostname: 'web1', port_mappings: [{ container_port: 80, host_port: 8080, protocol: 'tcp', host_ip: '127.0.0.1' }] });
    const l = toDockerInspect(local, FACTS);
    assert.deepEqual([l.NetworkSettings.Ports['80/tcp'], l.HostConfig.PortBindings['80/tcp']], [[{ HostIp: '127.0.0.1', HostPort: '8080' }], [{ HostIp: '127.0.0.1', HostPort: '8080' }]]);
    assert.deepEqual([l.Config.Hostname, l.Config.Env], ['web1', ['PATH=/bin', 'HOSTNAME=web1', 'A=1']]);
    assert.deepEqual(toDockerSummary(local, FACTS).Ports[0], { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' });
    const own = toDockerInspect(
      record({
        extra_hosts: [{ hostname: 'db.local', ip: '10.1.2.3' }],
        dns: ['10.9.9.9'],
        volumes: [{ name: null, host_path: null, container_path: '/data', readonly: false }, { name: 'v', host_path: null, container_path: '/v', readonly: false }],
      }),
      FACTS,
    );
    assert.deepEqual([own.HostConfig.ExtraHosts, own.HostConfig.Dns, d.HostConfig.ExtraHosts, d.HostConfig.Dns], [['db.local:10.1.2.3'], ['10.9.9.9'], null, []]);
    assert.deepEqual([own.HostConfig.Binds, own.Config.Volumes, own.Mounts.map((m) => [m.Type, m.Destination])], [['v:/v'], { '/data': {} }, [['volume', '/data'], ['volume', '/v']]]);
  });

  it('filters as docker ps --filter does', () => {
    const f = (raw: object) => parseFilters(JSON.stringify(raw));
    const c = record();
    assert.ok(matchesFilters(c, FACTS, f({ label: ['tier=front'] }), false));
    assert.ok(!matchesFilters(c, FACTS, f({ label: ['tier=back'] }), false));
    assert.ok(matchesFilters(c, FACTS, f({ label: ['vendor'] }), false), 'image labels count');
    assert.ok(matchesFilters(c, FACTS, f({ name: ['^/we'] }), false));
    assert.ok(matchesFilters(c, FACTS, f({ id: ['abab'] }), false));
    assert.ok(matchesFilters(c, FACTS, f({ ancestor: ['webapp:latest'] }), false));
    assert.ok(matchesFilters(c, FACTS, f({ ancestor: ['c0ff'] }), false), 'by image id prefix');
    assert.ok(matchesFilters(c, FACTS, f({ status: { running: true } }), false), 'the older map form');
    const exited = record({ state: 'exited', exit_code: 1, finished_at: NOW.toISOString() });
    assert.ok(!matchesFilters(exited, FACTS, f({}), false), 'stopped ones only with all');
    assert.ok(matchesFilters(exited, FACTS, f({ exited: ['1'] }), true));
    assert.throws(() => f({ status: ['sleeping'] }), /invalid filter 'status=sleeping'/);
    assert.throws(() => f({ before: ['x'] }), /the filter 'before' is not supported by Hearth/);
    assert.throws(() => f({ bogus: ['x'] }), /invalid filter 'bogus'/);
  });

  it('resolves references in dockerd\'s order: full id, name, unique id prefix', () => {
    const a = record({ id: 'a', name: 'alpha', container_id: 'abc1'.padEnd(64, '0') });
    const b = record({ id: 'b', name: 'abc1', container_id: 'abc2'.padEnd(64, '0') });
    assert.equal(findContainer([a, b], 'abc1')?.id, 'b', 'a name beats an id prefix');
    assert.equal(findContainer([a, b], '/alpha')?.id, 'a');
    assert.equal(findContainer([a, b], 'abc2')?.id, 'b');
    assert.throws(() => findContainer([a, b], 'abc'), /multiple IDs found with provided prefix: abc/);
    assert.equal(findContainer([a, b], 'zzz'), undefined);
  });
});

describe('streams, times and versions', () => {
  it('frames output in Docker\'s 8-byte headers, splitting long chunks', () => {
    const f = frame('stderr', Buffer.from('oops'));
    assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 4]);
    const big = Buffer.alloc(70_000, 'x');
    const frames = unframe(Buffer.concat([frame('stdout', big), f]));
    assert.deepEqual(frames.map(([s, p]) => [s, p.length]), [[1, 32768], [1, 32768], [1, 70_000 - 65536], [2, 4]]);
  });

  it('reads the times the CLI sends', () => {
    assert.equal(parseDockerTime('1700000000.500000000', 'since')?.toISOString(), '2023-11-14T22:13:20.500Z');
    assert.equal(parseDockerTime('0', 'since'), undefined);
    assert.equal(parseDockerTime('2024-01-01T00:00:00Z', 'until')?.toISOString(), '2024-01-01T00:00:00.000Z');
    assert.throws(() => parseDockerTime('yesterday', 'since'), /invalid value for since/);
  });

  it('serves 1.24 to 1.47 and says so in dockerd\'s words otherwise', () => {
    assert.equal(compareVersions('1.9', '1.24'), -1);
    assert.doesNotThrow(() => checkApiVersion('1.47'));
    assert.doesNotThrow(() => checkApiVersion('1.24'));
    assert.throws(() => checkApiVersion('1.99'), { message: 'client version 1.99 is too new. Maximum supported API version is 1.47' });
    assert.throws(() => checkApiVersion('1.12'), { message: /^client version 1\.12 is too old\. Minimum supported API version is 1\.24, please upgrade/ });
  });
});
