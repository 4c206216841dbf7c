import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError, serveConfig } from '../../src/cli/serve-config.js';

describe('imrelay serve options', () => {
  it('reads flags, and falls back to IMRELAY_* variables', () => {
    const options = serveConfig(['--port', '9000', '--max-nodes', '12'], {
      IMRELAY_HOST: '::1',
      IMRELAY_PORT: '7000',
      IMRELAY_HEARTBEAT_INTERVAL_MS: '250',
    });
    expect(options).toEqual({ host: '::1', port: 9000, maxNodes: 12, heartbeatIntervalMs: 250 });
  });

  it('reads the delivery bounds: --delivery-timeout-ms and --startup-grace-ms (0 turns the startup grace off)', () => {
    expect(serveConfig(['--delivery-timeout-ms', '1500', '--startup-grace-ms', '0'], {})).toEqual({
      deliveryTimeoutMs: 1500,
      startupGraceMs: 0,
    });
    expect(serveConfig([], { IMRELAY_STARTUP_GRACE_MS: '2000' })).toEqual({ startupGraceMs: 2000 });
  });

  it('reads the limits on unproven connections and per-node work', () => {
    const options = serveConfig(
      ['--max-legacy-nodes', '5', '--max-pending-connections', '6', '--max-unproven-per-address', '7', '--max-users-per-node', '8'],
      { IMRELAY_MAX_LOCATE_IDS: '2000', IMRELAY_AUTH_FAILURE_DELAY_MAX_MS: '0' },
    );
    expect(options).toEqual({
      maxLegacyNodes: 5,
      maxPendingConnections: 6,
      maxUnprovenPerAddress: 7,
      maxUsersPerNode: 8,
      maxLocateIds: 2000,
      authFailureDelayMaxMs: 0,
    });
  });

  it('reads the master secrets of a file, current first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imrelay-cli-'));
    const file = join(dir, 'master');
    writeFileSync(file, 'current\nprevious\n');
    expect(serveConfig(['--master-secret-file', file], {}).masterSecret).toEqual(['current', 'previous']);
  });

  it('reads every secret of the secret file, skipping blanks and comments', () => {
    const dir = mkdtempSync(join(tmpdir(), 'imrelay-cli-'));
    const file = join(dir, 'secret');
    writeFileSync(file, '# rotated on Monday\nnew-secret\n\n  old-secret  \n');
    expect(serveConfig(['--secret-file', file], {}).secret).toEqual(['new-secret', 'old-secret']);
  });

  it('takes legacy acceptance as on, off or an allow list', () => {
    expect(serveConfig(['--legacy', 'on'], {}).legacy).toBe(true);
    expect(serveConfig([], { IMRELAY_LEGACY: 'off' }).legacy).toBe(false);
    expect(serveConfig(['--legacy', '10.0.0.0/24, 10.0.1.5'], {}).legacy).toEqual({ allow: ['10.0.0.0/24', '10.0.1.5'] });
  });

  it.each([[['--port', 'eighty']], [['--unknown-flag', '1']], [['--secret-file', '/nonexistent/imrelay-secret']]])(
    'refuses %j with a usage error',
    (argv) => {
      expect(() => serveConfig(argv, {})).toThrow(UsageError);
    },
  );
});
