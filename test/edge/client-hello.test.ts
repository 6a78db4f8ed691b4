import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { duplexPair } from "node:stream";
import { after, afterEach, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import * as tls from "node:tls";
import {
  ALERT,
  type ClientHelloParse,
  parseClientHello,
  type ReadClientHelloResult,
  readClientHello,
  tlsAlert,
} from "../../src/edge/client-hello.ts";
import { makeCa, makeServerCert } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

const CAP = 16_384;
const INCOMPLETE = { kind: "incomplete" };
const MALFORMED = { kind: "error", reason: "malformed" };
const complete = (serverName: string | null, alpn: string[] = []) => ({
  kind: "complete",
  hello: { serverName, alpn },
});

// ---------------------------------------------------------------------------------------------------
// Bytes: TLS structures built by hand (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301 §3.1), for the fields a
// real client never gets wrong.

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const u24 = (n: number) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b: Buffer) => Buffer.concat([u8(b.length), b]);
const vec16 = (b: Buffer) => Buffer.concat([u16(b.length), b]);
const latin1 = (s: string) => Buffer.from(s, "latin1");
const ext = (type: number, data: Buffer) => Buffer.concat([u16(type), vec16(data)]);
const sniEntry = (name: string, type = 0) => Buffer.concat([u8(type), vec16(latin1(name))]);
const sni = (...names: string[]) => ext(0, vec16(Buffer.concat(names.map((n) => sniEntry(n)))));
const alpnExt = (...protocols: string[]) =>
  ext(16, vec16(Buffer.concat(protocols.map((p) => vec8(latin1(p))))));

interface HelloParts {
  version?: number;
  sessionId?: Buffer; // raw, length byte included
  ciphers?: Buffer; // raw, length included
  compressions?: Buffer; // raw, length byte included
  extensions?: Buffer | null; // raw block, length included; null: no extensions at all
}

function helloBody(parts: HelloParts = {}): Buffer {
  return Buffer.concat([
    u16(parts.version ?? 0x0303),
    Buffer.alloc(32, 0xa5),
    parts.sessionId ?? vec8(Buffer.alloc(32, 1)),
    parts.ciphers ?? vec16(Buffer.concat([u16(0x1301), u16(0x1302)])),
    parts.compressions ?? vec8(u8(0)),
    parts.extensions === null
      ? Buffer.alloc(0)
      : (parts.extensions ?? vec16(Buffer.concat([sni("x.test"), alpnExt("h2", "http/1.1")]))),
  ]);
}
const handshake = (body: Buffer, type = 1) => Buffer.concat([u8(type), u24(body.length), body]);
const record = (payload: Buffer, type = 22, version = 0x0301) =>
  Buffer.concat([u8(type), u16(version), vec16(payload)]);
const built = (parts: HelloParts = {}) => record(handshake(helloBody(parts)));
const withExtensions = (...extensions: Buffer[]) => built({ extensions: vec16(Buffer.concat(extensions)) });

/** The handshake message of a single-record hello, re-sent as TLS records of the sizes `size()` picks. */
function reRecord(hello: Buffer, size: () => number): Buffer {
  const message = hello.subarray(5);
  const records: Buffer[] = [];
  for (let p = 0; p < message.length; ) {
    const n = Math.min(Math.max(1, size()), message.length - p);
    records.push(record(message.subarray(p, p + n)));
    p += n;
  }
  return Buffer.concat(records);
}
const oneByteRecords = (hello: Buffer) => reRecord(hello, () => 1);

/** Deterministic PRNG (mulberry32): failures reproduce. */
function prng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randomInt = (random: () => number, max: number) => Math.floor(random() * max);

/** Cuts `bytes` into `pieces` chunks at random boundaries. */
function chunks(bytes: Buffer, pieces: number, random: () => number): Buffer[] {
  const cuts = new Set<number>();
  while (cuts.size < Math.min(pieces - 1, bytes.length - 1))
    cuts.add(1 + randomInt(random, bytes.length - 1));
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  return sorted.slice(1).map((end, i) => bytes.subarray(sorted[i], end));
}

/** Feeds `bytes` as they would accumulate from TCP: every proper prefix must be incomplete. */
function parseIncrementally(bytes: Buffer, maxBytes = CAP): ClientHelloParse {
  for (let i = 0; i < bytes.length; i++) {
    const partial = parseClientHello(bytes.subarray(0, i), maxBytes);
    if (partial.kind !== "incomplete")
      assert.fail(`prefix of ${i}/${bytes.length} bytes: ${JSON.stringify(partial)}`);
  }
  return parseClientHello(bytes, maxBytes);
}

// ---------------------------------------------------------------------------------------------------
// Real peers.

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

/** The length of the first TLS record once it is all there (the test's own reading), else 0. */
function firstRecord(b: Buffer): number {
  return b.length >= 5 && b.length >= 5 + b.readUInt16BE(3) ? 5 + b.readUInt16BE(3) : 0;
}

