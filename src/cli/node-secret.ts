import { parseArgs } from 'node:util';
import { deriveNodeSecret } from '../protocol/node-secret.js';
import { readSecrets, UsageError } from './serve-config.js';

export const NODE_SECRET_USAGE = `  imrelay node-secret --node ID --master-file F
                            print node ID's secret under the current (first)
                            master secret in F, for deployment tooling`;

/**
 * `imrelay node-secret --node im-1 --master-file F`: the secret to give node
 * im-1 when the relay runs with `--master-secret-file F`. Prints it alone on
 * stdout so tooling can capture it.
 */
export function nodeSecretCommand(argv: string[]): string {
  let values: { node?: string | undefined; 'master-file'?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { node: { type: 'string' }, 'master-file': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!values.node) throw new UsageError('node-secret needs --node ID');
  if (!values['master-file']) throw new UsageError('node-secret needs --master-file F');
  const [current] = readSecrets(values['master-file']);
  try {
    return deriveNodeSecret(current!, values.node);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
