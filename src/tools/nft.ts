/**
 * nftables (`nft`), typed. Rulesets are built as values (tables, chains, rules made of typed matches and one
 * action), sent as libnftables JSON in one command-line argument (`nft -j '{"nftables": [...]}'`), so one call
 * is one atomic transaction. (Not `-f -`: nft opens /dev/stdin, which fails when stdin is a socket, as
 * child_process pipes are. One argument may hold 128 KiB, far more than Hearth's table needs.)
 *
 * Only the small subset Hearth uses is modelled; extend the unions when a new match is needed.
 *
 * A command that names a table or set that does not exist fails with NotFound (HEARTH_ERR_NFT_NOT_FOUND);
 * anything else stays HEARTH_ERR_TOOL_FAILED from `runTool`.
 */
import { HearthError, isHearthError } from '../errors.ts';
import { runTool } from './run.ts';

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'bridge';

export interface NftTableRef {
  family: NftFamily;
  name: string;
}

export interface NftChainSpec {
  name: string;
  type: 'filter' | 'nat';
  hook: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  /** Numeric priority: filter = 0, srcnat = 100, dstnat = -100 (bridge family: filter = -200). */
  priority: number;
  policy: 'accept' | 'drop';
}

export type NftCtState = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

/** A field of the packet (or its metadata) that can be part of a set lookup's key. */
export type NftKey = 'iifname' | 'ether saddr' | 'ip saddr' | 'arp saddr ether' | 'arp saddr ip';

/** The element type of each part of a set's key (`ifname . ether_addr . ipv4_addr`). */
export type NftSetKeyType = 'ifname' | 'ether_addr' | 'ipv4_addr';

/** One condition of a rule; all of a rule's matches must hold. */
export type NftMatch =
  | { on: 'ip saddr' | 'ip daddr'; op: '==' | '!='; prefix: { addr: string; len: number } }
  /** A value ending in `*` matches every name with that prefix (`iifname != "hth*"`). */
  | { on: 'iifname' | 'oifname'; op: '==' | '!='; value: string }
  | { on: 'ct state'; op: 'in'; value: NftCtState[] }
  | { on: 'ether type'; op: '=='; value: 'ip' | 'arp' }
  | { on: 'arp htype' | 'arp hlen' | 'arp plen'; op: '=='; value: number }
  | { on: 'arp ptype'; op: '=='; value: 'ip' }
  /** `key1 . key2 ... @set`: the concatenation of the keys is an element of the set. */
  | { on: 'set'; keys: NftKey[]; set: string };

export type NftAction = 'accept' | 'drop' | 'masquerade';

export interface NftRuleSpec {
  chain: string;
  match: NftMatch[];
  action: NftAction;
}

export interface NftSetSpec {
  name: string;
  type: NftSetKeyType[];
}

/** A whole table of ours. */
export interface NftTableSpec extends NftTableRef {
  sets?: NftSetSpec[];
  chains: NftChainSpec[];
  rules: NftRuleSpec[];
}

/** One set element: a value per part of the set's key, as nft prints them (`hth1`, `02:68:0a:d5:00:02`). */
export type NftElement = string[];

/** What is loaded in the kernel, as `nft -j list table` reports it. */
export interface NftTableContents extends NftTableRef {
  chains: { name: string; type?: string; hook?: string; priority?: number; policy?: string }[];
  rules: { chain: string; expr: unknown[] }[];
}

type Json = Record<string, unknown>;

function keyExpr(key: NftKey): Json {
  switch (key) {
    case 'iifname':
      return { meta: { key: 'iifname' } };
    case 'ether saddr':
      return { payload: { protocol: 'ether', field: 'saddr' } };
    case 'ip saddr':
      return { payload: { protocol: 'ip', field: 'saddr' } };
    case 'arp saddr ether':
      return { payload: { protocol: 'arp', field: 'saddr ether' } };
    case 'arp saddr ip':
      return { payload: { protocol: 'arp', field: 'saddr ip' } };
  }
}

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
    case 'ether type':
      return { match: { op: m.op, left: { payload: { protocol: 'ether', field: 'type' } }, right: m.value } };
    case 'arp htype':
    case 'arp hlen':
    case 'arp plen':
    case 'arp ptype':
      return { match: { op: m.op, left: { payload: { protocol: 'arp', field: m.on.slice(4) } }, right: m.value } };
    case 'set':
      return { match: { op: '==', left: { concat: m.keys.map(keyExpr) }, right: `@${m.set}` } };
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

