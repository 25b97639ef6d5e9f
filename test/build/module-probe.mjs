// Preloaded (NODE_OPTIONS=--import) into a process under test: records which modules it loads,
// so a test can tell what the process really ran. ES modules are seen by a load hook (on the
// hooks thread); CommonJS ones are read from require.cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.LIEN_MODULE_PROBE;
if (out) {
  register(new URL('./module-probe-hooks.mjs', import.meta.url), { data: { out } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    appendFileSync(out, `${JSON.stringify({ pid: process.pid, argv: process.argv, execArgv: process.execArgv, cjs: Object.keys(require.cache) })}\n`);
  });
}
