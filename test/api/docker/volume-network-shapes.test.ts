/**
 * Volumes and networks in Docker's shapes (src/api/docker/shapes/volume.ts, network.ts), and what a
 * container create's network settings ask for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockerError } from '../../../src/api/docker/errors.ts';
import { createMemberships, dockerNetwork } from '../../../src/api/docker/shapes/network.ts';
import { ANONYMOUS_LABEL, dockerVolume, parseSizeMib } from '../../../src/api/docker/shapes/volume.ts';
import type { NetworkDetails } from '../../../src/containers/network-commands.ts';
import type { VolumeDetails } from '../../../src/containers/volume-commands.ts';

const facts = { bridge: 'fcbr0', subnet: '10.213.0.0/22' };

describe('volume shapes', () => {
  const v: VolumeDetails = {
    name: 'pgdata',
    size_mib: 512,
    labels: { 'com.docker.compose.project': 'shop' },
    driver_options: { size: '0.5g' },
    anonymous_for: null,
    anonymous_path: null,
    initialized: true,
    created_at: '2024-01-01T00:00:00.000Z',
    usage: { sizeBytes: 536_870_912, usedBytes: 4096, diskBytes: 65_536 },
    users: [{ id: 'c1', name: 'db', state: 'running', container_path: '/data', readonly: false }],
    diskPath: '/var/lib/hearth/volumes/pgdata.ext4',
  };

  it('is a local volume whose mountpoint is its disk, with its usage', () => {
    assert.deepEqual(dockerVolume(v), {
      Name: 'pgdata',
      Driver: 'local',
      Mountpoint: '/var/lib/hearth/volumes/pgdata.ext4',
      CreatedAt: '2024-01-01T00:00:00.000Z',
      Labels: { 'com.docker.compose.project': 'shop' },
      Scope: 'local',
      Options: { size: '0.5g' },
      Status: { size: '536870912', used: '4096' },
      UsageData: { Size: 4096, RefCount: 1 },
    });
    assert.deepEqual(dockerVolume({ ...v, anonymous_for: 'c1', labels: {} }).Labels, { [ANONYMOUS_LABEL]: '' });
  });

  it('reads the size option in Docker units', () => {
    assert.deepEqual(['512m', '2g', '2G', '1048576', '1536k', '1gb', '0.5g', 'lots'].map(parseSizeMib), [512, 2048, 2048, 1, 2, 1024, 512, undefined]);
  });
});

describe('network shapes', () => {
  const net: NetworkDetails = {
    name: 'shop_default',
    id: 'n'.repeat(64).replace(/n/g, 'a'),
    labels: { 'com.docker.compose.network': 'default' },
    created_at: '2024-01-01T00:00:00.000Z',
    members: [
      { id: 'u1', name: 'shop_db_1', container_id: 'd'.repeat(64), state: 'running', guest_ip: '10.213.0.7', aliases: ['db'] },
      { id: 'u2', name: 'shop_web_1', container_id: 'e'.repeat(64), state: 'stopped', guest_ip: null, aliases: ['web'] },
    ],
  };

  it('is the bridge network, listing the members that have an address', () => {
    const n = dockerNetwork(net, facts, true);
    assert.deepEqual([n.Name, n.Driver, n.Scope, n.IPAM.Config], ['shop_default', 'bridge', 'local', [{ Subnet: '10.213.0.0/22', Gateway: '10.213.0.1' }]]);
    assert.deepEqual(Object.keys(n.Containers), ['d'.repeat(64)]);
    assert.deepEqual(n.Containers['d'.repeat(64)]!.IPv4Address, '10.213.0.7/22');
    assert.equal(n.Containers['d'.repeat(64)]!.MacAddress, '02:68:0a:d5:00:07');
    assert.deepEqual(dockerNetwork(net, facts, false).Containers, {});
    assert.deepEqual(dockerNetwork({ ...net, name: 'bridge', labels: {} }, facts, false).Options, { 'com.docker.network.bridge.name': 'fcbr0' });
  });

  it('reads NetworkMode and EndpointsConfig, refusing host, none and container modes', () => {
    assert.deepEqual(createMemberships({}), [{ network: 'bridge', aliases: [] }]);
    assert.deepEqual(createMemberships({ NetworkMode: 'default', EndpointsConfig: { default: {} } }), [{ network: 'bridge', aliases: [] }], 'the CLI names the bridge default');
    assert.deepEqual(createMemberships({ NetworkMode: 'shop_default', EndpointsConfig: { shop_default: { Aliases: ['web'] }, other: null } }), [
      { network: 'shop_default', aliases: ['web'] },
      { network: 'other', aliases: [] },
    ]);
    for (const mode of ['host', 'none', 'container:abc']) assert.throws(() => createMemberships({ NetworkMode: mode }), (e) => e instanceof DockerError && e.status === 400);
  });
});
