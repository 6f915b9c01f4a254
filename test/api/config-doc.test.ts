/** Every setting the manager reads from the environment is in docs/api.md's configuration table, and only those. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { ENV_VARS } from '../../src/config.ts';

it('docs/api.md lists exactly the HEARTH_* variables and config keys the manager reads', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'api.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Configuration'), doc.indexOf('\n## ', doc.indexOf('## Configuration') + 1));
  const rows = [...table.matchAll(/^\| `([a-zA-Z.]+)` \| `(HEARTH_[A-Z_]+)`/gm)].map((m) => [m[1], m[2]]);
  const documented = new Map(rows.map(([key, name]) => [name!, key!]));
  for (const [name, key] of ENV_VARS) assert.equal(documented.get(name), key, `${name} (${key}) in docs/api.md`);
  assert.equal(documented.size, ENV_VARS.length, 'no documented variable the manager ignores');
});
