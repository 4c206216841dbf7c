/**
 * The child side of the line protocol between the bench and its child
 * processes: commands arrive on stdin, one per line (a bare word such as
 * `stats`, or a JSON object with a `cmd` field); events leave on stdout as
 * one JSON object per line with an `event` field.
 */
import { createInterface } from 'node:readline';

export interface Command {
  cmd: string;
  [key: string]: unknown;
}

/** Writes one event line to stdout (synchronous on pipes, so nothing is lost on exit). */
export function emit(event: string, data: object = {}): void {
  process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
}

/**
 * Runs `handler` for every command. Commands are not serialised: a `stop`
 * must be handled while a `run` is still going. `quit` runs `onQuit`, then
 * exits; so does the end of stdin (the bench went away).
 */
export function serve(handler: (command: Command) => unknown, onQuit?: () => Promise<void> | void): void {
  const rl = createInterface({ input: process.stdin });
  let quitting = false;
  const quit = async (): Promise<void> => {
    if (quitting) return;
    quitting = true;
    const force = setTimeout(() => process.exit(0), 3000);
    try {
      await onQuit?.();
    } catch {
      // exiting anyway
    }
    clearTimeout(force);
    process.exit(0);
  };
  rl.on('line', (line) => {
    const text = line.trim();
    if (text === '') return;
    let command: Command;
    try {
      command = text.startsWith('{') ? (JSON.parse(text) as Command) : { cmd: text };
    } catch {
      emit('error', { message: `unreadable command: ${text}` });
      return;
    }
    if (command.cmd === 'quit') {
      void quit();
      return;
    }
    Promise.resolve()
      .then(() => handler(command))
      .catch((err: unknown) => emit('error', { message: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  });
  rl.on('close', () => void quit());
}

/** Reads `--name value` flags from argv into a map. */
export function flags(argv: string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    if (eq > 0) out.set(arg.slice(2, eq), arg.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out.set(arg.slice(2), argv[++i]!);
    else out.set(arg.slice(2), 'true');
  }
  return out;
}
