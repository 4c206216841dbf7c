import { describe, expect, it, vi } from 'vitest';
import * as errors from '../src/errors.js';
import {
  ClosedError,
  ErrorCodes,
  RelayError,
  errorClassOf,
  errorFromCode,
  isErrorCode,
  isRelayError,
  type ErrorCode,
} from '../src/errors.js';
import * as api from '../src/index.js';

type ErrorClass = (new (message: string, options?: { cause?: unknown }) => RelayError) & { readonly code: ErrorCode };

// One row per code: the class a caller branches on, by name. The table is
// checked against ErrorCodes below, so a code without a class fails here.
const NAMES: Record<ErrorCode, string> = {
  ERR_FRAME_TOO_LARGE: 'FrameTooLargeError',
  ERR_PROTOCOL: 'ProtocolError',
  ERR_VERSION: 'VersionError',
  ERR_AUTH: 'AuthError',
  ERR_BUFFER_FULL: 'BufferFullError',
  ERR_CLOSED: 'ClosedError',
  ERR_TIMEOUT: 'TimeoutError',
  ERR_REPLACED: 'ReplacedError',
  ERR_DUPLICATE_NODE: 'DuplicateNodeError',
  ERR_TOO_MANY_NODES: 'TooManyNodesError',
  ERR_HEARTBEAT: 'HeartbeatError',
  ERR_CONNECT: 'ConnectError',
  ERR_DISCONNECTED: 'DisconnectedError',
  ERR_LISTEN: 'ListenError',
  ERR_DEPENDENCY: 'DependencyError',
  ERR_ENGINE: 'EngineError',
  ERR_NOT_CONNECTED: 'NotConnectedError',
  ERR_CONNECTION_LOST: 'ConnectionLostError',
  ERR_SEND_FAILED: 'SendFailedError',
  ERR_INVALID_ARGUMENT: 'InvalidArgumentError',
  ERR_MESSAGE: 'MessageError',
  ERR_CONSUMER_BUSY: 'ConsumerBusyError',
  ERR_SHUTDOWN: 'ShutdownError',
  ERR_UNSUPPORTED: 'UnsupportedError',
  ERR_LIMIT: 'LimitError',
};

const CLASSES: readonly { name: string; code: ErrorCode; Class: ErrorClass }[] = (Object.keys(NAMES) as ErrorCode[]).map((code) => ({
  name: NAMES[code],
  code,
  Class: (errors as unknown as Record<string, ErrorClass>)[NAMES[code]]!,
}));

describe('the error table', () => {
  it('has one class per code, exported from the package under its name', () => {
    expect(Object.keys(NAMES).sort()).toEqual(Object.values(ErrorCodes).sort());
    for (const { name, code, Class } of CLASSES) {
      expect(Class, name).toBeTypeOf('function');
      expect((api as unknown as Record<string, unknown>)[name], name).toBe(Class);
      expect(errorClassOf(code)).toBe(Class);
      expect(isErrorCode(code)).toBe(true);
    }
    expect(isErrorCode('ERR_NOT_A_CODE')).toBe(false);
  });
});

describe.each(CLASSES)('$name', ({ name, code, Class }) => {
  it(`has name ${name}, code ${code} and the given message`, () => {
    const err = new Class('something happened');
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
    expect(err.message).toBe('something happened');
    expect(String(err)).toBe(`${name}: something happened`);
    expect(Class.name).toBe(name);
    expect(Class.code).toBe(code);
    expect(Object.values(ErrorCodes)).toContain(code);
  });

  it('chains a cause, and has none when not given one', () => {
    const cause = new Error('socket reset');
    expect(new Class('wrapped', { cause }).cause).toBe(cause);
    expect('cause' in new Class('plain')).toBe(false);
  });

  it('is an instance of Error, RelayError and its own class only', () => {
    const err = new Class('x');
    expect(err instanceof Error).toBe(true);
    expect(err instanceof RelayError).toBe(true);
    expect(err instanceof Class).toBe(true);
    for (const other of CLASSES) {
      if (other.Class !== Class) expect(err instanceof other.Class, other.name).toBe(false);
    }
    expect(isRelayError(err)).toBe(true);
    expect(isRelayError(err, code)).toBe(true);
    expect(isRelayError(err, code === 'ERR_CLOSED' ? 'ERR_TIMEOUT' : 'ERR_CLOSED')).toBe(false);
  });

  it('is what errorFromCode builds for its code', () => {
    const err = errorFromCode(code, 'from the peer');
    expect(err.constructor).toBe(Class);
    expect(err instanceof Class).toBe(true);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
    expect(err.message).toBe('from the peer');
  });
});

