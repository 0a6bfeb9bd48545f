/**
 * Sign-in through the server's OpenID Connect provider (Immich's /api/oauth flow): the server
 * makes the state (also a cookie) and keeps the PKCE verifier and nonce; the provider sends the
 * browser back to the page that started (its URL carries `code` and `state`), which posts that
 * URL to /api/oauth/callback (sign in) or /api/oauth/link (link the signed-in account).
 */
import { get, post, type LoginResponse } from './api';

/** What /api/server/features says about signing in. */
export interface SignInFeatures {
  oauth: boolean;
  oauthAutoLaunch: boolean;
  passwordLogin: boolean;
}

export const signInFeatures = () => get<SignInFeatures>('/server/features');

/** Whether this page load is the provider sending the browser back. */
export function isCallback(location: Location): boolean {
  const params = new URLSearchParams(location.search);
  return params.has('state') && (params.has('code') || params.has('error'));
}

/** Go to the provider; it sends the browser back to `path` on this server. */
export async function authorize(path: string): Promise<void> {
  const redirectUri = `${window.location.origin}${path}`;
  const { url } = await post<{ url: string }>('/oauth/authorize', { redirectUri });
  window.location.assign(url);
}

/** Finish a sign-in from the callback URL this page was loaded with. */
export const finishLogin = () =>
  post<LoginResponse>('/oauth/callback', { url: window.location.href });

/** Link the signed-in account to the provider account of the callback URL. */
export const link = () => post<{ oauthId: string }>('/oauth/link', { url: window.location.href });

export const unlink = () => post<{ oauthId: string }>('/oauth/unlink');
