/**
 * The app's pages other than Photos and the sign-in page, each in a chunk of its own, loaded
 * when first shown (lib/lazy): the start-up script holds only what the timeline's first screen
 * needs (issue #20 item 4).
 */
import { lazy } from './lazy';

/** Each page's getter (lib/lazy): the component once its chunk is loaded, else its promise. */
export const page = {
  admin: lazy(() => import('../pages/AdminPage.svelte')),
  album: lazy(() => import('../pages/AlbumPage.svelte')),
  albums: lazy(() => import('../pages/AlbumsPage.svelte')),
  changePassword: lazy(() => import('../pages/ChangePasswordPage.svelte')),
  explore: lazy(() => import('../pages/ExplorePage.svelte')),
  filtered: lazy(() => import('../pages/FilteredPage.svelte')),
  folders: lazy(() => import('../pages/FoldersPage.svelte')),
  locked: lazy(() => import('../pages/LockedPage.svelte')),
  maintenance: lazy(() => import('../pages/MaintenancePage.svelte')),
  map: lazy(() => import('../pages/MapPage.svelte')),
  notFound: lazy(() => import('../pages/NotFoundPage.svelte')),
  onboarding: lazy(() => import('../pages/OnboardingPage.svelte')),
  people: lazy(() => import('../pages/PeoplePage.svelte')),
  person: lazy(() => import('../pages/PersonPage.svelte')),
  search: lazy(() => import('../pages/SearchPage.svelte')),
  settings: lazy(() => import('../pages/SettingsPage.svelte')),
  shared: lazy(() => import('../pages/SharedPage.svelte')),
  sharedLinks: lazy(() => import('../pages/SharedLinksPage.svelte')),
  sharing: lazy(() => import('../pages/SharingPage.svelte')),
  tags: lazy(() => import('../pages/TagsPage.svelte')),
  utilities: lazy(() => import('../pages/UtilitiesPage.svelte')),
};
