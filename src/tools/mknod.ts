/** mknod(1): device nodes and FIFOs found in image layers (Node has no mknod). */
import { runTool } from './run.ts';

export async function mknod(path: string, type: 'c' | 'b' | 'p', mode: number, major = 0, minor = 0): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), path, type];
  if (type !== 'p') args.push(String(major), String(minor));
  await runTool('mknod', args);
}
