/** cp(1), for sparse and reflinked copies of disk images (Node's copyFile writes every hole out). */
import { runTool } from './run.ts';

export async function copySparse(source: string, destination: string): Promise<void> {
  await runTool('cp', ['--sparse=always', '--reflink=auto', source, destination]);
}
