/**
 * The laid-out shape of one timeline month, computed by arithmetic alone (no DOM
 * measurement): headings of fixed height, days as justified rows (lib/layout `justify`), days
 * that fit one row sharing a line, as Immich's timeline packs them. Every line knows its top
 * (px from the month's top), so the timeline renders only the lines near the viewport and
 * knows every month's height before drawing anything (a month not loaded yet is estimated
 * from its asset count).
 *
 * Layouts are cached per month, width and row height: scrolling back to a month, or the
 * timeline re-deriving its offsets, costs nothing.
 */
import { justify, rowsHeight, type Row } from './layout';
import type { DayGroup, TimelineAsset } from './timeline.svelte';

/** Fixed heights (px) of the headings and gaps, as MonthSection's CSS draws them. */
export const MONTH_HEADER = 64;
export const DAY_HEADER = 36;
export const GAP = 4;
/** Horizontal space between days that share a line. */
export const DAY_GAP = 16;

export interface DayLayout {
  day: string;
  ids: string[];
  /** Width in px of a day that shares its line; null: the day spans the line. */
  width: number | null;
  rows: { row: Row; assets: TimelineAsset[] }[];
}

/** Days side by side on one line, `height` px with the day headings, `top` px below the
 * month's top. */
export interface Line {
  days: DayLayout[];
  height: number;
  top: number;
}

export interface MonthLayout {
  /** Height of the whole month in px, its heading included. */
  height: number;
  lines: Line[];
}

/** Lay out a month's days at `width` px with rows about `rowHeight` px tall. */
export function layoutMonth(days: DayGroup[], width: number, rowHeight: number): MonthLayout {
  let height = MONTH_HEADER;
  const lines: Line[] = [];
  let used = 0; // width taken on the last line by days that fit one row
  for (const group of days) {
    const ratios = group.assets.map((a) => a.ratio);
    const rows = justify(ratios, width, rowHeight, GAP);
    // a day that fits one row at the target height keeps that natural width
    const natural =
      ratios.reduce((sum, r) => sum + (r > 0 ? r : 1) * rowHeight, 0) + GAP * (ratios.length - 1);
    const single = rows.length === 1 && natural <= width;
    const day: DayLayout = {
      day: group.day,
      ids: group.assets.map((a) => a.id),
      width: single ? natural : null,
      rows: rows.map((row) => ({ row, assets: row.boxes.map((b) => group.assets[b.index]) })),
    };
    const dayHeight = DAY_HEADER + rowsHeight(rows, GAP);
    const last = lines[lines.length - 1];
    if (single && last && used > 0 && used + DAY_GAP + natural <= width) {
      last.days.push(day);
      used += DAY_GAP + natural;
      if (dayHeight > last.height) {
        height += dayHeight - last.height;
        last.height = dayHeight;
      }
    } else {
      lines.push({ days: [day], height: dayHeight, top: height });
      height += dayHeight + GAP;
      used = single ? natural : 0;
    }
  }
  return { height, lines };
}

/** Height (px) of a month not loaded yet: rows of ~1.5:1 tiles plus one day heading. */
export function estimateHeight(count: number, width: number, rowHeight: number): number {
  const perRow = Math.max(1, Math.floor(width / (rowHeight * 1.5)));
  return MONTH_HEADER + DAY_HEADER + Math.ceil(count / perRow) * (rowHeight + GAP);
}

/** The lines of `layout` that cross [from, to) px (month coordinates), in order. */
export function linesBetween(layout: MonthLayout, from: number, to: number): Line[] {
  const { lines } = layout;
  // first line whose bottom is below `from` (binary search: lines are in top order)
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid].top + lines[mid].height <= from) lo = mid + 1;
    else hi = mid;
  }
  const out: Line[] = [];
  for (let i = lo; i < lines.length && lines[i].top < to; i++) out.push(lines[i]);
  return out;
}
