import { InvalidArgumentError } from '../errors.js';
import { MAX_ID_BYTES } from './constants.js';

// A node id is shown in logs, stats and presence, and compared byte for byte:
// an id that prints the same as another (a trailing space) or not at all (a
// control character) is a misconfiguration, not an identity.
const EDGE_SPACE = /^\s|\s$/;
// Not encodable as UTF-8: Buffer.from would quietly write U+FFFD instead, and
// the relay would know the node under an id it never chose.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What is wrong with `id` as a node id, or `undefined` when it is a valid
 * one: a string of 1 to 255 UTF-8 bytes, not blank, without leading or
 * trailing whitespace, control characters or lone surrogates.
 *
 * The boolean twin of {@link checkNodeId}, for callers that raise their own
 * error (the relay refuses a HELLO with `ERR_PROTOCOL`).
 */
export function nodeIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `must be a string, got ${id === null ? 'null' : typeof id}`;
  if (id.length === 0) return 'must not be empty';
  if (id.trim().length === 0) return 'must not be blank';
  if (EDGE_SPACE.test(id)) return `must not begin or end with whitespace, got ${JSON.stringify(id)}`;
  if (hasControl(id)) return `must not contain control characters, got ${JSON.stringify(id)}`;
  if (LONE_SURROGATE.test(id)) return 'must be well-formed Unicode (it has a lone surrogate)';
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_ID_BYTES) return `must be at most ${MAX_ID_BYTES} UTF-8 bytes, got ${bytes}`;
  return undefined;
}

/**
 * Returns `id` when it is a valid node id: a string of 1 to 255 UTF-8 bytes,
 * not blank, without leading or trailing whitespace, control characters or
 * lone surrogates. Spaces inside an id (`'im 1'`) are allowed.
 *
 * @param what - how the id is named in the error message (`'nodeId'`).
 * @throws `ERR_INVALID_ARGUMENT` naming `what` and the problem.
 */
export function checkNodeId(id: unknown, what = 'nodeId'): string {
  const problem = nodeIdProblem(id);
  if (problem !== undefined) throw new InvalidArgumentError(`${what} ${problem}`);
  return id as string;
}

/** True when `id` holds a C0 control, DEL or a C1 control. */
function hasControl(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
