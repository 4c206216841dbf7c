import { describe, expect, it, vi } from 'vitest';
import {
  AuthError,
  BufferFullError,
  ClosedError,
  ConnectionLostError,
  ErrorCodes,
  FrameTooLargeError,
  ProtocolError,
  RelayError,
  ReplacedError,
  SendFailedError,
  TimeoutError,
  errorFromCode,
  isRelayError,
} from '../src/errors.js';

type ErrorClass = (new (message: string, options?: { cause?: unknown }) => RelayError) & { readonly code: string };

const CLASSES: readonly { name: string; code: string; Class: ErrorClass }[] = [
  { name: 'FrameTooLargeError', code: 'ERR_FRAME_TOO_LARGE', Class: FrameTooLargeError },
  { name: 'ProtocolError', code: 'ERR_PROTOCOL', Class: ProtocolError },
  { name: 'AuthError', code: 'ERR_AUTH', Class: AuthError },
  { name: 'BufferFullError', code: 'ERR_BUFFER_FULL', Class: BufferFullError },
  { name: 'ClosedError', code: 'ERR_CLOSED', Class: ClosedError },
  { name: 'TimeoutError', code: 'ERR_TIMEOUT', Class: TimeoutError },
  { name: 'ReplacedError', code: 'ERR_REPLACED', Class: ReplacedError },
  { name: 'ConnectionLostError', code: 'ERR_CONNECTION_LOST', Class: ConnectionLostError },
  { name: 'SendFailedError', code: 'ERR_SEND_FAILED', Class: SendFailedError },
];

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
    expect(isRelayError(err, 'ERR_SOMETHING_ELSE')).toBe(false);
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
  it('carries any code and chains a cause', () => {
    const cause = new Error('inner');
    const err = new RelayError('ERR_CUSTOM', 'outer', { cause });
    expect(err.name).toBe('RelayError');
    expect(err.code).toBe('ERR_CUSTOM');
    expect(err.message).toBe('outer');
    expect(err.cause).toBe(cause);
    expect(err instanceof Error).toBe(true);
    expect(err instanceof RelayError).toBe(true);
    for (const { Class, name } of CLASSES) expect(err instanceof Class, name).toBe(false);
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
  it('builds a plain RelayError for a code with no class of its own, keeping the code', () => {
    for (const code of ['ERR_SOMETHING_NEW', ErrorCodes.VERSION, ErrorCodes.SHUTDOWN, '']) {
      const err = errorFromCode(code, 'from the peer');
      expect(err.constructor).toBe(RelayError);
      expect(err.name).toBe('RelayError');
      expect(err.code).toBe(code);
      expect(err.message).toBe('from the peer');
      expect(isRelayError(err, code)).toBe(true);
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

    const plain = new second.RelayError('ERR_SOMETHING_NEW', 'x');
    expect(plain instanceof RelayError).toBe(true);
    expect(plain instanceof ClosedError).toBe(false);
  });
});
