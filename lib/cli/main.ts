#!/usr/bin/env node
/**
 * The `iomodes` command: a dispatcher over the subcommands in `lib/cli/`.
 * Adding a command is one entry in {@link commands}.
 *
 * Exit codes: 0 success, 1 a syscall failed (message on stderr, no stack
 * trace), 2 a usage error (usage on stderr).
 *
 * @module
 */
import { IoError } from '../errors.js';

/** One subcommand: `run` gets the arguments after its name and returns the exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): number | Promise<number>;
}

/**
 * Every subcommand, in the order `--help` lists them, each loaded only when
 * it runs (or for `--help`): `iomodes doctor` need not load the tour and the
 * bench, which took a third of its start-up. Adding a command is one entry
 * here.
 *
 * @example
 * ```ts
 * commands.map((c) => c.name); // ['doctor', 'tour', 'bench']
 * const doctor = await commands[0]!.load(); // its Command
 * ```
 */
export const commands: readonly { name: string; load(): Promise<Command> }[] = [
  { name: 'doctor', load: async () => (await import('./doctor.js')).doctorCommand },
  { name: 'tour', load: async () => (await import('./tour.js')).tourCommand },
  { name: 'bench', load: async () => (await import('./bench.js')).benchCommand },
];

async function help(): Promise<string> {
  const loaded = await Promise.all(commands.map((c) => c.load()));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: iomodes <command> [options]',
    '',
    'Commands:',
    // A usage of several lines keeps its indentation under the first.
    ...loaded.flatMap((c) => [`  ${c.name.padEnd(width)}  ${c.summary}`, `  ${' '.repeat(width)}  ${c.usage.replaceAll('\n', `\n  ${' '.repeat(width)}  `)}`]),
    '',
    'Run iomodes <command> --help for one command.',
    '',
  ].join('\n');
}

function isUsageError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('ERR_PARSE_ARGS_') || code.startsWith('ERR_INVALID_ARG_') || code === 'ERR_OUT_OF_RANGE');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(await help());
    return 0;
  }
  const command = await commands.find((c) => c.name === name)?.load();
  if (command === undefined) {
    process.stderr.write(`${name === undefined ? 'iomodes: missing command' : `iomodes: unknown command '${name}'`}\n\n${await help()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage: ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    if (isUsageError(err)) {
      process.stderr.write(`iomodes ${command.name}: ${(err as Error).message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    // A failed syscall is the machine's answer, not a bug: its message, no stack.
    if (err instanceof IoError) {
      process.stderr.write(`iomodes ${command.name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
