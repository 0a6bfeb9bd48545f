/**
 * Languages of the web app, with svelte-i18n (https://github.com/kaisermann/svelte-i18n, MIT; the
 * library Immich's web app uses too): ICU MessageFormat messages, and dates and numbers formatted
 * by the browser's `Intl` for the chosen locale.
 *
 * Messages live in `src/i18n/<locale>/<area>.json`, one file per area of the app (`common`, `nav`,
 * `timeline`, ...); a file's keys are reached as `<area>.<key>` (`$t('nav.photos')`). English is
 * bundled and is the fallback for a missing key; the other locales are loaded on demand.
 *
 * The locale is the user's choice on this browser (Settings › Language, kept in localStorage under
 * `lang`, the key Immich's web app uses), else the browser's first supported language
 * (`navigator.languages`, `de-AT` matching `de`), else English. Changing it reloads the page so
 * every string, date and number is rendered again in the new locale.
 */
import { addMessages, getLocaleFromNavigator, init, locale, register, waitLocale, _ } from 'svelte-i18n';
type LocaleDictionary = Parameters<typeof addMessages>[1];
import { get } from 'svelte/store';

/** The locales the app is translated into, with their names in their own language. */
export const LOCALES = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
  { code: 'fr', name: 'Français' },
  { code: 'es', name: 'Español' },
] as const;

export type LocaleCode = (typeof LOCALES)[number]['code'];

const KEY = 'lang';
const FALLBACK: LocaleCode = 'en';

type Messages = LocaleDictionary;

/** Group `../i18n/<locale>/<area>.json` modules into one message tree per locale, by area. */
function byArea(modules: Record<string, Messages>): Messages {
  const tree: Messages = {};
  for (const [file, messages] of Object.entries(modules)) {
    const area = file.replace(/^.*\//, '').replace(/\.json$/, '');
    tree[area] = messages;
  }
  return tree;
}

const english = import.meta.glob<Messages>('../i18n/en/*.json', { eager: true, import: 'default' });
const others = import.meta.glob<Messages>(['../i18n/*/*.json', '!../i18n/en/*.json'], { import: 'default' });

addMessages(FALLBACK, byArea(english));
for (const { code } of LOCALES) {
  if (code === FALLBACK) continue;
  register(code, async () => {
    const files = Object.entries(others).filter(([file]) => file.startsWith(`../i18n/${code}/`));
    const loaded = await Promise.all(files.map(async ([file, load]) => [file, await load()] as const));
    return byArea(Object.fromEntries(loaded));
  });
}

/** `tag` ("de-AT", "fr") reduced to a supported locale, or undefined. */
export function supported(tag: string | null | undefined): LocaleCode | undefined {
  if (!tag) return undefined;
  const base = tag.toLowerCase().split(/[-_]/)[0];
  return LOCALES.find((l) => l.code === base)?.code;
}

/** The locale chosen on this browser in Settings, or undefined for "the browser's language". */
export function storedLocale(): LocaleCode | undefined {
  return supported(localStorage.getItem(KEY));
}

/** The locale to use: the stored choice, else the browser's first supported language, else English. */
export function preferredLocale(): LocaleCode {
  const stored = storedLocale();
  if (stored) return stored;
  for (const tag of navigator.languages ?? [getLocaleFromNavigator() ?? '']) {
    const code = supported(tag);
    if (code) return code;
  }
  return FALLBACK;
}

/** Start svelte-i18n with the preferred locale and wait until its messages are loaded. */
export async function setupI18n(): Promise<void> {
  const initial = preferredLocale();
  init({ fallbackLocale: FALLBACK, initialLocale: initial });
  document.documentElement.lang = initial;
  await waitLocale(initial);
}

/** Remember `code` (undefined: follow the browser) on this browser and render the app again in it. */
export function chooseLocale(code: LocaleCode | undefined): void {
  if (code) localStorage.setItem(KEY, code);
  else localStorage.removeItem(KEY);
  window.location.reload();
}

/** The active locale ("en" until set up). */
export function currentLocale(): LocaleCode {
  return supported(get(locale)) ?? FALLBACK;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
const numberFormats = new Map<string, Intl.NumberFormat>();

/**
 * `date` formatted by `Intl.DateTimeFormat` in the active locale (`options` as Intl's; for example
 * `{ dateStyle: 'medium', timeZone: 'UTC' }`). Accepts a Date, an ISO string or epoch milliseconds.
 * One formatter is kept per locale and options: making one costs about a millisecond on a busy
 * machine, and the timeline formats hundreds of headings at start-up.
 */
export function formatDate(date: Date | string | number, options: Intl.DateTimeFormatOptions = {}): string {
  const key = `${currentLocale()} ${JSON.stringify(options)}`;
  let format = dateFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(currentLocale(), options);
    dateFormats.set(key, format);
  }
  return format.format(date instanceof Date ? date : new Date(date));
}

/** `n` formatted by `Intl.NumberFormat` in the active locale (`options` as Intl's; kept per options). */
export function formatNumber(n: number, options: Intl.NumberFormatOptions = {}): string {
  const key = `${currentLocale()} ${JSON.stringify(options)}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(currentLocale(), options);
    numberFormats.set(key, format);
  }
  return format.format(n);
}

/**
 * A message outside a component (in .ts modules): `translate('nav.photos', { values: {...} })`.
 * Components use the `$t` store instead, which is the same function.
 */
export function translate(id: string, options?: { values?: Record<string, string | number | boolean | Date | null | undefined> }): string {
  return get(_)(id, options);
}

export { _ as t, locale };
