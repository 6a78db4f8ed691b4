/** docs/cli.md is generated from the command definitions, never written by hand: it must be current. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { renderDocs } from "../../src/cli/api/docs.ts";
import { isGroup, type Spec } from "../../src/cli/api/framework.ts";
import { API_GROUPS } from "../../src/cli/api/index.ts";

test("docs/cli.md equals the output of `node src/cli/api/docs.ts` (regenerate it when this fails)", async () => {
  const committed = await readFile(new URL("../../docs/cli.md", import.meta.url), "utf8");
  assert.equal(committed, renderDocs(), "run: node src/cli/api/docs.ts > docs/cli.md");
});

test("every command and every flag of the definitions is in the reference", () => {
  const docs = renderDocs();
  const visit = (spec: Spec, path: string) => {
    assert.ok(docs.includes(`\`${path}\``), `${path} is documented`);
    if (isGroup(spec)) for (const child of spec.commands) visit(child, `${path} ${child.name}`);
    else
      for (const name of Object.keys(spec.flags ?? {}))
        assert.ok(docs.includes(`--${name}`), `${path} --${name}`);
  };
  for (const spec of API_GROUPS) visit(spec, `portcullis ${spec.name}`);
});
