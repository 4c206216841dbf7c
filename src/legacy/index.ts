/**
 * The legacy "transmit" hub's JSON document: decoding and byte-exact encoding.
 *
 * @packageDocumentation
 */

export {
  LEGACY_OFFLINE_CONTENT,
  LEGACY_TYPE_GROUP,
  LEGACY_TYPE_HEARTBEAT,
  LEGACY_TYPE_OFFLINE,
  LEGACY_TYPE_SINGLE,
} from './transmit-map.js';
export type { TransmitMap, TransmitMessage } from './transmit-map.js';
export { LEGACY_MAX_NESTING_DEPTH, parseTransmitMap } from './parse.js';
export { encodeLegacyError, encodeOfflineNotice, encodeTransmitMap, isCanonicalUint64 } from './encode.js';
export type { OfflineNoticeExtra, TransmitMapInput } from './encode.js';
export { coerceMessage, messageFromJson, messageToJson } from './translate.js';
