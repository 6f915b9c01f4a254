/** The guest network comes from the kernel's `ip=` argument; its netmask is derived from the prefix. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { kernelIpArg } from '../../src/sandbox/microvm-launcher.ts';

it('writes ip=<guest>::<gateway>:<netmask>:<hostname>:eth0:off', () => {
  assert.equal(kernelIpArg('10.213.0.2', '10.213.0.1', 22, 'web'), 'ip=10.213.0.2::10.213.0.1:255.255.252.0:web:eth0:off');
  assert.equal(kernelIpArg('192.168.18.7', '192.168.18.1', 24, 'x'), 'ip=192.168.18.7::192.168.18.1:255.255.255.0:x:eth0:off');
  assert.equal(kernelIpArg('10.0.0.2', '10.0.0.1', 32, 'h'), 'ip=10.0.0.2::10.0.0.1:255.255.255.255:h:eth0:off');
  assert.equal(kernelIpArg('10.0.0.2', '10.0.0.1', 8, 'a'.repeat(80)).split(':')[4]!.length, 63, 'hostname cut to 63 characters');
});
