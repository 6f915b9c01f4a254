/** Which host directories a container may mount: resolved, then checked against the allowed roots. */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { resolveHostPath } from '../../src/volumes/host-paths.ts';

describe('host paths', () => {
  let dir: string;
  let root: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'hearth-host-paths-'));
    root = path.join(dir, 'root');
    await mkdir(path.join(root, 'inside/deeper'), { recursive: true });
    await mkdir(path.join(dir, 'outside'));
    await mkdir(path.join(dir, 'root-sibling'));
    await writeFile(path.join(root, 'file'), 'x');
    await mkdir(path.join(dir, 'with,comma'));
    await symlink(path.join(dir, 'outside'), path.join(root, 'out-link'));
    await symlink('inside/deeper', path.join(root, 'in-link'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const refused = async (given: string, roots: string[], why: RegExp) =>
    assert.rejects(resolveHostPath(given, roots, 'body/volumes/2/host_path'), (e) => {
      assert.ok(isHearthError(e, 'HEARTH_ERR_HOST_PATH'));
      assert.equal(e.kind, 'InvalidArgument');
      assert.equal(e.field, 'body/volumes/2/host_path');
      assert.match(e.message, why);
      return true;
    });

  it('accepts directories under a root, symlinks resolved inside it', async () => {
    assert.equal(await resolveHostPath(path.join(root, 'inside'), [root], 'f'), path.join(root, 'inside'));
    assert.equal(await resolveHostPath(path.join(root, 'in-link'), [root], 'f'), path.join(root, 'inside/deeper'));
    assert.equal(await resolveHostPath(`${root}/inside/../inside/deeper/`, [root], 'f'), path.join(root, 'inside/deeper'));
    assert.equal(await resolveHostPath(root, [root], 'f'), root, 'the root itself');
  });

  it('accepts any directory when no root is configured, as Docker does', async () => {
    assert.equal(await resolveHostPath(path.join(dir, 'outside'), [], 'f'), path.join(dir, 'outside'));
  });

  it('refuses escapes through .. and symlinks, siblings sharing a prefix, relative paths, files, missing paths and commas', async () => {
    await refused(`${root}/../outside`, [root], /outside the host directories containers may mount: allowed are /);
    await refused(path.join(root, 'out-link'), [root], /it resolves to .*\/outside\)/);
    await refused(path.join(dir, 'root-sibling'), [root], /outside/);
    await refused('relative/dir', [root], /not an absolute path/);
    await refused(path.join(root, 'file'), [root], /not a directory/);
    await refused(path.join(root, 'missing'), [root], /does not exist/);
    await refused(path.join(dir, 'with,comma'), [], /comma/);
  });
});
