/** Route patterns (Cloudflare's host/path form) and the Snapshot's router: matching and precedence. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileFunctionRouter, parseRoutePattern, RoutePatternError } from "../../src/functions/router.ts";
import type { FunctionsConfig } from "../../src/functions/types.ts";

function router(routes: [pattern: string, script: string][], endpoints: Record<string, string> = {}) {
  const scripts = [...new Set(routes.map(([, s]) => s))].map((key) => ({
    key,
    name: key,
    mainModule: "worker.js",
    source: "",
    compatibilityDate: "2025-01-01",
    compatibilityFlags: [],
    cpuMs: 1000,
    bindings: [],
  }));
  const config: FunctionsConfig = {
    scripts,
    routes: routes.map(([pattern, script]) => ({ pattern, script })),
    endpoints,
    timeoutMs: 1000,
  };
  return compileFunctionRouter(config);
}

test("patterns: wildcards only at the host's start and the path's end; schemes dropped; bad ones named", () => {
  assert.deepEqual(parseRoutePattern("https://API.Example.test/v1/*"), {
    pattern: "api.example.test/v1/*",
    host: "api.example.test",
    hostWildcard: "none",
    path: "/v1/",
    pathWildcard: true,
  });
  assert.equal(parseRoutePattern("*.example.test/*").hostWildcard, "subdomains");
  assert.equal(parseRoutePattern("*example.test/x").hostWildcard, "suffix");
  for (const bad of [
    "example.test",
    "exa*mple.test/",
    "example.test/a*b",
    "example.test:8443/*",
    "example.test/?q=1",
  ]) {
    assert.throws(() => parseRoutePattern(bad), RoutePatternError, bad);
  }
});

test("matching: exact and wildcard hosts, prefix and exact paths, the most specific route wins", () => {
  const r = router(
    [
      ["api.example.test/*", "all"],
      ["api.example.test/v1/*", "v1"],
      ["api.example.test/v1/exact", "exact"],
      ["*.example.test/*", "subs"],
      ["*example.test/static*", "suffix"],
    ],
    { all: "http://127.0.0.1:1" },
  );
  assert.equal(r.empty, false);
  const name = (host: string, path: string) => r.match(host, path)?.name;
  assert.equal(name("api.example.test", "/"), "all");
  assert.equal(name("api.example.test", "/v1/users"), "v1");
  assert.equal(name("api.example.test", "/v1/exact"), "exact");
  assert.equal(name("api.example.test", "/v1/exactly"), "v1");
  assert.equal(name("www.example.test", "/anything"), "subs");
  assert.equal(name("example.test", "/anything"), undefined, "*. does not cover the apex");
  assert.equal(name("example.test", "/static/app.js"), "suffix");
  assert.equal(name("other.test", "/"), undefined);
  assert.equal(r.match("api.example.test", "/")?.url, "http://127.0.0.1:1");
  assert.equal(r.match("api.example.test", "/v1/x")?.url, undefined, "no endpoint: the stage answers 503");
  assert.equal(router([]).empty, true);
});
