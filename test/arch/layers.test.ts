/**
 * The layer rules of `layers.ts` hold for src/, and the checker catches each kind of violation when one is
 * planted in a small tree laid out like src/.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { checkLayers, readImports } from './check-layers.ts';

const SRC = path.join(import.meta.dirname, '..', '..', 'src');

describe('layers of src/', () => {
  it('the checker reads the imports of every source file', () => {
    const { files, imports } = readImports(SRC);
    assert.ok(files.includes('src/main.ts') && files.includes('src/tools/run.ts'), files.join(' '));
    const has = (from: string, to: string) => imports.some((i) => i.from === from && i.to === to);
    assert.ok(has('src/main.ts', 'src/app.ts'), 'a static import');
    assert.ok(has('src/sandbox/sandbox.ts', 'src/agent/process.ts'), 'a type-only import');
  });

  it('src/ breaks no rule', () => {
    const violations = checkLayers(SRC).map((v) => v.message);
    assert.deepEqual(violations, [], `\n${violations.join('\n')}`);
  });
});

/** A tree shaped like src/ whose every import is allowed. */
const CLEAN: Record<string, string> = {
  'main.ts': "import './api/routes.ts';\nimport './data-dir.ts';\nimport './config.ts';\n",
  'data-dir.ts': '',
  'cli/hearth.ts': "await import('../main.ts');\n",
  'api/routes.ts': "import type { Manager } from '../containers/manager.ts';\nimport { Container } from '../model/container.ts';\n",
  'containers/manager.ts': "import { Store } from '../images/store.ts';\nimport '../sandbox/sandbox.ts';\nexport * from '../errors.ts';\n",
  'images/store.ts': "import { run } from '../tools/run.ts';\n",
  'network/bridge.ts': "import { run } from '../tools/run.ts';\n",
  'store/rows.ts': "import type { Container } from '../model/container.ts';\n",
  'sandbox/sandbox.ts': "import { Driver } from '../vmm/driver.ts';\nimport { Client } from '../agent/client.ts';\n",
  'agent/client.ts': "import { HearthError } from '../errors.ts';\n",
  'vmm/driver.ts': "import { run } from '../tools/run.ts';\n",
  'tools/run.ts': "import { HearthError } from '../errors.ts';\nimport { readFile } from 'node:fs';\n",
  'errors.ts': '',
  'config.ts': "import { HearthError } from './errors.ts';\n",
  'model/container.ts': "import { HearthError } from '../errors.ts';\n",
};

/** Each plant: files added to or replacing the clean tree's, and every violation the checker must report. */
const PLANTS: { name: string; files: Record<string, string>; expect: string[] }[] = [
  {
    name: 'a lower layer importing a higher one (type-only)',
    files: { 'tools/ip.ts': "import type { Manager } from '../containers/manager.ts';\n" },
    expect: [
      'no-upward: src/tools/ip.ts imports src/containers/manager.ts: a type-only import of containers, a layer above tools (a layer never imports a layer above it)',
    ],
  },
  {
    name: 'the model re-exporting from the store',
    files: { 'model/container.ts': "export { Row } from '../store/rows.ts';\n" },
    expect: [
      'no-cycle: src/model/container.ts imports src/store/rows.ts: a cycle: src/model/container.ts -> src/store/rows.ts -> src/model/container.ts (no import cycle, type-only imports included)',
      'no-upward: src/model/container.ts imports src/store/rows.ts: an import of store, a layer above shared (a layer never imports a layer above it)',
    ],
  },
  {
    name: 'a dynamic import of the api from the agent',
    files: { 'agent/client.ts': "export const load = () => import('../api/routes.ts');\n" },
    expect: [
      'no-cycle: src/agent/client.ts imports src/api/routes.ts: a cycle: src/agent/client.ts -> src/api/routes.ts -> src/containers/manager.ts -> src/sandbox/sandbox.ts -> src/agent/client.ts (no import cycle, type-only imports included)',
      'no-upward: src/agent/client.ts imports src/api/routes.ts: an import of api, a layer above agent (a layer never imports a layer above it)',
    ],
  },
  {
    name: 'images importing network, its neighbour',
    files: { 'images/store.ts': "import { run } from '../tools/run.ts';\nimport { Bridge } from '../network/bridge.ts';\n" },
    expect: [
      'no-sideways: src/images/store.ts imports src/network/bridge.ts: an import of network, beside images in the same tier (layers of the same tier never import each other)',
    ],
  },
  {
    name: 'a cycle inside one layer',
    files: { 'containers/run.ts': "import { Manager } from './manager.ts';\n", 'containers/manager.ts': "import { Run } from './run.ts';\n" },
    expect: [
      'no-cycle: src/containers/manager.ts imports src/containers/run.ts: a cycle: src/containers/manager.ts -> src/containers/run.ts -> src/containers/manager.ts (no import cycle, type-only imports included)',
    ],
  },
  {
    name: 'containers importing the wiring, through three layers',
    files: { 'containers/manager.ts': "import { main } from '../main.ts';\n" },
    expect: [
      'no-cycle: src/api/routes.ts imports src/containers/manager.ts: a cycle: src/api/routes.ts -> src/containers/manager.ts -> src/main.ts -> src/api/routes.ts (no import cycle, type-only imports included)',
      'no-upward: src/containers/manager.ts imports src/main.ts: an import of wiring, a layer above containers (a layer never imports a layer above it)',
    ],
  },
  {
    name: 'the command line importing a layer of the manager',
    files: { 'cli/hearth.ts': "import { HearthError } from '../errors.ts';\nawait import('../main.ts');\n" },
    expect: [
      'only-lazily: src/cli/hearth.ts imports src/errors.ts: an import of shared; cli may load only main.ts, with import() (a layer with a list of what it may load loads nothing else, and that only with import())',
    ],
  },
  {
    name: 'the command line loading the manager with every command',
    files: { 'cli/hearth.ts': "import { main } from '../main.ts';\n" },
    expect: [
      'only-lazily: src/cli/hearth.ts imports src/main.ts: an import of wiring; cli may load only main.ts, with import() (a layer with a list of what it may load loads nothing else, and that only with import())',
    ],
  },
  {
    name: 'a file in no layer',
    files: { 'util.ts': "import { HearthError } from './errors.ts';\n" },
    expect: ['in-a-layer: src/util.ts belongs to no layer (every file of src/ belongs to a layer of TIERS)'],
  },
  {
    name: 'an import from outside src/',
    files: { 'tools/run.ts': "import { fake } from '../../test/fakes.ts';\n" },
    expect: [
      'inside-src: src/tools/run.ts imports test/fakes.ts: an import from outside src/ (src/ imports nothing from outside src/)',
    ],
  },
];

describe('the layer checker', () => {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'hearth-layers-'));
  after(() => rmSync(temp, { recursive: true, force: true }));
  let trees = 0;
  const tree = (files: Record<string, string>): string => {
    const src = path.join(temp, String(trees++), 'src');
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
      writeFileSync(path.join(src, name), text);
    }
    return src;
  };

  it('finds nothing wrong in a tree that keeps the rules', () => {
    const src = tree(CLEAN);
    assert.equal(readImports(src).imports.length, 19);
    assert.deepEqual(checkLayers(src), []);
  });

  for (const plant of PLANTS) {
    it(`reports ${plant.name}`, () => {
      const violations = checkLayers(tree({ ...CLEAN, ...plant.files }));
      assert.deepEqual(violations.map((v) => v.message), plant.expect);
    });
  }
});
