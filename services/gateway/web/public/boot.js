// Start-up requests, sent by index.html before the app's bundle is even downloaded: the
// server config, who is signed in and, on the Photos page, the timeline's months and then the
// newest month's assets. Each answer waits in `window.darkroomEarly` (path -> {response,
// sent}) for the app's own GET of the same path (src/lib/early.ts hands it out once). Without
// this they went one after another, after the bundle had started: config -> user -> page ->
// months -> months laid out -> newest month.
//
// Plain JS (served as is from public/, not bundled) so it runs at once. The user's requests
// go only with the sign-in cookie (src/lib/session.ts `maybeSignedIn`): an anonymous visitor
// asks for nothing but the config, as before. The query must stay the app's own for the
// Photos page (src/lib/timeline.svelte.ts PHOTOS_FILTER through src/lib/api.ts `query`), or
// the answers go unused (tests/web/test_web.py checks nothing is asked twice).
(function () {
  var early = new Map();
  window.darkroomEarly = early;
  // Each body is read at once and kept as a new Response: a fetch whose body nobody reads
  // (an answer the app never takes) stays in flight in the browser, and the page never
  // reaches network idle.
  function buffered(r) {
    if (r.status === 204 || r.status === 304) return r;
    return r.arrayBuffer().then(function (body) {
      return new Response(body, { status: r.status, statusText: r.statusText, headers: r.headers });
    });
  }
  function send(path) {
    var response = fetch('/api' + path, { credentials: 'same-origin' }).then(buffered);
    early.set(path, { response: response, sent: performance.now() });
    return response;
  }
  send('/server/config');
  var signedIn = document.cookie.split(';').some(function (c) {
    return c.trim().indexOf('immich_is_authenticated=') === 0;
  });
  if (!signedIn) return;
  send('/users/me');
  if (!/^\/photos(\/[0-9a-f-]{36})?\/?$/.test(location.pathname)) return;
  var filter = { visibility: 'timeline', withPartners: 'true', withStacked: 'true' };
  send('/timeline/buckets?' + new URLSearchParams(filter))
    .then(function (response) {
      return response.ok ? response.clone().json() : [];
    })
    .then(function (list) {
      if (!list.length) return;
      filter.timeBucket = list[0].timeBucket;
      send('/timeline/bucket?' + new URLSearchParams(filter));
    })
    .catch(function () {}); // the page asks again itself
})();