/** Runs `client` against a TCP server that records the first bytes (up to `end`) and then closes. */
async function capture(
  client: (port: number) => Promise<unknown>,
  end: (received: Buffer) => number = firstRecord,
): Promise<Buffer> {
  const server = createServer();
  const captured = new Promise<Buffer>((resolve, reject) => {
    server.on("connection", (socket) => {
      let received = Buffer.alloc(0);
      socket.on("error", () => {});
      socket.on("data", (d: Buffer) => {
        received = Buffer.concat([received, d]);
        const n = end(received);
        if (n > 0) {
          resolve(received.subarray(0, n));
          socket.destroy();
        }
      });
      socket.on("close", () => reject(new Error(`client closed after ${received.length} bytes`)));
    });
  });
  const port = await listen(server);
  try {
    const [bytes] = await Promise.all([captured, client(port)]);
    return bytes;
  } finally {
    server.close();
  }
}

const sClient =
  (...args: string[]) =>
  (port: number) =>
    run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, ...args], { timeoutMs: 20_000 });
const curlHttps = (port: number) =>
  run("curl", [
    "-sk",
    "--max-time",
    "10",
    `https://api.example.test:${port}/`,
    "--resolve",
    `api.example.test:${port}:127.0.0.1`,
  ]);
const nodeClient = (options: tls.ConnectionOptions) => (port: number) =>
  new Promise<void>((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ...options });
    socket.on("error", () => {});
    socket.on("close", () => resolve());
  });

interface Captured {
  name: string;
  bytes: Buffer;
  expected: ReturnType<typeof complete>;
}

const peers = { skip: missingPeer("openssl", "curl") };

