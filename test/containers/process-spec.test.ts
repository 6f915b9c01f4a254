/** The Docker merge rules as a pure function (the VM tests check the same rules end to end). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { buildProcessSpec, DEFAULT_PATH } from '../../src/containers/process-spec.ts';

const request = { args: [] as string[], env: {} as Record<string, string>, hostname: 'box' };

describe('buildProcessSpec', () => {
  const cases: Array<[string, Parameters<typeof buildProcessSpec>[0], string[], string[]]> = [
    ['Cmd only', { cmd: ['a', 'b'] }, [], ['a', 'b']],
    ['args replace Cmd', { cmd: ['a', 'b'] }, ['x'], ['x']],
    ['Entrypoint + Cmd', { entrypoint: ['e'], cmd: ['c'] }, [], ['e', 'c']],
    ['Entrypoint + args', { entrypoint: ['e'], cmd: ['c'] }, ['x', 'y'], ['e', 'x', 'y']],
    ['Entrypoint only', { entrypoint: ['e', 'f'] }, [], ['e', 'f']],
    ['null Cmd', { entrypoint: ['e'], cmd: null }, [], ['e']],
  ];
  for (const [name, image, args, argv] of cases) {
    it(name, () => assert.deepEqual(buildProcessSpec(image, { ...request, args }).argv, argv));
  }

  it('refuses an empty command, naming args', () => {
    assert.throws(
      () => buildProcessSpec({}, request),
      (e) => isHearthError(e, 'HEARTH_ERR_NO_COMMAND') && e.field === 'args',
    );
  });

  it('merges env: image, then default PATH and HOSTNAME, then the request by key', () => {
    const spec = buildProcessSpec({ cmd: ['x'], env: ['A=1', 'B=2', 'WITH=eq=sign'] }, { ...request, env: { B: 'over', C: '3' } });
    assert.deepEqual(spec.env, ['A=1', 'B=over', 'WITH=eq=sign', `PATH=${DEFAULT_PATH}`, 'HOSTNAME=box', 'C=3']);
  });

  it('keeps the image PATH', () => {
    const spec = buildProcessSpec({ cmd: ['x'], env: ['PATH=/opt/bin'] }, request);
    assert.ok(spec.env.includes('PATH=/opt/bin'));
    assert.equal(spec.env.filter((e) => e.startsWith('PATH=')).length, 1);
  });

  it('defaults cwd to / and user to root', () => {
    const spec = buildProcessSpec({ cmd: ['x'], workingDir: '' }, request);
    assert.equal(spec.cwd, '/');
    assert.equal(spec.user, '');
    assert.match(spec.hosts, /127\.0\.1\.1\tbox/);
  });
});
