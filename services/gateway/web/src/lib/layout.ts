/**
 * Justified rows (the Google Photos / Flickr layout): tiles keep their aspect ratio, every row
 * fills the width exactly and is about `targetHeight` tall; the last row of a group keeps the
 * target height instead of stretching. Greedy line breaking as described in Flickr's
 * "justified-layout" (https://flickr.github.io/justified-layout/), written from that description.
 */

/** One placed tile: `index` into the input, size in CSS pixels. */
export interface Box {
  index: number;
  width: number;
  height: number;
}

/** One row of boxes, `height` px tall. */
export interface Row {
  height: number;
  boxes: Box[];
}

/**
 * Break `ratios` (width / height, > 0) into rows of `width` px with `gap` px between tiles.
 * A row is closed as soon as its tiles at `targetHeight` would overflow the width; its height is
 * then scaled down so the tiles fill it exactly (never above 1.5x the target for lone panoramas).
 */
export function justify(ratios: number[], width: number, targetHeight: number, gap = 4): Row[] {
  const rows: Row[] = [];
  let start = 0;
  let sum = 0;
  const close = (end: number, last: boolean) => {
    const gaps = gap * (end - start - 1);
    let height = (width - gaps) / sum;
    if (last) height = Math.min(height, targetHeight);
    height = Math.min(height, targetHeight * 1.5);
    const boxes: Box[] = [];
    for (let i = start; i < end; i++) {
      boxes.push({ index: i, width: ratios[i] * height, height });
    }
    rows.push({ height, boxes });
  };
  for (let i = 0; i < ratios.length; i++) {
    sum += ratios[i] > 0 ? ratios[i] : 1;
    const rowWidth = sum * targetHeight + gap * (i - start);
    if (rowWidth >= width) {
      close(i + 1, false);
      start = i + 1;
      sum = 0;
    }
  }
  if (start < ratios.length) close(ratios.length, true);
  return rows;
}

/** Height of rows laid out by {@link justify}, gaps between rows included. */
export function rowsHeight(rows: Row[], gap = 4): number {
  return rows.reduce((h, r) => h + r.height, 0) + gap * Math.max(0, rows.length - 1);
}
