/**
 * The layers of src/, top to bottom: the one place the dependency rules live. `check-layers.ts` applies
 * them to every import in src/ (static, `export ... from`, dynamic `import()` and type-only imports alike)
 * and `layers.test.ts` runs it in the test command.
 *
 * A tier is a row of the README's architecture diagram. A file may import files of its own layer and of
 * any tier below its own; the bottom tier, `shared`, is below everyone, so anyone may import it.
 * Paths are relative to src/: `name/` is a directory and everything under it, `name.ts` one file.
 * @module
 */

export interface Layer {
  name: string;
  paths: string[];
  /**
   * If given, the only files (or `dir/`s) outside the layer it may import, whatever the tiers allow, and only
   * lazily (with `import()`, or for types), so that loading the layer does not load them.
   */
  onlyLazily?: string[];
}

/** Top to bottom. */
export const TIERS: Layer[][] = [
  // The `hearth` command: a client of the HTTP API, which it reaches over the network like any other, so it
  // uses none of the manager's code; `serve` alone loads the manager (main.ts, with `import()`, so the other
  // verbs and `--help` never load it).
  [{ name: 'cli', paths: ['cli/'], onlyLazily: ['main.ts'] }],
  // The process: configuration and real implementations wired together.
  [{ name: 'wiring', paths: ['main.ts', 'data-dir.ts', 'assemble/'] }],
  // HTTP: routes, schemas, auth, the error handler; `buildApp`.
  [{ name: 'api', paths: ['api/', 'app.ts'] }],
  // The lifecycle of containers, through the doors of the tier below.
  [{ name: 'containers', paths: ['containers/'] }],
  [
    { name: 'images', paths: ['images/'] },
    { name: 'network', paths: ['network/'] },
    { name: 'store', paths: ['store/'] },
    { name: 'sandbox', paths: ['sandbox/'] },
    { name: 'volumes', paths: ['volumes/'] },
  ],
  [
    { name: 'agent', paths: ['agent/'] },
    { name: 'vmm', paths: ['vmm/'] },
  ],
  // One small typed module per external program.
  [{ name: 'tools', paths: ['tools/'] }],
  // The vocabulary every layer speaks: errors, configuration, and the model of containers, VMs and events.
  [{ name: 'shared', paths: ['errors.ts', 'config.ts', 'model/'] }],
];

/** What each rule forbids, as a violation message quotes it. */
export const RULES = {
  'no-upward': 'a layer never imports a layer above it',
  'no-sideways': 'layers of the same tier never import each other',
  'no-cycle': 'no import cycle, type-only imports included',
  'in-a-layer': 'every file of src/ belongs to a layer of TIERS',
  'inside-src': 'src/ imports nothing from outside src/',
  'only-lazily': 'a layer with a list of what it may load loads nothing else, and that only with import()',
} as const;

export type Rule = keyof typeof RULES;
