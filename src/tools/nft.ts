/**
 * nftables (`nft`), typed. Rulesets are built as values (tables, chains, rules made of typed matches and one
 * action), sent as libnftables JSON in one command-line argument (`nft -j '{"nftables": [...]}'`), so one call
 * is one atomic transaction. (Not `-f -`: nft opens /dev/stdin, which fails when stdin is a socket, as
 * child_process pipes are. One argument may hold 128 KiB, far more than Hearth's table needs.)
 *
 * Only the small subset Hearth uses is modelled; extend the unions when a new match is needed.
 */
import { runTool } from './run.ts';

export type NftFamily = 'ip' | 'ip6' | 'inet';

export interface NftTableRef {
  family: NftFamily;
  name: string;
}

export interface NftChainSpec {
  name: string;
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Numeric priority: filter = 0, srcnat = 100, dstnat = -100. */
  priority: number;
  policy: 'accept' | 'drop';
}

export type NftCtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

/** One condition of a rule; all of a rule's matches must hold. */
export type NftMatch =
  | { on: 'ip saddr' | 'ip daddr'; op: '==' | '!='; prefix: { addr: string; len: number } }
  | { on: 'iifname' | 'oifname'; op: '==' | '!='; value: string }
  | { on: 'ct state'; op: 'in'; value: NftCtState[] };

export type NftAction = 'accept' | 'drop' | 'masquerade';

export interface NftRuleSpec {
  chain: string;
  match: NftMatch[];
  action: NftAction;
}

/** A whole table of ours: replaced as a unit. */
export interface NftTableSpec extends NftTableRef {
  chains: NftChainSpec[];
  rules: NftRuleSpec[];
}

/** What is loaded in the kernel, as `nft -j list table` reports it. */
export interface NftTableContents extends NftTableRef {
  chains: { name: string; type?: string; hook?: string; priority?: number; policy?: string }[];
  rules: { chain: string; expr: unknown[] }[];
}

type Json = Record<string, unknown>;

function matchExpr(m: NftMatch): Json {
  switch (m.on) {
    case 'ip saddr':
    case 'ip daddr':
      return {
        match: {
          op: m.op,
          left: { payload: { protocol: 'ip', field: m.on === 'ip saddr' ? 'saddr' : 'daddr' } },
          right: { prefix: { addr: m.prefix.addr, len: m.prefix.len } },
        },
      };
    case 'iifname':
    case 'oifname':
      return { match: { op: m.op, left: { meta: { key: m.on } }, right: m.value } };
    case 'ct state':
      return { match: { op: 'in', left: { ct: { key: 'state' } }, right: m.value } };
  }
}

function ruleJson(table: NftTableRef, rule: NftRuleSpec): Json {
  return {
    family: table.family,
    table: table.name,
    chain: rule.chain,
    expr: [...rule.match.map(matchExpr), { [rule.action]: null }],
  };
}

async function apply(commands: Json[]): Promise<void> {
  await runTool('nft', ['-j', JSON.stringify({ nftables: commands })], { timeoutMs: 30_000 });
}

function tableJson(t: NftTableRef): Json {
  return { table: { family: t.family, name: t.name } };
}

/**
 * Loads `spec` as the complete contents of its table in one transaction: the table is created if missing,
 * emptied, and refilled (`add table; delete table; add table ...`). Running it twice gives the same ruleset.
 */
export async function nftReplaceTable(spec: NftTableSpec): Promise<void> {
  const ref = { family: spec.family, name: spec.name };
  await apply([
    { add: tableJson(ref) },
    { delete: tableJson(ref) },
    { add: tableJson(ref) },
    ...spec.chains.map((c) => ({
      add: {
        chain: { family: ref.family, table: ref.name, name: c.name, type: c.type, hook: c.hook, prio: c.priority, policy: c.policy },
      },
    })),
    ...spec.rules.map((r) => ({ add: { rule: ruleJson(ref, r) } })),
  ]);
}

/** Deletes a table and everything in it; succeeds when there is no such table. */
export async function nftDeleteTable(ref: NftTableRef): Promise<void> {
  await apply([{ add: tableJson(ref) }, { delete: tableJson(ref) }]);
}

/** `nft -j list tables`. */
export async function nftListTables(): Promise<NftTableRef[]> {
  const { stdout } = await runTool('nft', ['-j', 'list', 'tables'], { timeoutMs: 30_000 });
  const items = (JSON.parse(stdout) as { nftables: Json[] }).nftables;
  return items.flatMap((i) => {
    const t = i['table'] as { family: NftFamily; name: string } | undefined;
    return t === undefined ? [] : [{ family: t.family, name: t.name }];
  });
}

/** The chains and rules of one table, or undefined when it does not exist. */
export async function nftListTable(ref: NftTableRef): Promise<NftTableContents | undefined> {
  const tables = await nftListTables();
  if (!tables.some((t) => t.family === ref.family && t.name === ref.name)) return undefined;
  const { stdout } = await runTool('nft', ['-j', 'list', 'table', ref.family, ref.name], { timeoutMs: 30_000 });
  const items = (JSON.parse(stdout) as { nftables: Json[] }).nftables;
  const contents: NftTableContents = { ...ref, chains: [], rules: [] };
  for (const i of items) {
    const chain = i['chain'] as { name: string; type?: string; hook?: string; prio?: number; policy?: string } | undefined;
    if (chain !== undefined) {
      contents.chains.push({ name: chain.name, type: chain.type, hook: chain.hook, priority: chain.prio, policy: chain.policy });
    }
    const rule = i['rule'] as { chain: string; expr: unknown[] } | undefined;
    if (rule !== undefined) contents.rules.push({ chain: rule.chain, expr: rule.expr });
  }
  return contents;
}
