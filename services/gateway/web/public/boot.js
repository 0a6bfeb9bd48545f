// Start-up requests, sent by index.html before the app's bundle is even downloaded: the
// server config, who is signed in and, on the Photos page, the timeline's months, then the
// newest month's assets and the thumbnails of its first screen. Each API answer waits in
// `window.darkroomEarly` (path -> {response, sent}) for the app's own GET of the same path
// (src/lib/early.ts hands it out once). Without this they went one after another, after the
// bundle had started: config -> user -> page -> months -> months laid out -> newest month.
//
// The months -> newest month -> thumbnails chain runs in a worker (a blob: URL, allowed by the
// gateway's CSP `worker-src 'self' blob:`): each step needs the previous answer read, and on
// the page's thread that waited for the bundle's evaluation and the first render (a few hundred
// ms at start-up), so the newest month only left once the app asked for it itself. The worker
// hands each answer back as a message; the first-screen thumbnails it fetches only fill the
// browser's HTTP cache (the server sends them `private, max-age=86400`), where the tiles' <img>
// find them (or wait for them, still in flight) under the same URL (src/lib/api.ts
// `thumbnailUrl`). Without workers, or when one cannot start, the chain runs here as before.
//
// Plain JS (served as is from public/, not bundled) so it runs at once. The user's requests
// go only with the sign-in cookie (src/lib/session.ts `maybeSignedIn`): an anonymous visitor
// asks for nothing but the config, as before. The query must stay the app's own for the
// Photos page (src/lib/timeline.svelte.ts PHOTOS_FILTER through src/lib/api.ts `query`), or
// the answers go unused (tests/web/test_web_timeline_startup.py checks nothing is asked twice).
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
  var bucketsPath = '/timeline/buckets?' + new URLSearchParams(filter);
  if (chainInWorker()) return;
  send(bucketsPath)
    .then(function (response) {
      return response.ok ? response.clone().json() : [];
    })
    .then(function (list) {
      if (!list.length) return;
      filter.timeBucket = list[0].timeBucket;
      send('/timeline/bucket?' + new URLSearchParams(filter));
    })
    .catch(function () {}); // the page asks again itself

  /** Run the months -> newest month -> thumbnails chain in a worker; false when none starts. */
  function chainInWorker() {
    var waiting = new Map(); // path -> resolve of its early response
    function expect(path) {
      var response = new Promise(function (resolve) {
        waiting.set(path, resolve);
      });
      early.set(path, { response: response, sent: performance.now() });
    }
    // the worker could not answer `path`: ask from here (the app gets that answer instead)
    function fallBack(path) {
      var resolve = waiting.get(path);
      if (!resolve) return;
      waiting.delete(path);
      resolve(fetch('/api' + path, { credentials: 'same-origin' }).then(buffered));
    }
    var worker;
    try {
      var source = '(' + chain.toString() + ')(' + JSON.stringify({
        origin: location.origin,
        buckets: bucketsPath,
        filter: filter,
        width: innerWidth,
        height: innerHeight,
      }) + ');';
      var url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
      worker = new Worker(url);
      URL.revokeObjectURL(url);
    } catch (error) {
      return false;
    }
    expect(bucketsPath);
    worker.onmessage = function (event) {
      var m = event.data;
      if (m.next) expect(m.next); // before its answer can be taken: the app never asks twice
      var resolve = waiting.get(m.path);
      if (m.failed) {
        fallBack(m.path);
      } else if (resolve) {
        waiting.delete(m.path);
        resolve(new Response(m.body, { status: m.status, statusText: m.statusText, headers: m.headers }));
      }
    };
    worker.onerror = function () {
      waiting.forEach(function (_, path) {
        fallBack(path);
      });
      worker.terminate();
    };
    return true;
  }

  // The worker's code (its own scope: only `setup`, a plain object, comes from the page).
  // Messages: {path, status, statusText, headers, body, next?} or {path, failed: true}; it
  // closes itself once its requests are done.
  function chain(setup) {
    function get(path) {
      return fetch(setup.origin + '/api' + path, { credentials: 'same-origin' }).then(function (r) {
        return r.arrayBuffer().then(function (body) {
          var headers = [];
          r.headers.forEach(function (value, name) {
            headers.push([name, value]);
          });
          return { ok: r.ok, status: r.status, statusText: r.statusText, headers: headers, body: body };
        });
      });
    }
    function json(answer) {
      return answer.ok ? JSON.parse(new TextDecoder().decode(answer.body)) : null;
    }
    function hand(path, answer, extra) {
      var m = { path: path, status: answer.status, statusText: answer.statusText, headers: answer.headers, body: answer.body };
      for (var k in extra) m[k] = extra[k];
      postMessage(m, [answer.body]);
    }
    var next = null;
    get(setup.buckets)
      .then(function (answer) {
        var list = json(answer) || [];
        if (list.length) {
          var query = new URLSearchParams(setup.filter);
          query.set('timeBucket', list[0].timeBucket);
          next = '/timeline/bucket?' + query;
        }
        hand(setup.buckets, answer, next ? { next: next } : {});
        if (!next) return;
        var path = next;
        return get(path).then(function (bucket) {
          var columns = json(bucket);
          hand(path, bucket, {});
          next = null;
          if (columns) return prefetch(columns);
        });
      })
      .catch(function () {
        postMessage({ path: next || setup.buckets, failed: true });
      })
      .then(function () {
        close();
      });

    // The thumbnails of the newest month's first screen, in timeline order, into the HTTP
    // cache: rows of the app's height (TimelineView: 110 px under 600 px of grid, else 200)
    // filled with tiles of the assets' ratios across an estimate of the grid's width (the
    // side navigation shows above 800 px), until the viewport is covered, plus one row. Day
    // headings and breaks are left out, so it errs on the side of a few tiles more.
    function prefetch(columns) {
      var grid = setup.width > 800 ? setup.width - 264 : setup.width - 46;
      var rowHeight = grid < 600 ? 110 : 200;
      var count = 0;
      var y = 0;
      var x = 0;
      var ids = columns.id || [];
      while (count < ids.length && y < setup.height + rowHeight) {
        var ratio = columns.ratio && columns.ratio[count] > 0 ? columns.ratio[count] : 1;
        x += ratio * rowHeight + 4;
        count += 1;
        if (x >= grid) {
          x = 0;
          y += rowHeight + 4;
        }
      }
      var loading = [];
      for (var i = 0; i < count; i++) {
        var params = { size: 'thumbnail', edited: 'true' };
        var hash = columns.thumbhash && columns.thumbhash[i];
        if (hash) params.c = hash;
        var url = setup.origin + '/api/assets/' + ids[i] + '/thumbnail?' + new URLSearchParams(params);
        loading.push(
          fetch(url, { credentials: 'same-origin' })
            .then(function (r) {
              return r.arrayBuffer();
            })
            .catch(function () {}), // the tile asks again itself
        );
      }
      return Promise.all(loading);
    }
  }
})();
