/**
 * Checks the imports of a source tree against the layer rules of `layers.ts`: reads every `.ts` file with
 * the TypeScript parser, resolves each relative import specifier to a file, and reports each import that
 * climbs a tier or crosses to a neighbour, each import cycle (one per tangle of files), each file that
 * belongs to no layer and each import that leaves the tree. Package and `node:` imports are not checked.
 *
 * Run on its own: `node --import tsx test/arch/check-layers.ts [src-dir]` prints the violations and exits 1
 * if there are any.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { RULES, TIERS, type Layer, type Rule } from './layers.ts';

export interface Import {
  /** Both relative to the parent of the source directory, with `/`: `src/tools/run.ts`. */
  from: string;
  to: string;
  typeOnly: boolean;
  /** Every statement between the two files is an `import()` call or type-only: loading `from` does not load `to`. */
  lazy: boolean;
}

export interface Violation {
  rule: Rule;
  from: string;
  to: string;
  /** Names the importing file, the imported file and the rule. */
  message: string;
}

/** Every relative import of every `.ts` file under `srcDir`. */
export function readImports(srcDir: string): { files: string[]; imports: Import[] } {
  const base = path.dirname(path.resolve(srcDir));
  const rel = (abs: string) => path.relative(base, abs).split(path.sep).join('/');
  const files = listTs(path.resolve(srcDir));
  const imports = new Map<string, Import>();
  for (const file of files) {
    for (const { specifier, typeOnly, dynamic } of specifiers(file)) {
      if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue;
      const i = { from: rel(file), to: rel(resolve(path.dirname(file), specifier)) };
      // One import per pair of files: type-only (or lazy) if every statement between them is.
      const key = `${i.from}\n${i.to}`;
      const seen = imports.get(key);
      imports.set(key, { ...i, typeOnly: typeOnly && (seen?.typeOnly ?? true), lazy: (typeOnly || dynamic) && (seen?.lazy ?? true) });
    }
  }
  return { files: files.map(rel), imports: [...imports.values()] };
}

/** The violations of the rules in `tiers` by the files under `srcDir`, sorted. */
export function checkLayers(srcDir: string, tiers: Layer[][] = TIERS): Violation[] {
  const { files, imports } = readImports(srcDir);
  const root = path.basename(path.resolve(srcDir));
  const place = placer(root, tiers);
  const violations: Violation[] = [];
  const add = (rule: Rule, from: string, to: string, detail: string) =>
    violations.push({ rule, from, to, message: `${rule}: ${from} imports ${to}: ${detail} (${RULES[rule]})` });

  for (const file of files) {
    if (place(file) === undefined) {
      violations.push({ rule: 'in-a-layer', from: file, to: file, message: `in-a-layer: ${file} belongs to no layer (${RULES['in-a-layer']})` });
    }
  }
  for (const { from, to, typeOnly, lazy } of imports) {
    const kind = typeOnly ? 'a type-only import' : 'an import';
    if (!to.startsWith(`${root}/`)) {
      add('inside-src', from, to, `${kind} from outside ${root}/`);
      continue;
    }
    const a = place(from);
    const b = place(to);
    if (a === undefined || b === undefined || a.layer === b.layer) continue;
    const allowed = a.layer.onlyLazily;
    if (allowed !== undefined && !(lazy && allowed.some((p) => (p.endsWith('/') ? to.startsWith(`${root}/${p}`) : to === `${root}/${p}`)))) {
      add('only-lazily', from, to, `${lazy ? 'a lazy import' : kind} of ${b.layer.name}; ${a.layer.name} may load only ${allowed.join(', ')}, with import()`);
      continue;
    }
    if (b.tier < a.tier) add('no-upward', from, to, `${kind} of ${b.layer.name}, a layer above ${a.layer.name}`);
    else if (b.tier === a.tier) add('no-sideways', from, to, `${kind} of ${b.layer.name}, beside ${a.layer.name} in the same tier`);
  }
  for (const cycle of cycles(files, imports)) {
    add('no-cycle', cycle[0]!, cycle[1]!, `a cycle: ${cycle.join(' -> ')}`);
  }
  return violations.sort((x, y) => x.message.localeCompare(y.message));
}

/** Maps a file (`src/...`) to its layer and tier; the longest matching path wins. */
function placer(root: string, tiers: Layer[][]) {
  const entries = tiers.flatMap((layers, tier) => layers.flatMap((layer) => layer.paths.map((p) => ({ p: `${root}/${p}`, layer, tier }))));
  return (file: string): { layer: Layer; tier: number } | undefined => {
    let best: (typeof entries)[number] | undefined;
    for (const e of entries) {
      const match = e.p.endsWith('/') ? file.startsWith(e.p) : file === e.p;
      if (match && (best === undefined || e.p.length > best.p.length)) best = e;
    }
    return best;
  };
}

/**
 * One cycle for each strongly connected set of files (Tarjan), as a path that starts and ends at the set's
 * first file by name: fixing it may reveal the next cycle of the same set.
 */
function cycles(files: string[], imports: Import[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const i of imports) if (next.has(i.to)) next.get(i.from)!.push(i.to);
  for (const list of next.values()) list.sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const sets: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const set: string[] = [];
      for (let w = ''; w !== v; ) {
        w = stack.pop()!;
        onStack.delete(w);
        set.push(w);
      }
      if (set.length > 1 || next.get(v)!.includes(v)) sets.push(set.sort());
    }
  };
  for (const f of [...files].sort()) if (!index.has(f)) visit(f);
  // The shortest way round from the set's first file back to it, staying inside the set.
  return sets.map((set) => {
    const start = set[0]!;
    const inSet = new Set(set);
    const cameFrom = new Map<string, string>();
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.shift()!;
      for (const w of next.get(v)!) {
        if (!inSet.has(w)) continue;
        if (w === start) {
          const way = [start];
          for (let u = v; u !== start; u = cameFrom.get(u)!) way.splice(1, 0, u);
          return [...way, start];
        }
        if (!cameFrom.has(w)) {
          cameFrom.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listTs(path.join(dir, e.name)) : /\.[mc]?ts$/.test(e.name) ? [path.join(dir, e.name)] : []))
    .sort();
}

/** `./x.ts` as written; `./x.js` and extensionless specifiers found as the `.ts` file or `index.ts` they mean. */
function resolve(dir: string, specifier: string): string {
  const target = path.resolve(dir, specifier);
  const candidates = [target, target.replace(/\.([mc]?)js$/, '.$1ts'), `${target}.ts`, path.join(target, 'index.ts')];
  return candidates.find((c) => /\.[mc]?ts$/.test(c) && existsSync(c)) ?? target;
}

/** The module specifiers of one file: imports, re-exports, `import()` calls and `import('...')` types. */
function specifiers(file: string): { specifier: string; typeOnly: boolean; dynamic: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: { specifier: string; typeOnly: boolean; dynamic: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly)));
      found.push({ specifier: node.moduleSpecifier.text, typeOnly, dynamic: false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push({ specifier: node.moduleReference.expression.text, typeOnly: node.isTypeOnly, dynamic: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteralLike(node.arguments[0])) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false, dynamic: true });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true, dynamic: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const srcDir = process.argv[2] ?? path.join(import.meta.dirname, '..', '..', 'src');
  const violations = checkLayers(srcDir);
  for (const v of violations) process.stdout.write(`${v.message}\n`);
  process.stdout.write(violations.length === 0 ? 'layers: no violations\n' : `layers: ${violations.length} violation(s)\n`);
  process.exit(violations.length === 0 ? 0 : 1);
}
