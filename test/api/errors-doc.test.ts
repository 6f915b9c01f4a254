/** Every HEARTH_ERR_* code used in src/ is listed in docs/errors.md, and every listed code is used. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

it('docs/errors.md and the code agree on the error codes', () => {
  const used = new Set(sources(join(root, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(/HEARTH_ERR_[A-Z0-9_]+/g) ?? []));
  used.delete('HEARTH_ERR_'); // the template type in errors.ts
  const documented = new Set(readFileSync(join(root, 'docs', 'errors.md'), 'utf8').match(/`(HEARTH_ERR_[A-Z0-9_]+)`/g)?.map((s) => s.slice(1, -1)));
  assert.deepEqual([...used].filter((c) => !documented.has(c)).sort(), [], 'used in src/ but not in docs/errors.md');
  assert.deepEqual([...documented].filter((c) => !used.has(c)).sort(), [], 'in docs/errors.md but used nowhere');
});
