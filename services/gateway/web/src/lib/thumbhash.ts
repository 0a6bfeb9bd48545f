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

/** A `data:` URL (PNG, at most 32 px on the long side) of the placeholder for a base64 hash;
 * '' when there is none or it does not decode. */
export function thumbHashDataURL(base64: string | null | undefined): string {
  if (!base64) return '';
  try {
    return thumbHashToDataURL(base64ToBytes(base64));
  } catch {
    return '';
  }
}
