import { registerC2BUrls } from '../services/rails/mpesa.ts';
import { UsageError, type Command } from './args.ts';
import { dataDirOption, withServices } from './db.ts';

/** The operator acts for the channel's lender; the audit entry names the command. */
const CLI = { kind: 'operator', id: 'cli:mpesa', lenderId: null } as const;

export const mpesaCommand: Command = {
  name: 'mpesa',
  summary: "M-Pesa tools: `register-urls --channel ID` registers a channel's C2B callback URLs with Daraja",
  usage: 'register-urls --channel ID [--data-dir DIR]',
  options: {
    'data-dir': dataDirOption,
    channel: { type: 'string', description: 'the payment channel id (pch_…), from GET /v1/payment-channels or the console' },
  },
  help: [
    "Gets an OAuth token with the channel's Daraja consumer key and secret (client credentials), then calls the Register URL",
    "API for the channel's short code with its validation and confirmation URLs (under LIEN_PUBLIC_URL). The channel's",
    'options decide where: environment sandbox (default) or production, or baseUrl. In production Safaricom lets a short code',
    'register once; ask Safaricom to clear it before registering again.',
  ],
  async run({ values, positionals }) {
    if (positionals[0] !== 'register-urls') throw new UsageError('mpesa subcommands: `register-urls --channel ID`');
    if (typeof values.channel !== 'string' || values.channel === '') throw new UsageError('--channel ID is required');
    const channelId = values.channel;
    return withServices(values, async (s) => {
      const r = await registerC2BUrls(s, CLI, channelId);
      console.log(`registered for short code ${r.shortCode} (ResponseType ${r.responseType}):`);
      console.log(`  validation   ${r.validationUrl}`);
      console.log(`  confirmation ${r.confirmationUrl}`);
      console.log(`Daraja answered: ${JSON.stringify(r.response)}`);
      return 0;
    });
  },
};
