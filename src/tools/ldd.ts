/** `ldd`, typed: the shared objects a dynamically linked program loads, the dynamic loader included. */
import { runTool } from './run.ts';

/** Absolute paths, as the loader will open them (e.g. `/lib64/ld-linux-x86-64.so.2`, `/lib/x86_64-linux-gnu/libc.so.6`). */
export async function sharedObjects(program: string): Promise<string[]> {
  const { stdout } = await runTool('ldd', [program], { timeoutMs: 30_000 });
  return parseLdd(stdout);
}

export function parseLdd(output: string): string[] {
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    const resolved = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (resolved) paths.add(resolved);
  }
  return [...paths];
}
