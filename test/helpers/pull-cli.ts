/** `node --import tsx test/helpers/pull-cli.ts <dataDir> <ref>`: a pull in its own process (to be killed). */
import { ImageStore } from '../../src/images/image-store.ts';

const [dataDir, ref] = process.argv.slice(2);
const store = new ImageStore({ dataDir: dataDir!, retries: 0 });
await store.ensureRootfs(ref!, { onProgress: (p) => process.stdout.write(`${JSON.stringify(p)}\n`) });
process.stdout.write('{"type":"exit"}\n');
