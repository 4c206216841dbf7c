/**
 * Node ids: what `checkNodeId` accepts, and a relay refusing a HELLO whose
 * node id is blank or has control characters like any other bad hello.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/codec/index.js';
import { ErrorCodes, RelayError } from '../../src/errors.js';
import { FrameType, NONCE_BYTES, checkNodeId, decodeControl, encodeControl, newNonce, nodeIdProblem } from '../../src/protocol/index.js';
import { startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, errorCodeOf } from '../helpers/raw-peer.js';

useRelayHarness();

/** A HELLO payload written by hand, so that it can carry ids encodeControl refuses. */
function rawHello(nodeId: Buffer | string): Buffer {
  const id = typeof nodeId === 'string' ? Buffer.from(nodeId, 'utf8') : nodeId;
  const tail = Buffer.alloc(8 + NONCE_BYTES);
  tail.writeUInt32LE(1 << 20, 0);
  return Buffer.concat([Buffer.of(FrameType.HELLO, 1, 1, id.length), id, tail]);
}

function thrown(fn: () => unknown): RelayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RelayError);
    return err as RelayError;
  }
  throw new Error('expected a throw');
}

const refused: Array<[string, unknown]> = [
  ['a number', 42],
  ['null', null],
  ['undefined', undefined],
  ['empty', ''],
  ['one space', ' '],
  ['only whitespace', ' \t\u00a0\u3000'],
  ['a leading space', ' im-1'],
  ['a trailing space', 'im-1 '],
  ['a trailing newline', 'im-1\n'],
  ['a tab inside', 'im\t1'],
  ['a NUL', 'im\u00001'],
  ['DEL', 'im\u007f1'],
  ['a C1 control', 'im\u00851'],
  ['a lone surrogate', 'im-\ud800'],
  ['256 bytes', 'x'.repeat(256)],
  ['86 three-byte characters (258 bytes)', '節'.repeat(86)],
];

const accepted = ['im-1', 'a', 'im 1', '10.0.0.7:51234', '[::1]:8333', '節點-1 ✓', '😀', 'x'.repeat(255), '節'.repeat(85)];

describe('checkNodeId', () => {
  it.each(refused)('refuses %s with ERR_INVALID_ARGUMENT naming the option', (_, id) => {
    const err = thrown(() => checkNodeId(id));
    expect(err.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(err.message).toMatch(/^nodeId /);
    expect(thrown(() => checkNodeId(id, 'options.nodeId')).message).toMatch(/^options\.nodeId /);
    expect(nodeIdProblem(id)).toBeTypeOf('string');
  });

  it.each(accepted)('accepts %j and returns it unchanged', (id) => {
    expect(checkNodeId(id)).toBe(id);
    expect(nodeIdProblem(id)).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(thrown(() => checkNodeId(' ')).message).toBe('nodeId must not be blank');
    expect(thrown(() => checkNodeId('x'.repeat(256))).message).toBe('nodeId must be at most 255 UTF-8 bytes, got 256');
    expect(thrown(() => checkNodeId('im-1 ')).message).toBe('nodeId must not begin or end with whitespace, got "im-1 "');
  });
});

describe('node ids in HELLO', () => {
  it('encodeControl refuses a node id checkNodeId refuses, with ERR_INVALID_ARGUMENT', () => {
    for (const [, id] of refused) {
      const err = thrown(() =>
        encodeControl({
          type: FrameType.HELLO,
          minVersion: 1,
          maxVersion: 1,
          nodeId: id as string,
          maxFrameBytes: 1,
          features: 0,
          nonce: newNonce(),
        }),
      );
      expect(err.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    }
  });

  it('decodeControl refuses a blank, padded or control-character node id with ERR_PROTOCOL, and reads a valid one', () => {
    for (const id of [' ', '   ', ' im-1', 'im-1 ', 'im\u00001', 'im-1\r\n', '\u0085']) {
      const err = thrown(() => decodeControl(rawHello(id)));
      expect(err.code, JSON.stringify(id)).toBe(ErrorCodes.PROTOCOL);
      expect(err.message).toMatch(/^hello: node id /);
    }
    expect(thrown(() => decodeControl(rawHello(''))).code).toBe(ErrorCodes.PROTOCOL);
    expect(decodeControl(rawHello('im 1'))).toMatchObject({ type: FrameType.HELLO, nodeId: 'im 1' });
  });

  it('a relay answers a HELLO with a blank or control-character node id with ERROR ERR_PROTOCOL, closes it, and registers nothing', async () => {
    const { server, port } = await startServer({ legacy: false });
    const codes = await Promise.all(
      [' ', 'im-1\u0000', '\tim-1'].map(async (id) => {
        const peer = await RawPeer.connect(port);
        peer.write(encodeFrame(rawHello(id)));
        const code = errorCodeOf(await peer.nextControlOfType(FrameType.ERROR));
        await peer.waitClosed();
        return code;
      }),
    );
    expect(codes).toEqual([ErrorCodes.PROTOCOL, ErrorCodes.PROTOCOL, ErrorCodes.PROTOCOL]);
    expect(server.nodes()).toEqual([]);

    // The same relay takes a valid id.
    const peer = await RawPeer.connect(port);
    peer.write(encodeFrame(rawHello('im-1')));
    expect((await peer.nextControlOfType(FrameType.WELCOME)).type).toBe(FrameType.WELCOME);
    expect(server.nodes().map((n) => n.nodeId)).toEqual(['im-1']);
  });
});
