/**
 * The colour theme: light, dark or as the system says. Kept in localStorage under Immich's key
 * (`color-theme`) and applied as `data-theme` on <html> (app.css reads it; "system" removes it,
 * leaving the `prefers-color-scheme` media query to decide).
 */
export type Theme = 'light' | 'dark' | 'system';

const KEY = 'color-theme';

/** The theme the user chose on this browser ("system" when none). */
export function storedTheme(): Theme {
  const value = localStorage.getItem(KEY);
  return value === 'light' || value === 'dark' ? value : 'system';
}

/** Apply `theme` to the page and remember it on this browser. */
export function applyTheme(theme: Theme): void {
  if (theme === 'system') {
    localStorage.removeItem(KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(KEY, theme);
    document.documentElement.dataset.theme = theme;
  }
}
