import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CAPABILITIES_MASK, capabilityMask, normalizeCapabilities } from '../../src/containers/capabilities.ts';
import { buildExecSpec } from '../../src/containers/process-spec.ts';
import { checkTmpfs, checkTmpfsVolumes, tmpfsMountOptions, tmpfsRecordBytes } from '../../src/containers/tmpfs.ts';
import { isHearthError } from '../../src/errors.ts';

const mask = (cap_add: string[] = [], cap_drop: string[] = [], privileged = false) =>
  capabilityMask({ cap_add: normalizeCapabilities(cap_add, 'body/cap_add'), cap_drop: normalizeCapabilities(cap_drop, 'body/cap_drop'), privileged });
const field = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return isHearthError(e) && e.kind === 'InvalidArgument' ? `${e.field}: ${e.message}` : `unexpected ${String(e)}`;
  }
  return 'accepted';
};

describe('capabilities', () => {
  it("gives Docker's default set, as /proc/self/status shows it in a Docker container", () => {
    assert.equal(mask().toString(16), 'a80425fb');
  });

  it('adds and drops by name, with or without CAP_, in any case, and ALL as Docker', () => {
    const NET_ADMIN = 2 ** 12;
    const CHOWN = 1;
    assert.equal(mask(['NET_ADMIN']), 0xa80425fb + NET_ADMIN);
    assert.equal(mask(['cap_net_admin']), mask(['Net_Admin']));
    assert.equal(mask([], ['CHOWN']), 0xa80425fb - CHOWN);
    assert.equal(mask(['NET_ADMIN'], ['ALL']), NET_ADMIN, 'ALL dropped: only those added');
    assert.equal(mask(['ALL'], ['chown']), ALL_CAPABILITIES_MASK - CHOWN, 'ALL added: all but those dropped');
    assert.equal(mask([], [], true), 2 ** 41 - 1, 'privileged: every one of the 41 (to CAP_CHECKPOINT_RESTORE)');
    assert.equal(mask(['NET_ADMIN'], ['ALL'], true), ALL_CAPABILITIES_MASK, 'privileged wins, as Docker');
    assert.deepEqual(normalizeCapabilities(['net_admin', 'CAP_SYS_TIME', 'all'], 'f'), ['CAP_NET_ADMIN', 'CAP_SYS_TIME', 'ALL']);
  });

  it('refuses an unknown name with a 400 naming the item', () => {
    assert.match(field(() => normalizeCapabilities(['NET_ADMIN', 'FLY'], 'body/cap_add')), /^body\/cap_add\/1: body\/cap_add\/1 "FLY" is not a capability/);
    assert.match(field(() => normalizeCapabilities(['CAP_'], 'body/cap_drop')), /^body\/cap_drop\/0: /);
  });

  it("gives an exec the container's set, or every one when it is privileged", () => {
    const container = { env: {}, hostname: 'h', capabilities: 0xa80425fb };
    const request = { cmd: ['id'], env: {}, tty: false, stdin: false };
    assert.equal(buildExecSpec({}, container, request).capabilities, 0xa80425fb);
    assert.equal(buildExecSpec({}, container, { ...request, privileged: true }).capabilities, ALL_CAPABILITIES_MASK);
  });
});

describe('tmpfs', () => {
  it("puts Docker's defaults first and keeps the last of each pair or key", () => {
    assert.equal(tmpfsMountOptions(''), 'noexec,nosuid,nodev');
    assert.equal(tmpfsMountOptions('size=1m'), 'noexec,nosuid,nodev,size=1m');
    assert.equal(tmpfsMountOptions('rw,size=64m,mode=1777'), 'noexec,nosuid,nodev,rw,size=64m,mode=1777');
    assert.equal(tmpfsMountOptions('exec,suid,size=1m,size=2m,ro,rw'), 'nodev,exec,suid,size=2m,rw');
  });

  it('cleans paths and refuses /, a repeated path, a path a volume has, and any option outside the whitelist', () => {
    assert.deepEqual(checkTmpfs([{ container_path: '/a/../run/' }, { container_path: '/x', options: 'uid=1000,gid=1000,nr_inodes=1k,dev,suid' }]), [
      { container_path: '/run', options: '' },
      { container_path: '/x', options: 'uid=1000,gid=1000,nr_inodes=1k,dev,suid' },
    ]);
    assert.match(field(() => checkTmpfs([{ container_path: '/..' }])), /^body\/tmpfs\/0\/container_path: .* is the container's root/);
    assert.match(field(() => checkTmpfs([{ container_path: '/run' }, { container_path: '/run/' }])), /^body\/tmpfs\/1\/container_path: .*earlier tmpfs/);
    for (const bad of ['size=1x', 'mode=9', 'mode=01777x', 'uid=-1', 'remount', 'mpol=default', 'size=1m,,ro', 'bind', 'context="x"', 'size=1m ']) {
      assert.match(field(() => checkTmpfs([{ container_path: '/a' }, { container_path: '/b', options: bad }])), /^body\/tmpfs\/1\/options: /, bad);
    }
    const volume = { name: 'v', host_path: null, container_path: '/data', readonly: false };
    assert.match(field(() => checkTmpfsVolumes([{ container_path: '/x', options: '' }, { container_path: '/data', options: '' }], [volume])), /^body\/tmpfs\/1\/container_path: .*also a volume's/);
    assert.equal(field(() => checkTmpfsVolumes([{ container_path: '/data/sub', options: '' }], [volume])), 'accepted');
  });

  it('counts a MOUNT record with its options as the RUN message carries it', () => {
    // header 6, five fields' headers 30, source and type at most 14, two flags, the path, and the OPTIONS record.
    assert.equal(tmpfsRecordBytes([{ container_path: '/run', options: 'size=1m' }]), 52 + 4 + 6 + 'noexec,nosuid,nodev,size=1m'.length);
  });
});
