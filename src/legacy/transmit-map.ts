/**
 * Types and constants of the legacy "transmit" hub's JSON document (see
 * `parseTransmitMap` and `encodeTransmitMap`).
 *
 * The Go struct behind the wire format is
 *
 * ```go
 * type TransmitMap struct {
 *     Users       map[string][]uint64 `json:"users,omitempty"`
 *     ID          string              `json:"id"`
 *     From        uint64              `json:"from"`
 *     To          uint64              `json:"to"`
 *     Type        uint32              `json:"type"`
 *     ContentType uint32              `json:"contentType"`
 *     Time        string              `json:"time"`
 *     Content     string              `json:"content"`
 * }
 * ```
 *
 * @packageDocumentation
 */

/** The message fields of a legacy document. */
export interface TransmitMessage {
  /** Message id. */
  id: string;
  /** Sender user id: a uint64 as a canonical decimal string (`"0"` .. `"18446744073709551615"`). */
  from: string;
  /** Receiver user id, or group id for a group message: a uint64 as a canonical decimal string. */
  to: string;
  /** Message type, a uint32: see the `LEGACY_TYPE_*` constants. */
  type: number;
  /** Application defined content type, a uint32. */
  contentType: number;
  /** Application defined time text. */
  time: string;
  /** The message text. */
  content: string;
}

/** A decoded legacy document: the routing table and the message. */
export interface TransmitMap {
  /**
   * Host (`ip:port` of an IM server's hub connection) to the user ids on that
   * host, each a uint64 as a canonical decimal string. Empty when the document
   * has no `users`, or `"users": null`.
   */
  users: Map<string, string[]>;
  /** The message fields. */
  message: TransmitMessage;
}

/** `type` of a heartbeat. */
export const LEGACY_TYPE_HEARTBEAT = 0;
/** `type` of a single (one to one) chat message. */
export const LEGACY_TYPE_SINGLE = 1;
/** `type` of a group chat message. */
export const LEGACY_TYPE_GROUP = 2;
/** `type` of the hub's "forwarding failed, host offline" notice. */
export const LEGACY_TYPE_OFFLINE = 100;
/** `content` of the hub's offline notice ("client offline"). */
export const LEGACY_OFFLINE_CONTENT = '客户端离线';

/** The largest uint64, as the decimal string the wire carries. */
export const UINT64_MAX_DECIMAL = '18446744073709551615';
/** The largest uint32. */
export const UINT32_MAX = 0xffff_ffff;