describe("ClientHellos from real clients", peers, () => {
  let hellos: Captured[] = [];
  let mixedCase: Buffer;

  before(async () => {
    const spec: [string, () => Promise<Buffer>, ReturnType<typeof complete>][] = [
      [
        "openssl s_client",
        () => capture(sClient("-servername", "x.test", "-alpn", "h2,http/1.1")),
        complete("x.test", ["h2", "http/1.1"]),
      ],
      ["openssl s_client -noservername", () => capture(sClient("-noservername")), complete(null)],
      ["curl", () => capture(curlHttps), complete("api.example.test", ["h2", "http/1.1"])],
      [
        "node tls.connect",
        () => capture(nodeClient({ servername: "node.example.test", ALPNProtocols: ["h2", "http/1.1"] })),
        complete("node.example.test", ["h2", "http/1.1"]),
      ],
    ];
    hellos = await Promise.all(
      spec.map(async ([name, get, expected]) => ({ name, bytes: await get(), expected })),
    );
    mixedCase = await capture(sClient("-servername", "MiXeD.Example.TEST"));
    for (const { name, bytes } of hellos) {
      // One record carrying exactly one handshake message: the test's re-splitting relies on it.
      assert.equal(bytes[5], 1, `${name}: a ClientHello`);
      assert.equal(bytes.readUIntBE(6, 3), bytes.length - 9, `${name}: one record, one message`);
    }
  });

  test("SNI and ALPN of openssl, curl and Node hellos; no SNI without the extension", () => {
    assert.equal(hellos.length, 4);
    for (const { name, bytes, expected } of hellos) {
      assert.deepEqual(parseClientHello(bytes, CAP), expected, name);
    }
  });

  test("the SNI host_name is lower-cased", () => {
    assert.ok(mixedCase.includes(latin1("MiXeD.Example.TEST")), "the client sent the mixed case");
    assert.deepEqual(parseClientHello(mixedCase, CAP), complete("mixed.example.test"));
  });

  test("bytes after the hello (early data, another connection's bytes) do not change the answer", () => {
    for (const { name, bytes, expected } of hellos) {
      const more = Buffer.concat([bytes, record(latin1("early data"), 23, 0x0303), latin1("GET /")]);
      assert.deepEqual(parseClientHello(more, CAP), expected, name);
    }
  });

  test("every TCP boundary: each prefix is incomplete, the whole is complete", () => {
    for (const { name, bytes, expected } of hellos) {
      assert.deepEqual(parseIncrementally(bytes), expected, name);
    }
  });

  test("the hello re-sent as 1-byte TLS records, fed at every boundary", () => {
    for (const { name, bytes, expected } of hellos) {
      const fragmented = oneByteRecords(bytes);
      assert.equal(fragmented.length, (bytes.length - 5) * 6);
      assert.deepEqual(parseIncrementally(fragmented), expected, name);
    }
  });

  test("records of random sizes, fed in random TCP chunks", () => {
    const random = prng(1);
    for (let round = 0; round < 40; round++) {
      for (const { name, bytes, expected } of hellos) {
        const fragmented = reRecord(bytes, () => 1 + randomInt(random, 120));
        let seen = Buffer.alloc(0);
        const pieces = chunks(fragmented, 1 + randomInt(random, 12), random);
        for (const [i, piece] of pieces.entries()) {
          seen = Buffer.concat([seen, piece]);
          const result = parseClientHello(seen, CAP);
          if (i < pieces.length - 1) assert.deepEqual(result, INCOMPLETE, `${name}, chunk ${i}`);
          else assert.deepEqual(result, expected, name);
        }
      }
    }
  });

  test("another record type between the hello's records, or bytes after it in its last record: malformed", () => {
    for (const { name, bytes } of hellos) {
      const message = bytes.subarray(5);
      const half = message.length >> 1;
      for (const type of [20, 21, 23]) {
        const interleaved = Buffer.concat([
          record(message.subarray(0, half)),
          record(Buffer.from([1]), type),
          record(message.subarray(half)),
        ]);
        assert.deepEqual(parseClientHello(interleaved, CAP), MALFORMED, `${name}, record type ${type}`);
      }
      const trailing = record(Buffer.concat([message, Buffer.from([1, 0, 0, 0])]));
      assert.deepEqual(parseClientHello(trailing, CAP), MALFORMED, `${name}: a second handshake message`);
      const version2 = Buffer.concat([
        record(message.subarray(0, half)),
        record(message.subarray(half), 22, 0x0203),
      ]);
      assert.deepEqual(parseClientHello(version2, CAP), MALFORMED, `${name}: record version 2.x`);
    }
  });

  test("too_large: a hello that needs more than maxBytes, known as soon as its lengths say so", () => {
    for (const { name, bytes, expected } of hellos) {
      assert.deepEqual(parseClientHello(bytes, bytes.length), expected, `${name}: exactly maxBytes`);
      assert.deepEqual(
        parseClientHello(bytes, bytes.length - 1),
        { kind: "error", reason: "too_large" },
        name,
      );
      // The record and handshake headers alone (9 bytes) already say the hello cannot fit.
      assert.deepEqual(parseClientHello(bytes.subarray(0, 9), bytes.length - 1), {
        kind: "error",
        reason: "too_large",
      });
      // Record headers count: the same hello in 1-byte records is six times as large.
      const fragmented = oneByteRecords(bytes);
      assert.deepEqual(parseClientHello(fragmented, fragmented.length), expected, name);
      assert.deepEqual(parseClientHello(fragmented, fragmented.length - 1), {
        kind: "error",
        reason: "too_large",
      });
    }
  });

  test("a hello declaring a huge length or record is too_large from its first bytes", () => {
    const huge = Buffer.from([22, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff]);
    assert.deepEqual(parseClientHello(huge, CAP), { kind: "error", reason: "too_large" });
    assert.deepEqual(parseClientHello(huge.subarray(0, 5), 1000), { kind: "error", reason: "too_large" });
    // Without a cap it would only be incomplete: the cap is what rejects it.
    assert.deepEqual(parseClientHello(huge, 1 << 30), INCOMPLETE);
  });

  test("legacy_version below TLS 1.0 (SSL 3.0, 2.0) is unsupported_version; an SSL 3.0 record layer is fine", () => {
    for (const { name, bytes, expected } of hellos) {
      for (const version of [0x0300, 0x0200, 0x0002]) {
        const old = Buffer.from(bytes);
        old.writeUInt16BE(version, 9);
        assert.deepEqual(parseClientHello(old, CAP), { kind: "error", reason: "unsupported_version" }, name);
      }
      const ssl3Record = Buffer.from(bytes);
      ssl3Record.writeUInt16BE(0x0300, 1);
      assert.deepEqual(parseClientHello(ssl3Record, CAP), expected, name);
    }
  });

  test("fuzz: random mutations never throw, always answer one of the union, and a prefix's final answer is the whole's", () => {
    const random = prng(42);
    const reasons = ["not_tls", "plain_http", "too_large", "malformed", "unsupported_version"];
    const counts = new Map<string, number>();
    const inputs = hellos.flatMap(({ bytes }) => [bytes, oneByteRecords(bytes)]);
    for (let i = 0; i < 30_000; i++) {
      const data = Buffer.from(inputs[i % inputs.length] as Buffer);
      const at = () => randomInt(random, data.length);
      let mutated: Buffer = data;
      for (let m = 1 + randomInt(random, 3); m > 0; m--) {
        const op = randomInt(random, 5);
        if (op === 0) mutated[at()] = randomInt(random, 256);
        else if (op === 1) mutated[at()] = random() < 0.5 ? 0 : 0xff;
        else if (op === 2) mutated = mutated.subarray(0, at());
        else if (op === 3) {
          const s = at();
          mutated = Buffer.concat([mutated.subarray(0, s), mutated.subarray(s + 1 + randomInt(random, 8))]);
        } else {
          const s = at();
          mutated = Buffer.concat([mutated.subarray(0, s), mutated.subarray(s, s + 8), mutated.subarray(s)]);
        }
      }
      const maxBytes = random() < 0.2 ? 1 + randomInt(random, 600) : CAP;
      const result = parseClientHello(mutated, maxBytes);
      const label = `${result.kind}${result.kind === "error" ? `:${result.reason}` : ""}`;
      counts.set(label, (counts.get(label) ?? 0) + 1);
      if (result.kind === "error") assert.ok(reasons.includes(result.reason), label);
      else if (result.kind === "complete") {
        assert.deepEqual(Object.keys(result.hello).sort(), ["alpn", "serverName"]);
        const { serverName, alpn } = result.hello;
        if (serverName !== null) assert.match(serverName, /^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$/);
        for (const p of alpn) assert.ok(typeof p === "string" && p.length > 0);
      } else assert.deepEqual(result, INCOMPLETE);
      // readClientHello stops at the first final answer: it must be the one the whole data gives.
      const prefix = parseClientHello(mutated.subarray(0, randomInt(random, mutated.length + 1)), maxBytes);
      if (prefix.kind !== "incomplete") assert.deepEqual(prefix, result);
    }
    for (const kind of ["complete", "incomplete", "error:malformed", "error:too_large"]) {
      assert.ok((counts.get(kind) ?? 0) > 100, `${kind}: ${JSON.stringify([...counts])}`);
    }
  });

  test("plain HTTP from a real curl is plain_http", async () => {
    const request = await capture(
      (port) => run("curl", ["-s", "--max-time", "10", `http://127.0.0.1:${port}/`]),
      (b) => (b.includes("\r\n\r\n") ? b.length : 0),
    );
    assert.deepEqual(parseClientHello(request, CAP), { kind: "error", reason: "plain_http" });
  });
});

