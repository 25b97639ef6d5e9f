/**
 * The `lien` command's entry: `bin/lien.js` imports its compiled form (dist/cli/bin.js);
 * `npm run dev -- <command>` runs this source through tsx.
 */
import { main } from './main.ts';

await main(process.argv.slice(2));
