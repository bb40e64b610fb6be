// Runs a WASI command module under node's WASI (preview 1), as `isola wasm run` would:
//   node --no-warnings --no-turbo-fast-api-calls run-node.mjs FILE.wasm [ARGS...]
// --no-turbo-fast-api-calls: node 20's fast-API path for WASI calls segfaults at random when
// the process ends (nodejs/node#53087; seen here on half the runs of sha256.wasm).
// argv[0] is the file's base name, the environment is empty, stdio is node's; the exit status
// is the module's proc_exit code (a trap throws: node prints it and exits 1).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node --no-warnings --no-turbo-fast-api-calls run-node.mjs FILE.wasm ' +
                '[ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [basename(file), ...args], env: {},
                        returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