async function nft(args: string[]): Promise<string> {
  try {
    return (await runTool('nft', args, { timeoutMs: 30_000 })).stdout;
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_TOOL_FAILED') && /No such file or directory/.test(e.message)) {
      throw new HearthError('NotFound', 'HEARTH_ERR_NFT_NOT_FOUND', e.message, { cause: e });
    }
    throw e;
  }
}

async function apply(commands: Json[]): Promise<void> {
  await nft(['-j', JSON.stringify({ nftables: commands })]);
}

function tableJson(t: NftTableRef): Json {
  return { table: { family: t.family, name: t.name } };
}

function chainJson(t: NftTableRef, c: NftChainSpec): Json {
  return { chain: { family: t.family, table: t.name, name: c.name, type: c.type, hook: c.hook, prio: c.priority, policy: c.policy } };
}

function setJson(t: NftTableRef, s: NftSetSpec): Json {
  return { set: { family: t.family, table: t.name, name: s.name, type: s.type } };
}

function elementJson(t: NftTableRef, set: string, elements: NftElement[]): Json {
  const elem = elements.map((e) => (e.length === 1 ? e[0] : { concat: e }));
  return { element: { family: t.family, table: t.name, name: set, elem } };
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
    ...(spec.sets ?? []).map((s) => ({ add: setJson(ref, s) })),
    ...spec.chains.map((c) => ({ add: chainJson(ref, c) })),
    ...spec.rules.map((r) => ({ add: { rule: ruleJson(ref, r) } })),
  ]);
}

/**
 * Loads `spec` in one transaction without touching its sets' elements: the table, sets and chains are created
 * where missing, and each chain's rules are replaced by the spec's (`add chain; flush chain; add rule ...`).
 * For a table whose sets hold live state. Running it twice gives the same ruleset.
 */
export async function nftEnsureTable(spec: NftTableSpec): Promise<void> {
  const ref = { family: spec.family, name: spec.name };
  await apply([
    { add: tableJson(ref) },
    ...(spec.sets ?? []).map((s) => ({ add: setJson(ref, s) })),
    ...spec.chains.flatMap((c) => [{ add: chainJson(ref, c) }, { flush: chainJson(ref, c) }]),
    ...spec.rules.map((r) => ({ add: { rule: ruleJson(ref, r) } })),
  ]);
}

/** Deletes a table and everything in it; succeeds when there is no such table. */
export async function nftDeleteTable(ref: NftTableRef): Promise<void> {
  await apply([{ add: tableJson(ref) }, { delete: tableJson(ref) }]);
}

/** `nft -j list tables`. */
export async function nftListTables(): Promise<NftTableRef[]> {
  const stdout = await nft(['-j', 'list', 'tables']);
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
  const stdout = await nft(['-j', 'list', 'table', ref.family, ref.name]);
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

/**
 * Removes `remove` from and adds `add` to a set, in one transaction. Removing an element that is not there is
 * not an error (each is added, then deleted). NotFound (HEARTH_ERR_NFT_NOT_FOUND) when the set does not exist.
 */
export async function nftChangeElements(
  ref: NftTableRef,
  set: string,
  change: { remove?: NftElement[]; add?: NftElement[] },
): Promise<void> {
  const remove = change.remove ?? [];
  const add = change.add ?? [];
  const commands: Json[] = [];
  if (remove.length > 0) commands.push({ add: elementJson(ref, set, remove) }, { delete: elementJson(ref, set, remove) });
  if (add.length > 0) commands.push({ add: elementJson(ref, set, add) });
  if (commands.length > 0) await apply(commands);
}

/** The elements of a set, or undefined when the table or the set does not exist. */
export async function nftListElements(ref: NftTableRef, set: string): Promise<NftElement[] | undefined> {
  let stdout: string;
  try {
    stdout = await nft(['-j', 'list', 'set', ref.family, ref.name, set]);
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_NFT_NOT_FOUND')) return undefined;
    throw e;
  }
  const items = (JSON.parse(stdout) as { nftables: Json[] }).nftables;
  const found = items.find((i) => i['set'] !== undefined)?.['set'] as { elem?: unknown[] } | undefined;
  return (found?.elem ?? []).map(elementValues);
}

/** A one-part element prints as its value, a concatenation as `{"concat": [...]}`. */
function elementValues(e: unknown): NftElement {
  return typeof e === 'object' && e !== null && 'concat' in e ? (e.concat as unknown[]).map(String) : [String(e)];
}
