/**
 * ThumbHash placeholders: a ~25-byte hash (base64 in the API) -> a tiny image shown while a
 * thumbnail loads. Decoding is the `thumbhash` npm package (Evan Wallace's reference code,
 * https://github.com/evanw/thumbhash, MIT licence); this module only adapts the API's base64.
 */
import { thumbHashToApproximateAspectRatio, thumbHashToDataURL } from 'thumbhash';

/** Base64 (as the API sends it) -> bytes. */
export function base64ToBytes(value: string): Uint8Array {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Width / height of the image a hash describes (approximate: from its coefficient counts). */
export function thumbHashAspectRatio(hash: Uint8Array): number {
  return thumbHashToApproximateAspectRatio(hash);
}

/** Placeholders decoded lately (base64 hash -> data URL), oldest first: a tile scrolled back
 * into view, or the same hash on many tiles, is not decoded again. */
const decoded = new Map<string, string>();
/** Most placeholders kept (each ~1-2 kB of data URL). */
const DECODED_MAX = 2000;

/** A `data:` URL (PNG, at most 32 px on the long side) of the placeholder for a base64 hash;
 * '' when there is none or it does not decode. Remembers the last {@link DECODED_MAX}. */
export function thumbHashDataURL(base64: string | null | undefined): string {
  if (!base64) return '';
  let url = decoded.get(base64);
  if (url !== undefined) return url;
  try {
    url = thumbHashToDataURL(base64ToBytes(base64));
  } catch {
    url = '';
  }
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value as string);
  decoded.set(base64, url);
  return url;
}

/** The placeholder of `base64` if already decoded ('' for no hash), else undefined. */
export function cachedThumbHash(base64: string | null | undefined): string | undefined {
  return base64 ? decoded.get(base64) : '';
}

/** Hashes waiting to be decoded, with who waits for each. */
const waiting = new Map<string, ((url: string) => void)[]>();
/** Longest run of decoding between two tasks (ms): a frame keeps most of its 16 ms. */
const SLICE_MS = 4;
let scheduled = false;

function drain(): void {
  scheduled = false;
  const started = performance.now();
  for (const [hash, callbacks] of waiting) {
    if (performance.now() - started > SLICE_MS) break;
    waiting.delete(hash);
    const url = thumbHashDataURL(hash);
    for (const callback of callbacks) callback(url);
  }
  if (waiting.size && !scheduled) {
    scheduled = true;
    setTimeout(drain, 0);
  }
}

/**
 * The placeholder of `base64`, decoded outside the current task in slices of a few ms: a tile
 * shows at once (its thumbnail requested) and gets its placeholder moments later, so
 * rendering many tiles (a scroll, the first screen) never waits on decoding them all.
 */
export function decodeLater(base64: string): Promise<string> {
  const cached = decoded.get(base64);
  if (cached !== undefined) return Promise.resolve(cached);
  return new Promise((resolve) => {
    const callbacks = waiting.get(base64);
    if (callbacks) callbacks.push(resolve);
    else waiting.set(base64, [resolve]);
    if (!scheduled) {
      scheduled = true;
      setTimeout(drain, 0);
    }
  });
}
