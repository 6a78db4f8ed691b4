/**
 * The PKCS#12 key derivation function (RFC 7292 appendix B). node:crypto has no binding for it, and the
 * legacy 3DES scheme and every PKCS#12 MAC need it.
 */
import { createHash } from "node:crypto";

/**
 * RFC 7292 appendix B.2: derives `length` bytes of key (id 1), IV (id 2) or MAC key (id 3) from a password,
 * taken as a BMPString (UTF-16BE) with a two-byte zero terminator, as OpenSSL does.
 */
export function pkcs12Kdf(
  hash: string,
  password: string,
  salt: Uint8Array,
  id: 1 | 2 | 3,
  iterations: number,
  length: number,
): Buffer {
  const u = createHash(hash).digest().length;
  const v = u > 32 ? 128 : 64; // the hash's block size: SHA-384 and SHA-512 have 128-byte blocks
  const repeatToBlocks = (bytes: Uint8Array, size: number) =>
    Buffer.from(Array.from({ length: size }, (_, i) => bytes[i % bytes.length] as number));
  const bmpPassword = Buffer.from(`${password}\0`, "utf16le").swap16();
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([
    repeatToBlocks(salt, v * Math.ceil(salt.length / v)),
    repeatToBlocks(bmpPassword, v * Math.ceil(bmpPassword.length / v)),
  ]);
  const output: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = createHash(hash).update(A).digest();
    output.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v) for each v-byte block I_j of I, with B = A repeated to v bytes.
    const B = repeatToBlocks(A, v);
    for (let block = 0; block < I.length; block += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[block + k] as number) + (B[k] as number) + carry;
        I[block + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(output).subarray(0, length);
}
