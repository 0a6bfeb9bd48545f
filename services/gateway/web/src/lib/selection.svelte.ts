/**
 * Multi-select of a timeline: the selected ids live here (a reactive Set), never in the DOM, so
 * a selection survives its tiles leaving the DOM as the virtualised timeline scrolls.
 *
 * Order for shift-click ranges is the timeline's (months newest first, then each month's assets
 * in bucket order) over the months loaded so far.
 */
import { SvelteSet } from 'svelte/reactivity';
import type { Timeline, TimelineAsset } from './timeline.svelte';

/** Which timeline a selection is in: decides the bulk actions offered. */
export type SelectionMode =
  | 'timeline'
  | 'favorites'
  | 'archive'
  | 'trash'
  | 'album'
  | 'person'
  | 'locked';

export class Selection {
  readonly ids = new SvelteSet<string>();
  /** The tile a shift-click extends from: the last one selected by a plain click. */
  anchor = $state<string | null>(null);

  /** `selectable` says which tiles may join the selection (a partner's photos may not: the
   * bulk actions edit the user's own assets, as in Immich's web app). */
  constructor(
    private readonly timeline: Timeline,
    private readonly selectable: (id: string) => boolean = () => true,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  /** True while anything is selected: clicks on tiles then toggle instead of opening. */
  get active(): boolean {
    return this.ids.size > 0;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Whether the tile may be selected (it then shows its check circle). */
  canSelect(id: string): boolean {
    return this.selectable(id);
  }

  /** Select or unselect one tile; a newly selected tile becomes the range anchor. */
  toggle(id: string): void {
    if (this.ids.has(id)) {
      this.ids.delete(id);
      if (this.anchor === id) this.anchor = null;
    } else if (this.selectable(id)) {
      this.ids.add(id);
      this.anchor = id;
    }
  }

  /**
   * Shift-click: select every tile from the anchor to `id` (both included, in timeline order).
   * Without an anchor (or when it is no longer loaded) this is a plain toggle.
   */
  extendTo(id: string): void {
    const order = this.order();
    const from = this.anchor ? order.indexOf(this.anchor) : -1;
    const to = order.indexOf(id);
    if (from < 0 || to < 0) {
      this.toggle(id);
      return;
    }
    const [start, end] = from <= to ? [from, to] : [to, from];
    for (let i = start; i <= end; i++) if (this.selectable(order[i])) this.ids.add(order[i]);
    this.anchor = id;
  }

  /** Select `ids` (all of a day), or unselect them when all are selected already. */
  toggleAll(all: string[]): void {
    const ids = all.filter((id) => this.selectable(id));
    if (ids.every((id) => this.ids.has(id))) {
      for (const id of ids) this.ids.delete(id);
    } else {
      for (const id of ids) this.ids.add(id);
      this.anchor = ids[ids.length - 1] ?? this.anchor;
    }
  }

  /** Select every one of `all` that may be selected (Ctrl+A). */
  addAll(all: Iterable<string>): void {
    for (const id of all) if (this.selectable(id)) this.ids.add(id);
  }

  clear(): void {
    this.ids.clear();
    this.anchor = null;
  }

  /** The selected ids in timeline order (those in months not loaded come last). */
  list(): string[] {
    const order = this.order().filter((id) => this.ids.has(id));
    const seen = new Set(order);
    return [...order, ...[...this.ids].filter((id) => !seen.has(id))];
  }

  /** The loaded timeline entries of the selection (for "are they all favourites?"). */
  assets(): TimelineAsset[] {
    return this.list()
      .map((id) => this.timeline.find(id))
      .filter((a): a is TimelineAsset => a !== undefined);
  }

  /** Ids of every loaded asset in timeline order. */
  private order(): string[] {
    return this.timeline.months.flatMap((m) => (m.assets ?? []).map((a) => a.id));
  }
}