describe("parseClientHello, field by field", () => {
  test("a hand-built hello parses; without extensions, or with an empty block, it has no SNI and no ALPN", () => {
    assert.deepEqual(parseClientHello(built(), CAP), complete("x.test", ["h2", "http/1.1"]));
    assert.deepEqual(parseClientHello(built({ extensions: null }), CAP), complete(null));
    assert.deepEqual(parseClientHello(built({ extensions: u16(0) }), CAP), complete(null));
    assert.deepEqual(
      parseClientHello(withExtensions(alpnExt("acme-tls/1")), CAP),
      complete(null, ["acme-tls/1"]),
    );
  });

  test("every length field is checked", () => {
    const exts = Buffer.concat([sni("x.test"), alpnExt("h2")]);
    const cases: [string, Buffer][] = [
      ["session_id of 33 bytes", built({ sessionId: vec8(Buffer.alloc(33)) })],
      ["session_id longer than the body", built({ sessionId: Buffer.from([32, 1]), extensions: null })],
      ["odd cipher_suites length", built({ ciphers: vec16(Buffer.alloc(3)) })],
      ["no cipher suite", built({ ciphers: vec16(Buffer.alloc(0)) })],
      ["cipher_suites past the body", built({ ciphers: Buffer.concat([u16(0x1000), u16(0x1301)]) })],
      ["no compression method", built({ compressions: vec8(Buffer.alloc(0)) })],
      ["compression_methods past the body", built({ compressions: Buffer.from([9, 0]), extensions: null })],
      ["one stray byte for the extensions length", built({ extensions: u8(0) })],
      ["extensions length one too long", built({ extensions: Buffer.concat([u16(exts.length + 1), exts]) })],
      ["extensions length one too short", built({ extensions: Buffer.concat([u16(exts.length - 1), exts]) })],
      ["an extension past the block", withExtensions(sni("x.test"), u16(0x0a0a), u16(10), Buffer.alloc(4))],
      ["a partial extension header", withExtensions(sni("x.test"), Buffer.from([0, 5, 0]))],
      ["an empty server_name extension", withExtensions(ext(0, Buffer.alloc(0)))],
      ["an empty server_name list", withExtensions(ext(0, vec16(Buffer.alloc(0))))],
      [
        "server_name list length too long",
        withExtensions(ext(0, Buffer.concat([u16(20), sniEntry("x.test")]))),
      ],
      [
        "host_name length past the list",
        withExtensions(ext(0, vec16(Buffer.concat([u8(0), u16(40), latin1("x.test")])))),
      ],
      ["an empty ALPN extension", withExtensions(ext(16, Buffer.alloc(0)))],
      ["an empty ALPN list", withExtensions(ext(16, vec16(Buffer.alloc(0))))],
      [
        "an empty ALPN protocol name",
        withExtensions(ext(16, vec16(Buffer.concat([vec8(latin1("h2")), u8(0)])))),
      ],
      ["an ALPN name past the list", withExtensions(ext(16, vec16(Buffer.concat([u8(9), latin1("h2")]))))],
      ["ALPN list length too short", withExtensions(ext(16, Buffer.concat([u16(2), vec8(latin1("h2"))])))],
      ["a body shorter than version and random", record(handshake(Buffer.alloc(20, 3)))],
      ["not a ClientHello (a ServerHello)", record(handshake(helloBody(), 2))],
      ["a zero-length record", Buffer.concat([record(Buffer.alloc(0)), built()])],
      [
        "a record over 2^14 bytes",
        Buffer.concat([u8(22), u16(0x0301), u16(16_385), Buffer.alloc(16_385, 1)]),
      ],
    ];
    for (const [name, bytes] of cases) {
      assert.deepEqual(parseClientHello(bytes, 1 << 20), MALFORMED, name);
    }
  });

  test("two SNI names, in one list or in two extensions, are malformed; so is any repeated extension", () => {
    assert.deepEqual(parseClientHello(withExtensions(sni("a.test", "b.test")), CAP), MALFORMED);
    assert.deepEqual(parseClientHello(withExtensions(sni("a.test"), sni("b.test")), CAP), MALFORMED);
    assert.deepEqual(parseClientHello(withExtensions(sni("a.test"), sni("a.test")), CAP), MALFORMED);
    assert.deepEqual(parseClientHello(withExtensions(alpnExt("h2"), alpnExt("http/1.1")), CAP), MALFORMED);
    const versions = ext(43, Buffer.from([2, 3, 4]));
    assert.deepEqual(parseClientHello(withExtensions(versions, sni("a.test"), versions), CAP), MALFORMED);
    // Each alone is fine.
    assert.deepEqual(parseClientHello(withExtensions(versions, sni("a.test")), CAP), complete("a.test"));
  });

  test("the server name must be one host_name (type 0) that is a DNS name", () => {
    const one = (entry: Buffer) => withExtensions(ext(0, vec16(entry)));
    assert.deepEqual(parseClientHello(one(sniEntry("x.test", 1)), CAP), MALFORMED, "name type 1");
    assert.deepEqual(
      parseClientHello(one(Buffer.concat([sniEntry("x.test"), sniEntry("y", 1)])), CAP),
      MALFORMED,
      "a host_name and another type",
    );
    const invalid = [
      "",
      ".",
      "a..test",
      ".a.test",
      "a.test.",
      "a b.test",
      "a\u0000.test",
      "caf\u00e9.test",
      "*.test",
      "a/b",
      "a:443",
      `${"a".repeat(64)}.test`,
      [63, 63, 63, 62].map((n) => "a".repeat(n)).join("."),
    ];
    for (const name of invalid) {
      assert.deepEqual(parseClientHello(withExtensions(sni(name)), CAP), MALFORMED, JSON.stringify(name));
    }
    const longest = [63, 63, 63, 61].map((n) => "b".repeat(n)).join(".");
    const valid: [string, string][] = [
      ["A", "a"],
      ["Api.Example.TEST", "api.example.test"],
      ["xn--bcher-kva.example", "xn--bcher-kva.example"],
      ["_acme-challenge.x-y.test", "_acme-challenge.x-y.test"],
      [`${"a".repeat(63)}.test`, `${"a".repeat(63)}.test`],
      [longest, longest],
    ];
    for (const [name, expected] of valid) {
      assert.deepEqual(parseClientHello(withExtensions(sni(name)), CAP), complete(expected), name);
    }
  });

  test("plain_http for request lines and the HTTP/2 preface; prefixes are incomplete; other bytes not_tls", () => {
    const requests = [
      "GET / HTTP/1.1\r\n",
      "POST /x HTTP/1.1\r\n",
      "HEAD / HTTP/1.0\r\n",
      "PUT /a HTTP/1.1\r\n",
      "DELETE /a HTTP/1.1\r\n",
      "OPTIONS * HTTP/1.1\r\n",
      "PATCH /a HTTP/1.1\r\n",
      "CONNECT a.test:443 HTTP/1.1\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ];
    for (const request of requests) {
      const bytes = latin1(request);
      const space = request.indexOf(" ");
      for (let i = 0; i <= space; i++) {
        assert.deepEqual(parseClientHello(bytes.subarray(0, i), CAP), INCOMPLETE, `${request} [0, ${i})`);
      }
      assert.deepEqual(parseClientHello(bytes.subarray(0, space + 1), CAP), {
        kind: "error",
        reason: "plain_http",
      });
      assert.deepEqual(parseClientHello(bytes, CAP), { kind: "error", reason: "plain_http" }, request);
    }
    const others = [
      "GETS / HTTP/1.1",
      "get / HTTP/1.1",
      "SSH-2.0-OpenSSH_9.2\r\n",
      "\u0000\u0000\u0000\u0000",
      "HELO x",
    ];
    for (const other of others) {
      assert.deepEqual(parseClientHello(latin1(other), CAP), { kind: "error", reason: "not_tls" }, other);
    }
    // Other TLS record types first, or a TLS-looking header with another major version.
    for (const bytes of [
      [23, 3, 3, 0, 1, 0],
      [21, 3, 3, 0, 2, 2, 40],
      [22, 2, 0, 0, 1, 1],
    ]) {
      assert.deepEqual(parseClientHello(Buffer.from(bytes), CAP), { kind: "error", reason: "not_tls" });
    }
  });

  test("an SSLv2-compatible ClientHello is unsupported_version", () => {
    // SSLv2 record header (length 0x2e, high bit set), MSG-CLIENT-HELLO, version 3.1, then lengths.
    const v2 = Buffer.concat([
      Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10]),
    ]);
    const full = Buffer.concat([v2, Buffer.alloc(0x15 + 0x10, 7)]);
    assert.deepEqual(parseClientHello(full.subarray(0, 2), CAP), INCOMPLETE);
    assert.deepEqual(parseClientHello(full.subarray(0, 3), CAP), {
      kind: "error",
      reason: "unsupported_version",
    });
    assert.deepEqual(parseClientHello(full, CAP), { kind: "error", reason: "unsupported_version" });
    assert.deepEqual(parseClientHello(Buffer.from([0x80, 0x2e, 0x07]), CAP), {
      kind: "error",
      reason: "not_tls",
    });
  });

  test("the handshake header split across 1-byte records is checked as it arrives", () => {
    const serverHello = oneByteRecords(record(handshake(helloBody(), 2)));
    assert.deepEqual(parseClientHello(serverHello.subarray(0, 6), CAP), MALFORMED);
    const clientHello = oneByteRecords(built());
    assert.deepEqual(parseClientHello(clientHello.subarray(0, 6), CAP), INCOMPLETE);
  });
});

