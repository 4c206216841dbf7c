export { FRAME_HEADER_BYTES, DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_LENGTH } from './constants.js';
export { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js';
export { encodeFrame, encodeFrameHeader } from './encode-frame.js';
export { FrameWriter, DEFAULT_COPY_THRESHOLD } from './frame-writer.js';
