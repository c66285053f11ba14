/** What one service accepts; every limit answers in the error shape (ERROR_CODES) when passed. */
export interface ServeLimits {
  /** Largest request body in bytes, all the files of a multipart body together (10 MB). */
  bodyBytes: number;
  /** Largest image, in pixels, read from its header before decoding (40 megapixels). */
  imagePixels: number;
  /**
   * Most pixels being decoded at once over all requests (200 megapixels, about 800 MB of RGBA): a request whose images
   * would pass it waits for none; it gets 503 with Retry-After, and one whose own images pass it 413.
   */
  pixelsInFlight: number;
  /** Most files in one multipart request (32). */
  files: number;
  /** Time allowed for a whole request, and for its headers, in ms (30 s, 10 s). */
  requestMs: number;
  headersMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyBytes: 10 * 1024 * 1024,
  imagePixels: 40_000_000,
  pixelsInFlight: 200_000_000,
  files: 32,
  requestMs: 30_000,
  headersMs: 10_000,
};
