import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { guestDnsServers } from '../../src/app.ts';
import { loadConfig, resolveConfig } from '../../src/config.ts';
import { isHearthError } from '../../src/errors.ts';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = resolveConfig();
    assert.equal(c.dataDir, '/var/lib/hearth');
    assert.deepEqual(c.listen, { host: '127.0.0.1', port: 18080, requestTimeoutMs: 30_000 });
    assert.equal(c.apiToken, null);
    assert.deepEqual(c.network, { bridge: 'fcbr0', subnet: '10.213.0.0/22', nat: true, portHostIp: '0.0.0.0', dns: [] });
    assert.deepEqual(c.vm, {
      vcpus: 1,
      memoryMib: 256,
      vmm: 'qemu',
      accel: 'auto',
      scratchSizeMib: 4096,
      jail: true,
      snapshots: true,
      jailUidBase: 1_900_000_000,
      jailUidCount: 1_000_000,
    });
    assert.equal(c.cacheDir, '/var/cache/hearth');
    assert.equal(c.restart.backoffInitialMs, 100);
    assert.equal(c.restart.backoffMaxMs, 60_000);
  });

  it('reads the file from HEARTH_CONFIG, then the environment overrides it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-config-'));
    try {
      const file = join(dir, 'hearth.json');
      writeFileSync(file, JSON.stringify({ dataDir: '/srv/hearth', vm: { vcpus: 2 }, listen: { port: 9000 } }));
      const c = loadConfig({
        HEARTH_CONFIG: file,
        HEARTH_PORT: '9100',
        HEARTH_NAT: 'off',
        HEARTH_REGISTRY_MIRRORS: 'docker.io=https://m1,docker.io=https://m2',
        HEARTH_REGISTRY_INSECURE: 'localhost:5000, reg.lan',
        HEARTH_ACCEL: 'tcg',
      });
      assert.equal(c.dataDir, '/srv/hearth');
      assert.equal(c.vm.vcpus, 2);
      assert.equal(c.listen.port, 9100);
      assert.equal(c.network.nat, false);
      assert.deepEqual(c.registry.mirrors, { 'docker.io': ['https://m1', 'https://m2'] });
      assert.deepEqual(c.registry.insecure, ['localhost:5000', 'reg.lan']);
      assert.equal(c.vm.accel, 'tcg');
      writeFileSync(file, '{ nope');
      assert.throws(() => loadConfig({ HEARTH_CONFIG: file }), /is not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the bad key or variable', () => {
    assert.throws(() => resolveConfig({}, { HEARTH_PORT: 'eighty' }), /HEARTH_PORT \(listen\.port\): expected integer/);
    assert.throws(() => resolveConfig({}, { HEARTH_VMM: 'kvmtool' }), /HEARTH_VMM \(vm\.vmm\)/);
    assert.throws(() => resolveConfig({ vm: { vcpu: 2 } }), /vm\.vcpu: unexpected property/);
  });

  it('refuses a non-loopback address without an API token', () => {
    assert.throws(
      () => resolveConfig({}, { HEARTH_HOST: '0.0.0.0' }),
      (e) => isHearthError(e, 'HEARTH_ERR_CONFIG') && /refusing to listen on 0\.0\.0\.0 without an API token: set HEARTH_API_TOKEN/.test(e.message),
    );
    assert.equal(resolveConfig({}, { HEARTH_HOST: '0.0.0.0', HEARTH_API_TOKEN: 'x'.repeat(32) }).listen.host, '0.0.0.0');
    assert.equal(resolveConfig({}, { HEARTH_HOST: '::1' }).listen.host, '::1');
    assert.throws(() => resolveConfig({}, { HEARTH_HOST: '0.0.0.0', HEARTH_API_TOKEN: 'short' }), /apiToken/);
  });

  it('serves the Docker API on TCP beyond loopback only with TLS, and without TLS only with an API token', () => {
    const token = 'x'.repeat(20);
    assert.throws(() => resolveConfig({}, { HEARTH_DOCKER_TCP: '0.0.0.0:2375', HEARTH_API_TOKEN: token }), /0\.0\.0\.0:2375 without TLS.*HEARTH_DOCKER_TLS_CACERT/);
    const tls = { HEARTH_DOCKER_TLS_CACERT: '/etc/ca.pem', HEARTH_DOCKER_TLS_CERT: '/etc/cert.pem', HEARTH_DOCKER_TLS_KEY: '/etc/key.pem' };
    assert.equal(resolveConfig({}, { HEARTH_DOCKER_TCP: '0.0.0.0:2376', ...tls }).docker.tlsCaCert, '/etc/ca.pem');
    assert.throws(() => resolveConfig({}, { HEARTH_DOCKER_TCP: '0.0.0.0:2376', ...tls, HEARTH_DOCKER_TLS_KEY: '' }), /docker\.tlsKey missing/);
    assert.throws(() => resolveConfig({}, { HEARTH_DOCKER_TCP: '0.0.0.0:2376', HEARTH_DOCKER_TLS_CACERT: '/ca' }), /docker\.tlsCert and docker\.tlsKey missing/);
    assert.throws(() => resolveConfig({}, tls), /docker\.tcp is not/);
    assert.throws(() => resolveConfig({}, { HEARTH_DOCKER_TCP: '127.0.0.1:2375' }), /127\.0\.0\.1:2375 without an API token: any local user/);
    assert.equal(resolveConfig({}, { HEARTH_DOCKER_TCP: '127.0.0.1:2375', HEARTH_API_TOKEN: token }).docker.tcp, '127.0.0.1:2375');
  });

  it('guest name servers: configured, else the host non-loopback ones, else 8.8.8.8', () => {
    const c = resolveConfig();
    assert.deepEqual(guestDnsServers(c, 'nameserver 127.0.0.53\nnameserver 192.168.1.1\n'), ['192.168.1.1']);
    assert.deepEqual(guestDnsServers(c, 'nameserver 127.0.0.53\n'), ['8.8.8.8', '8.8.4.4']);
    assert.deepEqual(guestDnsServers(resolveConfig({ network: { dns: ['9.9.9.9'] } }), ''), ['9.9.9.9']);
  });
});