describe('RelayError', () => {
  it('carries a code of its own and chains a cause', () => {
    const cause = new Error('inner');
    const err = new RelayError('ERR_PROTOCOL', 'outer', { cause });
    expect(err.name).toBe('RelayError');
    expect(err.code).toBe('ERR_PROTOCOL');
    expect(err.message).toBe('outer');
    expect(err.cause).toBe(cause);
    expect(err instanceof Error).toBe(true);
    expect(err instanceof RelayError).toBe(true);
    // A base-class error with a code matches that code's class: callers branch on the code.
    for (const { Class, name, code } of CLASSES) expect(err instanceof Class, name).toBe(code === 'ERR_PROTOCOL');
  });

  it('isRelayError rejects plain errors and look-alikes', () => {
    expect(isRelayError(new Error('x'))).toBe(false);
    expect(isRelayError(Object.assign(new Error('x'), { code: 'ERR_CLOSED' }))).toBe(false);
    expect(isRelayError({ name: 'ClosedError', code: 'ERR_CLOSED', message: 'x' })).toBe(false);
    expect(isRelayError(null)).toBe(false);
    expect(isRelayError(undefined)).toBe(false);
    expect(isRelayError('ERR_CLOSED')).toBe(false);
    expect({ code: 'ERR_CLOSED' } instanceof ClosedError).toBe(false);
  });
});

describe('errorFromCode', () => {
  it('turns a code this version does not know into ERR_PROTOCOL naming it, so code stays a known one', () => {
    for (const code of ['ERR_SOMETHING_NEW', '']) {
      const err = errorFromCode(code, 'from the peer');
      expect(err.code).toBe('ERR_PROTOCOL');
      expect(err.name).toBe('ProtocolError');
      expect(err.message).toContain(JSON.stringify(code));
      expect(err.message).toContain('from the peer');
    }
  });
});

describe('instanceof across two copies of the module', () => {
  it('recognises errors built by another copy, by code', async () => {
    vi.resetModules();
    const second = await import('../src/errors.js');
    expect(second.RelayError).not.toBe(RelayError);
    expect(second.ClosedError).not.toBe(ClosedError);

    for (const { name, Class } of CLASSES) {
      const SecondClass = (second as unknown as Record<string, ErrorClass>)[name]!;
      const foreign = new SecondClass('from the other copy');
      expect(Object.getPrototypeOf(foreign)).not.toBe(Class.prototype);

      expect(foreign instanceof RelayError, name).toBe(true);
      expect(foreign instanceof Class, name).toBe(true);
      expect(isRelayError(foreign, Class.code), name).toBe(true);
      for (const other of CLASSES) {
        if (other.Class !== Class) expect(foreign instanceof other.Class, `${name} vs ${other.name}`).toBe(false);
      }

      // And the other way round.
      const local = new Class('from this copy');
      expect(local instanceof second.RelayError, name).toBe(true);
      expect(local instanceof SecondClass, name).toBe(true);
      expect(second.isRelayError(local), name).toBe(true);
    }

    const plain = new second.RelayError('ERR_TIMEOUT', 'x');
    expect(plain instanceof RelayError).toBe(true);
    expect(plain instanceof ClosedError).toBe(false);
  });
});
