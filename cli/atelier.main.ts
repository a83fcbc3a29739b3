import { createInterface } from 'node:readline/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Atelier, AtelierError, FINISHED, GENERATION_KINDS, type GenerationKind, type Job, type JobEvent } from '../sdk/src/index.ts';
import { downloadJob } from '../sdk/src/node.ts';
import { forgetSettings, loadSettings, saveSettings } from './cli.config.ts';
import { buildInput, KIND_FLAGS, UsageError } from './cli.inputs.ts';
import { JobProgressBar } from './cli.progress.ts';

const USAGE = `Usage:
  ./atelier login [--url URL] [--username NAME] [--password PW | --token API_KEY]
  ./atelier logout
  ./atelier generate image|video|speech|talking-head "prompt or text" [--steps 30 --width 512 …] [-o DIR]
  ./atelier jobs [--status QUEUED|PROCESSING|COMPLETED|FAILED|CANCELLED] [--kind IMAGE|…] [--search TEXT] [--limit 20]
  ./atelier watch JOB_ID [-o DIR]
  ./atelier cancel JOB_ID
ATELIER_URL and ATELIER_TOKEN override what login stored. "./atelier generate KIND --help" lists a kind's flags.`;

type Flags = Record<string, string | boolean | undefined>;

function parse(args: string[], options: ParseArgsConfig['options']) {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { flags: values as Flags, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/s, ''));
  }
}

async function client(): Promise<Atelier> {
  const settings = await loadSettings();
  return new Atelier({ url: settings.url, token: settings.token });
}

async function ask(question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY) throw new UsageError(`${question.replace(/: $/, '')} is needed (give it as a flag when not on a terminal)`);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    // Echo nothing while the password is typed.
    const internal = rl as unknown as { _writeToOutput: (s: string) => void };
    internal._writeToOutput = (s: string) => void (s.startsWith(question) ? process.stderr.write(s) : undefined);
  }
  try {
    return await rl.question(question);
  } finally {
    if (hidden) process.stderr.write('\n');
    rl.close();
  }
}

async function login(args: string[]) {
  const { flags } = parse(args, { url: { type: 'string' }, username: { type: 'string', short: 'u' }, password: { type: 'string', short: 'p' }, token: { type: 'string' } });
  const settings = await loadSettings();
  const url = String(flags.url ?? settings.url).replace(/\/+$/, '');
  const atelier = new Atelier({ url });
  try {
    if (flags.token) {
      atelier.token = String(flags.token);
    } else {
      const username = String(flags.username ?? (await ask('Username: ')));
      const password = String(flags.password ?? process.env.ATELIER_PASSWORD ?? (await ask('Password: ', true)));
      await atelier.login(username, password);
    }
    const me = await atelier.me();
    const file = await saveSettings({ url, token: atelier.token });
    console.log(`Logged in to ${url} as ${me.username} (${me.role.toLowerCase()}); token kept in ${file}`);
  } finally {
    await atelier.close();
  }
}

const finalLine = (job: Job | JobEvent, id: string) => {
  const error = job.error ? ` ${job.error.code}: ${job.error.message}` : '';
  return `${job.status} ${id}${error}`;
};

