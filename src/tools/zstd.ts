/**
 * zstd(1): decompresses zstd image layers into a file. Debian's zstd 1.5 is the reference implementation at
 * native speed; Node 20's zlib has no zstd, and the pure-JS decoders are several times slower.
 */
import { runTool } from './run.ts';

export async function zstdDecompressToFile(input: string, output: string): Promise<void> {
  await runTool('zstd', ['-d', '-q', '-f', '--no-progress', '-o', output, input]);
}

/** Used by tests and the bench to make zstd layers. */
export async function zstdCompressFile(input: string, output: string, level = 3): Promise<void> {
  await runTool('zstd', [`-${level}`, '-q', '-f', '--no-progress', '-o', output, input]);
}
