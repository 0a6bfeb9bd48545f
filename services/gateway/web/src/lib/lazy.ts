/**
 * Components in chunks of their own (Vite splits at every dynamic `import()`), loaded when first
 * shown: the script that has to be downloaded, compiled and run before the timeline's first
 * screen holds only what that screen needs (issue #20 item 4).
 *
 * `lazy(load)` returns a getter: the component itself once its chunk has loaded (an `{#await}`
 * block then renders it at once, without a frame of nothing when it is shown again) and the
 * promise of it before; calling the getter early (on a pointer press, say) starts the load.
 */

/** A getter of the component `load` imports: the component once loaded, else its promise. */
export function lazy<C>(load: () => Promise<{ default: C }>): () => C | Promise<C> {
  let loaded: C | undefined;
  let loading: Promise<C> | undefined;
  return () => {
    if (loaded !== undefined) return loaded;
    loading ??= load().then(
      (module) => (loaded = module.default),
      (error) => {
        loading = undefined; // a later call tries again
        throw error;
      },
    );
    return loading;
  };
}