describe("tlsAlert", peers, () => {
  test("is a fatal TLS 1.2 alert record", () => {
    assert.deepEqual([...tlsAlert(ALERT.unrecognizedName)], [21, 3, 3, 0, 2, 2, 112]);
    assert.deepEqual(ALERT, {
      handshakeFailure: 40,
      decodeError: 50,
      protocolVersion: 70,
      internalError: 80,
      unrecognizedName: 112,
    });
  });

  test("real clients report the alert the edge sends in answer to their hello", async () => {
    const server = createServer((socket) => {
      socket.on("error", () => {});
      void readClientHello(socket, { maxBytes: CAP, timeoutMs: 5000 }).then(({ result }) => {
        const sni = result.kind === "complete" ? result.hello.serverName : null;
        socket.end(tlsAlert(sni === "unknown.test" ? ALERT.unrecognizedName : ALERT.handshakeFailure));
      });
    });
    const port = await listen(server);
    try {
      const nodeError = await new Promise<Error>((resolve) => {
        tls.connect({ host: "127.0.0.1", port, servername: "unknown.test" }).on("error", resolve);
      });
      assert.match(nodeError.message, /unrecognized name/i);
      const openssl = await sClient("-servername", "unknown.test")(port);
      assert.match(openssl.stdout + openssl.stderr, /tlsv1 unrecognized name/);
      const other = await sClient("-servername", "other.test")(port);
      assert.match(other.stdout + other.stderr, /sslv3 alert handshake failure/);
    } finally {
      server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// readClientHello on real sockets.

/** A socket test that waits forever for something that never comes fails instead. */
const HANGS_FAIL = { timeout: 30_000 };

/** Sockets and servers a readClientHello test opened: closed after each test, even a failed one. */
const opened: (() => void)[] = [];

interface Read {
  socket: Socket;
  result: ReadClientHelloResult;
  bytes: Buffer;
  /** When the promise resolved, and how long after the connection. */
  at: number;
  ms: number;
}

interface Edge {
  port: number;
  next(): Promise<Read>;
}

/** A TCP listener that runs readClientHello on every connection, then `handoff` (if given). */
async function startEdge(
  options: { maxBytes: number; timeoutMs: number },
  handoff?: (socket: Socket, bytes: Buffer) => void,
): Promise<Edge> {
  const reads: Promise<Read>[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    const started = performance.now();
    reads.push(
      readClientHello(socket, options).then(({ result, bytes }) => {
        const at = performance.now();
        if (handoff) handoff(socket, bytes);
        else socket.on("error", () => {});
        return { socket, result, bytes, at, ms: at - started };
      }),
    );
  });
  const port = await listen(server);
  opened.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return {
    port,
    async next() {
      for (;;) {
        const read = reads.shift();
        if (read) return read;
        await delay(5);
      }
    },
  };
}

async function tcpClient(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  socket.on("error", () => {});
  opened.push(() => socket.destroy());
  await once(socket, "connect");
  return socket;
}

/**
 * A TLS client whose ClientHello reaches `port` re-sent as 1-byte TLS records in slow TCP fragments
 * (through a relay on a duplex pair); everything after it passes unchanged.
 */
function fragmentingTlsClient(
  port: number,
  options: tls.ConnectionOptions,
): Promise<{ authorized: boolean; alpn: string | false | null; body: string; error: Error | null }> {
  const [clientSide, relaySide] = duplexPair();
  const tcp = connect(port, "127.0.0.1");
  tcp.setNoDelay(true);
  opened.push(() => tcp.destroy());
  let queue = Promise.resolve();
  const send = (f: () => void | Promise<void>) => {
    queue = queue.then(f);
  };
  let pending: Buffer | null = Buffer.alloc(0);
  relaySide.on("data", (chunk: Buffer) => {
    if (pending === null) return send(() => void tcp.write(chunk));
    pending = Buffer.concat([pending, chunk]);
    const end = firstRecord(pending);
    if (end === 0) return;
    const fragmented = Buffer.concat([oneByteRecords(pending.subarray(0, end)), pending.subarray(end)]);
    pending = null;
    send(async () => {
      for (const piece of chunks(fragmented, 12, prng(7))) {
        tcp.write(piece);
        await delay(10);
      }
    });
  });
  relaySide.on("end", () => send(() => void tcp.end()));
  tcp.on("data", (d: Buffer) => relaySide.write(d));
  tcp.on("end", () => relaySide.end());
  tcp.on("error", (e) => relaySide.destroy(e));
  return new Promise((resolve) => {
    const secure = tls.connect({ socket: clientSide, ...options });
    let body = "";
    let error: Error | null = null;
    secure.on("data", (d: Buffer) => {
      body += d.toString();
    });
    secure.on("error", (e) => {
      error = e;
    });
    // A TLS socket over a duplex pair does not close by itself once the server has ended: stop at 'end'.
    const done = () => {
      resolve({ authorized: secure.authorized, alpn: secure.alpnProtocol, body, error });
      secure.destroy();
      tcp.destroy();
    };
    secure.on("end", done);
    secure.on("close", done);
  });
}

describe("readClientHello on a real socket", peers, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let caPath: string;
  let ca: Buffer;
  let serverCert: { cert: Buffer; key: Buffer };
  let helloBytes: Buffer;

  before(async () => {
    dir = await tempDir();
    caPath = (await makeCa(dir.path, "ca")).certPath;
    ca = await readFile(caPath);
    const made = await makeServerCert(dir.path, "server", { issuer: "ca" });
    serverCert = { cert: await readFile(made.certPath), key: await readFile(made.keyPath) };
    helloBytes = await capture(sClient("-servername", "x.test", "-alpn", "h2,http/1.1"));
  });
  after(() => dir.cleanup());
  afterEach(() => {
    for (const close of opened.splice(0)) close();
  });

  test(
    "a hello in slow TCP fragments of 1-byte records: read whole, nothing consumed after it",
    HANGS_FAIL,
    async () => {
      const edge = await startEdge({ maxBytes: CAP, timeoutMs: 10_000 });
      const client = await tcpClient(edge.port);
      const sent = oneByteRecords(helloBytes);
      let lastWrite = 0;
      for (const piece of chunks(sent, 8, prng(3))) {
        await delay(40);
        client.write(piece);
        lastWrite = performance.now();
      }
      const read = await edge.next();
      assert.deepEqual(read.result, complete("x.test", ["h2", "http/1.1"]));
      assert.ok(read.at >= lastWrite, "not complete before the last fragment");
      assert.ok(read.bytes.equals(sent), "every byte read is handed back");
      assert.equal(read.socket.isPaused(), true);
      assert.equal(read.socket.listenerCount("data"), 0);
      // What arrives next stays in the socket for the TLS server.
      client.write("next");
      await delay(100);
      assert.equal(read.socket.read()?.toString(), "next");
    },
  );

  test("bytes that arrive with the hello are handed back too", HANGS_FAIL, async () => {
    const edge = await startEdge({ maxBytes: CAP, timeoutMs: 10_000 });
    const client = await tcpClient(edge.port);
    const sent = Buffer.concat([helloBytes, record(latin1("early"), 23, 0x0303)]);
    client.write(sent);
    const read = await edge.next();
    assert.deepEqual(read.result, complete("x.test", ["h2", "http/1.1"]));
    assert.ok(read.bytes.equals(sent));
  });

  test("timeout: a client that sends nothing, or half a hello, and then waits", HANGS_FAIL, async () => {
    const edge = await startEdge({ maxBytes: CAP, timeoutMs: 300 });
    await tcpClient(edge.port); // connects, sends nothing
    const quiet = await edge.next();
    assert.deepEqual(quiet.result, { kind: "timeout" });
    assert.equal(quiet.bytes.length, 0);
    assert.ok(quiet.ms >= 290, `${quiet.ms} ms`);
    const half = await tcpClient(edge.port);
    half.write(helloBytes.subarray(0, 100));
    const partial = await edge.next();
    assert.deepEqual(partial.result, { kind: "timeout" });
    assert.ok(partial.bytes.equals(helloBytes.subarray(0, 100)));
    // The socket is still open: the edge can answer with an alert.
    partial.socket.end(tlsAlert(ALERT.handshakeFailure));
    const [answer] = (await once(half, "data")) as [Buffer];
    assert.deepEqual([...answer], [21, 3, 3, 0, 2, 2, 40]);
  });

  test("closed: the client ends or resets mid-hello, or the socket is already gone", HANGS_FAIL, async () => {
    const edge = await startEdge({ maxBytes: CAP, timeoutMs: 10_000 });
    const ending = await tcpClient(edge.port);
    ending.end(helloBytes.subarray(0, 50));
    const ended = await edge.next();
    assert.deepEqual(ended.result, { kind: "closed" });
    assert.ok(ended.bytes.equals(helloBytes.subarray(0, 50)));
    assert.ok(ended.ms < 5000);

    const resetting = await tcpClient(edge.port);
    resetting.write(helloBytes.subarray(0, 50));
    await delay(50);
    resetting.resetAndDestroy();
    const reset = await edge.next();
    assert.deepEqual(reset.result, { kind: "closed" });
    assert.ok(reset.ms < 5000);

    // A listener that pauses sockets and allows half-open ones: reading resumes the socket, and the
    // client's half-close ends the read (the socket itself would stay open).
    const halfOpen = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    opened.push(() => halfOpen.close());
    const halfAccepted = once(halfOpen, "connection");
    const halfClient = await tcpClient(await listen(halfOpen));
    const [halfSocket] = (await halfAccepted) as [Socket];
    opened.push(() => halfSocket.destroy());
    const halfRead = readClientHello(halfSocket, { maxBytes: CAP, timeoutMs: 10_000 });
    halfClient.end(helloBytes.subarray(0, 10));
    const halfClosed = await halfRead;
    assert.deepEqual(halfClosed.result, { kind: "closed" });
    assert.ok(halfClosed.bytes.equals(helloBytes.subarray(0, 10)));

    // The owner destroys the socket while the hello is being read.
    const server = createServer();
    opened.push(() => server.close());
    const accepted = once(server, "connection");
    const owner = await tcpClient(await listen(server));
    const [socket] = (await accepted) as [Socket];
    const reading = readClientHello(socket, { maxBytes: CAP, timeoutMs: 10_000 });
    owner.write(helloBytes.subarray(0, 10));
    await delay(50);
    socket.destroy();
    const destroyed = await reading;
    assert.deepEqual(destroyed.result, { kind: "closed" });
    assert.ok(destroyed.bytes.equals(helloBytes.subarray(0, 10)));

    const gone = connect(1, "127.0.0.1");
    gone.on("error", () => {});
    gone.destroy();
    assert.deepEqual(await readClientHello(gone, { maxBytes: CAP, timeoutMs: 10_000 }), {
      result: { kind: "closed" },
      bytes: Buffer.alloc(0),
    });
  });

  test("errors answer at once: plain HTTP from curl, a hello over the cap", HANGS_FAIL, async () => {
    const edge = await startEdge({ maxBytes: 1000, timeoutMs: 10_000 });
    const curl = run("curl", ["-s", "--max-time", "5", `http://127.0.0.1:${edge.port}/`]);
    const http = await edge.next();
    assert.deepEqual(http.result, { kind: "error", reason: "plain_http" });
    assert.ok(http.ms < 5000);
    http.socket.destroy();
    await curl;
    const client = await tcpClient(edge.port);
    client.write(oneByteRecords(helloBytes));
    const large = await edge.next();
    assert.deepEqual(large.result, { kind: "error", reason: "too_large" });
  });

  test(
    "after unshift, a real tls.Server completes the handshake with openssl, curl and a fragmenting Node client",
    HANGS_FAIL,
    async () => {
      const served: { servername: unknown; alpn: unknown }[] = [];
      const tlsServer = tls.createServer({ ...serverCert, ALPNProtocols: ["http/1.1"] }, (secure) => {
        served.push({ servername: secure.servername, alpn: secure.alpnProtocol });
        secure.end("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
      });
      tlsServer.on("tlsClientError", () => {});
      const edge = await startEdge({ maxBytes: CAP, timeoutMs: 10_000 }, (socket, bytes) => {
        socket.unshift(bytes);
        tlsServer.emit("connection", socket);
      });
      try {
        const node = await fragmentingTlsClient(edge.port, {
          servername: "localhost",
          ca,
          ALPNProtocols: ["h2", "http/1.1"],
        });
        assert.equal(node.error, null);
        assert.equal(node.authorized, true);
        assert.equal(node.alpn, "http/1.1");
        assert.match(node.body, /\r\n\r\nok\n$/);
        const nodeRead = await edge.next();
        assert.deepEqual(nodeRead.result, complete("localhost", ["h2", "http/1.1"]));
        assert.ok(nodeRead.bytes.length > 6 * 200, "the hello came as 1-byte records");

        const openssl = await run(
          "openssl",
          [
            "s_client",
            "-connect",
            `127.0.0.1:${edge.port}`,
            "-servername",
            "localhost",
            "-alpn",
            "http/1.1",
            "-CAfile",
            caPath,
            "-verify_return_error",
            "-ign_eof",
          ],
          { timeoutMs: 20_000 },
        );
        assert.match(openssl.stdout, /Verify return code: 0 \(ok\)/);
        assert.match(openssl.stdout, /ALPN protocol: http\/1.1/);
        assert.match(openssl.stdout, /\nok\n/);
        assert.deepEqual((await edge.next()).result, complete("localhost", ["http/1.1"]));

        const curl = await run("curl", [
          "-sS",
          "--max-time",
          "10",
          "--cacert",
          caPath,
          "--resolve",
          `localhost:${edge.port}:127.0.0.1`,
          `https://localhost:${edge.port}/`,
        ]);
        assert.equal(curl.stderr, "");
        assert.equal(curl.stdout, "ok\n");
        assert.deepEqual((await edge.next()).result, complete("localhost", ["h2", "http/1.1"]));

        // The TLS server saw the same name the edge parsed, from the same bytes.
        assert.deepEqual(served, [
          { servername: "localhost", alpn: "http/1.1" },
          { servername: "localhost", alpn: "http/1.1" },
          { servername: "localhost", alpn: "http/1.1" },
        ]);
      } finally {
        tlsServer.close();
      }
    },
  );
});
