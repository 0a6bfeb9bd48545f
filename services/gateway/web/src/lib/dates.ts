/**
 * Date formats of the timeline, each one `Intl.DateTimeFormat` made once: the same text as
 * `Date.toLocaleDateString(undefined, options)`, which builds a new formatter on every call
 * (about a millisecond each on a busy machine: 300 month headings cost 300 ms at start-up).
 */

const formats = new Map<string, Intl.DateTimeFormat>();

/** `date.toLocaleString(undefined, options)` through a formatter kept per `options`. */
export function formatDate(date: Date, options: Intl.DateTimeFormatOptions): string {
  const key = JSON.stringify(options);
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, options);
    formats.set(key, format);
  }
  return format.format(date);
}
