export { TType, MessageType, ThriftWriter, ThriftReader, ThriftDecodeError, type MessageHeader } from './thrift.ts';
export {
  THFT_MAGIC, HEADER_V0_BYTES, parseRequestFrame, encodeResponseFrame, encodeRequestFrameV0, parseResponseFrame, FrameError,
  type RequestFrame, type RequestHeader, type FrameParse, type ResponseFrame,
} from './frame.ts';
export * from './structs/index.ts';
