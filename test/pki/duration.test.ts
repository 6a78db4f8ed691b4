import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGoDuration } from "../../src/pki/duration.ts";

test("Go durations as cfssl configs write them", () => {
  assert.equal(parseGoDuration("8760h", "x"), 8760 * 3_600_000);
  assert.equal(parseGoDuration("1h30m", "x"), 90 * 60_000);
  assert.equal(parseGoDuration("1.5h", "x"), 90 * 60_000);
  assert.equal(parseGoDuration("-5m", "x"), -300_000);
  assert.equal(parseGoDuration("250ms", "x"), 250);
  assert.equal(parseGoDuration("0", "x"), 0);
});

test("anything else names the field", () => {
  for (const bad of ["", "1y", "365d", "h", "5 m", "10"]) {
    assert.throws(
      () => parseGoDuration(bad, "signing.default.expiry"),
      { field: "signing.default.expiry", code: "E_FIELD" },
      bad,
    );
  }
});
