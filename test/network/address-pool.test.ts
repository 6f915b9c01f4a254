import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressPool, DEFAULT_POOL_CIDR, macForIp } from '../../src/network/address-pool.ts';
import { tapNameFor } from '../../src/network/host-network.ts';

test('the default pool: gateway first, guests after, 1021 of them', () => {
  const pool = new AddressPool();
  assert.equal(pool.cidr, DEFAULT_POOL_CIDR);
  assert.equal(pool.gateway, '10.213.0.1');
  assert.equal(pool.broadcast, '10.213.3.255');
  assert.equal(pool.prefixLength, 22);
  assert.equal(pool.capacity, 1021);
  assert.ok(!pool.contains('10.213.0.0') && !pool.contains('10.213.0.1') && !pool.contains('10.213.3.255'));
  assert.ok(pool.contains('10.213.0.2') && pool.contains('10.213.3.254'));
});

test('allocate returns the lowest free address, deterministically', () => {
  const pool = new AddressPool('10.50.0.0/29'); // guests .2 .. .6
  assert.deepEqual(pool.allocate([]), { guestIp: '10.50.0.2', mac: '02:68:0a:32:00:02', prefixLength: 29, gateway: '10.50.0.1' });
  assert.equal(pool.allocate(['10.50.0.2', '10.50.0.3']).guestIp, '10.50.0.4');
  assert.equal(pool.allocate(['10.50.0.3', '10.50.0.2']).guestIp, '10.50.0.4');
  assert.equal(pool.allocate(['10.50.0.3']).guestIp, '10.50.0.2', 'a gap is filled first');
  assert.equal(pool.allocate(['192.168.1.2', 'junk']).guestIp, '10.50.0.2', 'foreign entries are ignored');
});

test('a full pool is Unavailable; release frees an address for the next allocate', () => {
  const pool = new AddressPool('10.50.0.0/29');
  let inUse = new Set<string>();
  for (let i = 0; i < pool.capacity; i++) inUse.add(pool.allocate(inUse).guestIp);
  assert.equal(inUse.size, 5);
  assert.throws(() => pool.allocate(inUse), { kind: 'Unavailable', code: 'HEARTH_ERR_NET_POOL_EXHAUSTED' });
  inUse = pool.release(inUse, '10.50.0.4');
  assert.equal(pool.allocate(inUse).guestIp, '10.50.0.4');
  assert.throws(() => pool.release(inUse, '10.50.0.1'), { code: 'HEARTH_ERR_NET_INVALID_ADDRESS' });
});

test('invalid pools are refused with InvalidArgument', () => {
  for (const bad of ['10.213.0.1/22', '10.213.0.0', '10.213.0.0/30', '10.0.0.0/7', '300.1.1.0/24', 'fd00::/64', '10.1.01.0/24']) {
    assert.throws(() => new AddressPool(bad), { kind: 'InvalidArgument', code: 'HEARTH_ERR_NET_INVALID_CIDR' }, bad);
  }
});

test('MACs are locally administered unicast and follow the IP', () => {
  assert.equal(macForIp('10.213.0.2'), '02:68:0a:d5:00:02');
  assert.equal(macForIp('10.213.3.254'), '02:68:0a:d5:03:fe');
  const first = parseInt(macForIp('10.213.0.2').slice(0, 2), 16);
  assert.equal(first & 1, 0, 'unicast');
  assert.equal(first & 2, 2, 'locally administered');
  assert.deepEqual(new AddressPool().addressOf('10.213.1.7').mac, '02:68:0a:d5:01:07');
});

test('overlaps', () => {
  const pool = new AddressPool('10.213.0.0/22');
  assert.ok(pool.overlaps('10.0.0.0/8'));
  assert.ok(pool.overlaps('10.213.2.0/24'));
  assert.ok(pool.overlaps('10.213.3.9'));
  assert.ok(!pool.overlaps('10.213.4.0/24'));
  assert.ok(!pool.overlaps('192.168.18.0/24'));
});

test('tap names fit IFNAMSIZ, differ for ids that share a prefix, and are stable', () => {
  const a = tapNameFor('0190a4c2-7b3e-7000-8000-000000000001');
  const b = tapNameFor('0190a4c2-7b3e-7000-8000-000000000002');
  assert.match(a, /^hth[0-9a-f]{12}$/);
  assert.equal(a.length, 15);
  assert.notEqual(a, b);
  assert.equal(tapNameFor('0190a4c2-7b3e-7000-8000-000000000001'), a);
});
