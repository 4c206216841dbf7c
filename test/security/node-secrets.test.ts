import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayClient, deriveNodeSecret } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { imrelay, useCliProcesses, waitForLine } from '../helpers/cli-process.js';
import { settle } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();
useCliProcesses();

const MASTER = 'master-one';

describe('deriveNodeSecret', () => {
  it('is HMAC-SHA256(master, "imrelay v1 node secret\\0" + node id) in hex, as openssl computes it', () => {
    // printf 'imrelay v1 node secret\0im-1' | openssl dgst -sha256 -hmac master-one
    expect(deriveNodeSecret(MASTER, 'im-1')).toBe('1af38b34c1b40166fdecae5c781456e5fd86570af24a1dd000790000e4a55312');
    expect(deriveNodeSecret(Buffer.from(MASTER), 'im-1')).toBe(deriveNodeSecret(MASTER, 'im-1'));
    expect(deriveNodeSecret(MASTER, 'im-2')).not.toBe(deriveNodeSecret(MASTER, 'im-1'));
  });

  it('refuses an empty master or a node id it cannot carry, with ERR_INVALID_ARGUMENT', () => {
    expect(() => deriveNodeSecret('', 'im-1')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => deriveNodeSecret(MASTER, '')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => deriveNodeSecret(MASTER, 'x'.repeat(256))).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });
});

describe('a relay with a master secret', () => {
  it("admits each node with its own secret, and a node holding im-1's secret can neither join as im-2 nor replace it", async () => {
    const { url, server } = await startServer({ masterSecret: MASTER });
    const one = await connectClient(url, 'im-1', { secret: deriveNodeSecret(MASTER, 'im-1') });
    const two = collect(await connectClient(url, 'im-2', { secret: deriveNodeSecret(MASTER, 'im-2') }));
    expect(await one.send({ 'im-2': ['u'] }, 'hi')).toEqual({ delivered: ['im-2'], offline: {} });
    await two.waitFor(1);

    const impostor = createClient(url, 'im-2', { secret: deriveNodeSecret(MASTER, 'im-1') });
    const outcome = await settle(impostor.connect());
    expect(outcome.status).toBe('rejected');
    expect((outcome as { reason: { code: string } }).reason.code).toBe(ErrorCodes.AUTH);
    expect(server.stats().authFailures).toBe(1);
    // The real im-2 is still the one connected.
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['im-1', 'im-2']);
    expect(await one.send({ 'im-2': ['u'] }, 'still there')).toEqual({ delivered: ['im-2'], offline: {} });
  });

  it('rotates: nodes holding secrets under the old master keep joining while the new one is listed first', async () => {
    const { url } = await startServer({ masterSecret: ['master-two', MASTER] });
    const old = await connectClient(url, 'im-1', { secret: deriveNodeSecret(MASTER, 'im-1') });
    const fresh = collect(await connectClient(url, 'im-2', { secret: deriveNodeSecret('master-two', 'im-2') }));
    expect(await old.send({ 'im-2': ['u'] }, 'across masters')).toEqual({ delivered: ['im-2'], offline: {} });
    await fresh.waitFor(1);
  });

  it('works beside a shared secret, to move a cluster from one to the other', async () => {
    const { url } = await startServer({ masterSecret: MASTER, secret: 'shared' });
    await connectClient(url, 'im-1', { secret: 'shared' });
    await connectClient(url, 'im-2', { secret: deriveNodeSecret(MASTER, 'im-2') });
    const wrong = await settle(createClient(url, 'im-3', { secret: deriveNodeSecret('other', 'im-3') }).connect());
    expect((wrong as { reason: { code: string } }).reason.code).toBe(ErrorCodes.AUTH);
  });

  it('never shows the master secret in inspect or JSON', async () => {
    const { server } = await startServer({ masterSecret: 'do-not-print-me' });
    expect(inspect(server, { depth: 10 })).not.toContain('do-not-print-me');
    expect(inspect(server.options, { depth: 10 })).not.toContain('do-not-print-me');
    expect(JSON.stringify(server.options)).not.toContain('do-not-print-me');
  });
});

describe('imrelay node-secret and serve --master-secret-file (real processes)', () => {
  it('prints the node secret the relay started with the same master file admits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imrelay-master-'));
    const file = join(dir, 'master');
    writeFileSync(file, `# current first\n${MASTER}\nolder-master\n`);

    const printer = imrelay(['node-secret', '--node', 'im-7', '--master-file', file]);
    expect(await printer.exit).toBe(0);
    // Nothing but the secret and a newline, on stdout or stderr: tooling captures it whole.
    const printed = printer.output();
    expect(printed).toBe(`${deriveNodeSecret(MASTER, 'im-7')}\n`);

    const relay = imrelay(['serve', '--port', '0', '--master-secret-file', file]);
    const [line, port] = await waitForLine(relay.output, /listening on 127\.0\.0\.1:(\d+).*/, relay.child);
    expect(line).toContain('(secret required)');
    expect(relay.output()).not.toContain(MASTER);

    const node = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: 'im-7', secret: printed.trim(), connectTimeoutMs: 5_000 });
    await node.connect();
    const other = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: 'im-8', secret: printed.trim(), connectTimeoutMs: 5_000 });
    other.on('error', () => {});
    expect(await settle(other.connect())).toMatchObject({ status: 'rejected', reason: { code: ErrorCodes.AUTH } });
    await node.close();
    await other.close();
  });

  it('node-secret without --node is a usage error (exit 2)', async () => {
    const child = imrelay(['node-secret', '--master-file', '/nonexistent']);
    expect(await child.exit).toBe(2);
    expect(child.output()).toContain('--node');
  });
});
