import { describe, expect, it } from 'vitest';
import { DuplicateNodeError, ErrorCodes, RelayError, ReplacedError, type NodeInfo } from '../../src/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, codeOf, settle, waitForEvent } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

describe('a node id connecting twice', () => {
  it('replace (default): the first connection fails with ERR_REPLACED and deliveries go to the second', async () => {
    const { url, server } = await startServer();
    const sender = await connectClient(url, 'im-1');
    const first = await connectClient(url, 'im-2');
    const firstInbox = collect(first);
    const firstErrors = new EventLog<[RelayError]>(first, 'error');
    const firstReconnects = new EventLog(first, 'reconnecting');
    const serverErrors = new EventLog<[RelayError]>(server, 'error');
    const downs = new EventLog<[NodeInfo, RelayError | undefined]>(server, 'node:down');

    expect(await sender.send({ 'im-2': ['c'] }, 'to first')).toEqual({ delivered: ['im-2'], offline: {} });
    await barrier(sender, { 'im-2': firstInbox });

    const replaced = waitForEvent<[RelayError]>(first, 'error');
    const second = await connectClient(url, 'im-2');
    const secondInbox = collect(second);
    const [err] = await replaced;

    expect(err).toBeInstanceOf(ReplacedError);
    expect(err.code).toBe(ErrorCodes.REPLACED);
    // the iterator drains what it had, then throws the same error
    await firstInbox.waitForEnd();
    expect(firstInbox.error).toBe(err);
    expect(firstInbox.messages).toEqual(['to first']);
    // failed for good: no reconnect, and connect()/send() reject with ERR_REPLACED
    await expect(first.connect()).rejects.toMatchObject({ code: ErrorCodes.REPLACED });
    await expect(first.send({ 'im-1': ['a'] }, 'x')).rejects.toMatchObject({ code: ErrorCodes.REPLACED });
    expect(first.connected).toBe(false);
    expect(firstErrors.count).toBe(1);
    expect(firstReconnects.count).toBe(0);

    expect(await sender.send({ 'im-2': ['d'] }, 'to second')).toEqual({ delivered: ['im-2'], offline: {} });
    await barrier(sender, { 'im-2': secondInbox });
    expect(secondInbox.messages).toEqual(['to second']);
    expect(firstInbox.messages).toEqual(['to first']);

    expect(serverErrors.firsts.map((e) => e.code)).toEqual([ErrorCodes.REPLACED]);
    expect(downs.calls.map((c) => [c.args[0].nodeId, c.args[1]?.code])).toEqual([['im-2', ErrorCodes.REPLACED]]);
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['im-1', 'im-2']);
    expect(server.stats().nodes).toBe(2);
  });

  it('replace: sends pending on the replaced client settle (none hang)', async () => {
    const { url } = await startServer();
    const target = collect(await connectClient(url, 't'));
    const first = await connectClient(url, 'dup');
    const sends = Array.from({ length: 100 }, (_, i) => settle(first.send({ t: ['u'] }, i)));
    await connectClient(url, 'dup');
    const outcomes = await Promise.all(sends);
    const delivered: number[] = [];
    const unknown = new Set<number>();
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') {
        expect(o.value.delivered).toEqual(['t']);
        delivered.push(i);
      } else {
        expect([ErrorCodes.REPLACED, ErrorCodes.CONNECTION_LOST]).toContain(codeOf(o.reason));
        if (codeOf(o.reason) === ErrorCodes.CONNECTION_LOST) unknown.add(i);
      }
    });
    // Whatever was reported delivered arrived, exactly once, in order; anything
    // else that arrived was a send whose outcome the client said was unknown.
    const probe = await connectClient(url, 'probe');
    await barrier(probe, { t: target });
    const got = target.messages as number[];
    expect(got).toEqual([...got].sort((x, y) => x - y));
    expect(new Set(got).size).toBe(got.length);
    expect(got.filter((i) => !unknown.has(i))).toEqual(delivered);
  });

  it("duplicateNode: 'reject' refuses the newcomer with ERR_DUPLICATE_NODE and keeps the first", async () => {
    const { url, server } = await startServer({ duplicateNode: 'reject' });
    const sender = await connectClient(url, 'im-1');
    const first = await connectClient(url, 'im-2');
    const firstInbox = collect(first);
    const firstErrors = new EventLog(first, 'error');
    const serverErrors = new EventLog<[RelayError]>(server, 'error');

    const newcomer = createClient(url, 'im-2', { reconnect: false });
    const refused = waitForEvent<[RelayError]>(server, 'error');
    const outcome = await settle(newcomer.connect());
    const [serverErr] = await refused;
    expect(serverErr.code).toBe(ErrorCodes.DUPLICATE_NODE);
    expect(outcome.status).toBe('rejected');
    // A first connect reports the relay's refusal itself, at once.
    const reason = outcome.status === 'rejected' ? (outcome.reason as RelayError) : undefined;
    expect(reason).toBeInstanceOf(DuplicateNodeError);
    expect(newcomer.connected).toBe(false);

    expect(firstErrors.count).toBe(0);
    expect(first.connected).toBe(true);
    expect(await sender.send({ 'im-2': ['c'] }, 'still first')).toEqual({ delivered: ['im-2'], offline: {} });
    await barrier(sender, { 'im-2': firstInbox });
    expect(firstInbox.messages).toEqual(['still first']);
    expect(serverErrors.firsts.map((e) => e.code)).toEqual([ErrorCodes.DUPLICATE_NODE]);
    expect(server.stats().nodes).toBe(2);
  });

  it("duplicateNode: 'reject': a first connect() is refused at once, without retrying; connect() again gets in once the first leaves", async () => {
    const { url, server } = await startServer({ duplicateNode: 'reject' });
    const first = await connectClient(url, 'im-2');
    const newcomer = createClient(url, 'im-2', { reconnect: { initialDelayMs: 10, maxDelayMs: 20, jitter: 0 } });
    const reconnecting = new EventLog(newcomer, 'reconnecting');
    await expect(newcomer.connect()).rejects.toBeInstanceOf(DuplicateNodeError);
    expect(reconnecting.count).toBe(0);
    expect(newcomer.state).toBe('idle');
    await first.close();
    await newcomer.connect();
    expect(server.nodes().map((n) => n.nodeId)).toEqual(['im-2']);
  });
});
