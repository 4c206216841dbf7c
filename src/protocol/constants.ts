/**
 * Frame types of the imrelay binary protocol. Every type has its high bit set:
 * a byte from 0x80 to 0xBF can never begin UTF-8 text, so the first payload
 * byte alone tells a binary frame from a legacy JSON document.
 */
export const FrameType = {
  HELLO: 0x81,
  CHALLENGE: 0x82,
  AUTH: 0x83,
  WELCOME: 0x84,
  ROUTE: 0x85,
  DELIVER: 0x86,
  REPORT: 0x87,
  PING: 0x88,
  PONG: 0x89,
  ERROR: 0x8a,
  GOODBYE: 0x8b,
  PRESENCE: 0x8c,
  SEND_USERS: 0x8d,
  LOCATE: 0x8e,
  LOCATED: 0x8f,
  ACK: 0x90,
  CONSUMED: 0x91,
  EXPIRE: 0x92,
  /** The first parts of a LOCATED answer too large for one frame; the last part is a LOCATED. */
  LOCATED_PART: 0x93,
  /** Mesh mode: the hello both ends of a link between two nodes send at once. */
  MESH_HELLO: 0x94,
  /** Mesh mode: an end's proof that it holds the cluster secret, bound to both hellos. */
  MESH_AUTH: 0x95,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/**
 * The most user ids a client puts in one LOCATE: a larger `locate()` is
 * split into several. Relays accept at least this many.
 */
export const LOCATE_IDS_PER_FRAME = 1000;

/** The protocol versions this build speaks, lowest and highest. */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 1;

/** Bits of a ROUTE frame's flags byte. */
export const RouteFlags = {
  /** The sender wants a full report; without it the relay reports failures only. */
  REPORT: 0x01,
} as const;

/** Bits of a REPORT frame's flags byte. */
export const ReportFlags = {
  /** A full report answering a ROUTE that asked for one. */
  FULL: 0x01,
  /**
   * The delivered list is left out: every host the ROUTE named and the failed
   * list does not name took its users (the sender knows the hosts it named).
   */
  IMPLIED: 0x02,
} as const;

/** Bits of a DELIVER frame's flags byte, besides the payload kind. */
export const DeliverFlags = {
  /**
   * The origin id is followed by the origin's 8-byte incarnation and the
   * send's u32 sequence: together they name the send, so a node drops one it
   * already took when it comes again.
   */
  STAMPED: 0x40,
} as const;

/** Bytes of a DELIVER's stamp: incarnation and sequence. */
export const STAMP_BYTES = 12;
/** Bytes of a node's incarnation. */
export const INCARNATION_BYTES = 8;

/**
 * The payload kind travels in bits 4-5 of ROUTE and DELIVER flags so that the
 * receiving node decodes the payload the way the sender encoded it.
 */
export const PayloadKind = {
  JSON: 0,
  TEXT: 1,
  BINARY: 2,
  CUSTOM: 3,
} as const;
export type PayloadKind = (typeof PayloadKind)[keyof typeof PayloadKind];
export const PAYLOAD_KIND_SHIFT = 4;
export const PAYLOAD_KIND_MASK = 0x30;

/** Why a host in a ROUTE could not be handed its users. */
export const FailureReason = {
  /** No node with this id is connected. */
  OFFLINE: 1,
  /** The node is connected but its outbound buffer on the relay is full. */
  OVERFLOW: 2,
  /** The node cannot accept this message (for example, not translatable to its dialect). */
  REFUSED: 3,
  /** (SEND_USERS only) These users are online on no node; the entry's host is empty. */
  NOWHERE: 4,
} as const;
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/** Longest node id, host or user id, in UTF-8 bytes (a one-byte length). */
export const MAX_ID_BYTES = 255;
/** Most hosts in one ROUTE (a two-byte count). */
export const MAX_HOSTS_PER_ROUTE = 0xffff;
/** Bytes of the nonces in HELLO and CHALLENGE and of the WELCOME session id. */
export const NONCE_BYTES = 16;
/** Bytes of an HMAC-SHA256 proof. */
export const PROOF_BYTES = 32;

/** Feature bits a node or relay may announce in HELLO and WELCOME. */
export const Features = {
  /** Failure-only reports for ROUTEs sent without the REPORT flag. */
  FAILURE_NOTICES: 0x01,
  /** The relay keeps presence: PRESENCE, SEND_USERS, LOCATE and LOCATED. */
  PRESENCE: 0x02,
  /**
   * Runs of fully delivered sends are answered with one ACK frame instead of a
   * REPORT each. A node announces that it reads ACK; the relay answers with
   * this bit when it will send them.
   */
  ACKS: 0x04,
  /**
   * Effectively-once delivery. A node that announces it sends its
   * incarnation and a delivery window in HELLO, reads stamped DELIVERs and
   * EXPIRE, and answers with CONSUMED as its application takes deliveries;
   * the relay then reports a host delivered only once its application took
   * the message, writes within the window, and holds a dropped node's
   * deliveries for the presence grace.
   */
  ONCE: 0x08,
  /**
   * The node reads LOCATED_PART: the relay splits a LOCATED answer larger
   * than the node's frame limit into parts instead of refusing the LOCATE.
   */
  LOCATE_PARTS: 0x10,
} as const;