/** Follows one job with a progress bar; downloads its files into `dir` when it completes. */
async function follow(atelier: Atelier, id: string, label: string, dir: string | undefined): Promise<number> {
  const bar = new JobProgressBar(label);
  let last: JobEvent | undefined;
  const interrupt = () => {
    bar.stop();
    process.stderr.write(`\nStopped watching; job ${id} goes on (./atelier watch ${id}, ./atelier cancel ${id})\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  try {
    for await (const event of atelier.follow(id)) {
      last = event;
      bar.update(event);
    }
  } finally {
    bar.stop(last);
    process.off('SIGINT', interrupt);
  }
  if (!last || !FINISHED.includes(last.status)) throw new AtelierError('UNREACHABLE', `The progress stream of job ${id} ended before the job did`);
  if (last.status !== 'COMPLETED') {
    console.error(`atelier: ${finalLine(last, id)}`);
    return 1;
  }
  const job = await atelier.job(id);
  const runtime = job.runMs != null ? ` in ${(job.runMs / 1000).toFixed(1)}s` : '';
  console.log(`COMPLETED ${id}${runtime}${job.engine ? ` on ${job.engine}` : ''}`);
  if (dir) for (const file of await downloadJob(atelier, job, dir)) console.log(`saved ${file}`);
  else for (const asset of job.assets) console.log(asset.url);
  return 0;
}

async function generate(args: string[]): Promise<number> {
  const kind = args[0] as GenerationKind;
  if (!GENERATION_KINDS.includes(kind)) throw new UsageError(`generate needs a kind: ${GENERATION_KINDS.join(', ')}`);
  const table = KIND_FLAGS[kind];
  const options: ParseArgsConfig['options'] = { output: { type: 'string', short: 'o' } };
  for (const [flag, spec] of Object.entries(table)) options[flag] = { type: spec.type === 'bool' ? 'boolean' : 'string' };
  const { flags, positionals } = parse(args.slice(1), options);
  if (flags.help) {
    console.log(`./atelier generate ${kind} ${kind === 'talking-head' ? '["text to speak"] --image FILE [--audio FILE]' : '"…"'} [flags] [-o DIR]`);
    for (const [flag, spec] of Object.entries(table)) console.log(`  --${flag.padEnd(13)} ${spec.help}`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`generate ${kind} takes one text; quote it: "${positionals.join(' ')}"`);
  const { output, help: _help, ...fields } = flags;
  const atelier = await client();
  try {
    const input = await buildInput(atelier, kind, positionals[0], fields, (step) => process.stderr.write(`${step}…\n`));
    const job = await atelier.generate(kind, input);
    process.stderr.write(`Job ${job.id} queued (${kind}${job.engine ? `, ${job.engine}` : ''})\n`);
    return await follow(atelier, job.id, kind, output === undefined ? undefined : String(output));
  } finally {
    await atelier.close();
  }
}

async function watch(args: string[]): Promise<number> {
  const { flags, positionals } = parse(args, { output: { type: 'string', short: 'o' } });
  const id = positionals[0];
  if (!id) throw new UsageError('watch needs a job id (see ./atelier jobs)');
  const atelier = await client();
  try {
    const job = await atelier.job(id);
    return await follow(atelier, id, job.kind.toLowerCase().replace('_', '-'), flags.output === undefined ? undefined : String(flags.output));
  } finally {
    await atelier.close();
  }
}

async function cancel(args: string[]): Promise<number> {
  const { positionals } = parse(args, {});
  if (!positionals[0]) throw new UsageError('cancel needs a job id (see ./atelier jobs)');
  const atelier = await client();
  const job = await atelier.cancel(positionals[0]);
  console.log(finalLine(job, job.id));
  return 0;
}

const STATUSES = ['QUEUED', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
const KINDS = ['IMAGE', 'VIDEO', 'SPEECH', 'TALKING_HEAD', 'WORKFLOW'] as const;

function oneOf<T extends string>(flag: string, value: string | boolean | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  const upper = String(value).toUpperCase().replace('-', '_') as T;
  if (!allowed.includes(upper)) throw new UsageError(`--${flag} is one of ${allowed.join(', ')}`);
  return upper;
}

async function jobs(args: string[]): Promise<number> {
  const { flags } = parse(args, { status: { type: 'string' }, kind: { type: 'string' }, search: { type: 'string' }, limit: { type: 'string', short: 'n' } });
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError('--limit is a whole number from 1 to 100');
  const atelier = await client();
  const { jobs: list, hasMore } = await atelier.jobs({
    first: limit,
    status: oneOf('status', flags.status, STATUSES),
    kind: oneOf('kind', flags.kind, KINDS),
    search: flags.search === undefined ? undefined : String(flags.search),
  });
  if (!list.length) {
    console.log('No jobs yet. Try: ./atelier generate image "a lighthouse at dusk"');
    return 0;
  }
  const rows = list.map((j) => {
    const input = (j.input ?? {}) as { prompt?: string; text?: string };
    const what = (input.prompt ?? input.text ?? '').replace(/\s+/g, ' ');
    return [j.id, j.kind, j.status, `${j.progress}%`, j.createdAt.slice(0, 19).replace('T', ' '), what.length > 40 ? `${what.slice(0, 39)}…` : what];
  });
  const header = ['ID', 'KIND', 'STATUS', 'DONE', 'CREATED (UTC)', 'PROMPT'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  if (hasMore) console.log(`… more with --limit ${Math.min(100, limit * 2)}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'login':
      await login(args);
      return 0;
    case 'logout':
      await forgetSettings();
      console.log('Logged out');
      return 0;
    case 'generate':
      return generate(args);
    case 'jobs':
      return jobs(args);
    case 'watch':
      return watch(args);
    case 'cancel':
      return cancel(args);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const hint = (error: AtelierError) => {
  if (error.code === 'UNAUTHENTICATED') return ' (run ./atelier login, or set ATELIER_TOKEN)';
  if (error.code === 'UNREACHABLE') return ' (is it running? ./atelier start; or set ATELIER_URL)';
  return '';
};

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof AtelierError) console.error(`atelier: ${error.code}: ${error.message}${hint(error)}`);
    else if (error instanceof UsageError) console.error(`atelier: ${error.message} (see ./atelier help)`);
    else console.error(`atelier: ${(error as Error).message ?? error}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
