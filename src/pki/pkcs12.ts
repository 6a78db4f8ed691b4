/**
 * PKCS#12 (PFX) files: a client certificate, its chain and its private key in one password-protected
 * file that browsers, OS keychains, curl and `openssl pkcs12` import.
 *
 * pkijs supplies the ASN.1 structures; the cryptography is node:crypto, so the modern scheme (PBES2 with
 * PBKDF2-HMAC-SHA256 and AES-256-CBC, HMAC-SHA256 MAC) and the legacy one (pbeWithSHAAnd3-KeyTripleDES-CBC,
 * HMAC-SHA1 MAC, for old macOS and Windows importers) share one code path. pkijs's own engine is not used:
 * it cannot do the legacy scheme. The parts live in pkcs12/: build, read, pbe (encryption), mac, kdf.
 */
export { createPkcs12, type Pkcs12Options, uniqueChain } from "./pkcs12/build.ts";
export { DEFAULT_ITERATIONS } from "./pkcs12/protection.ts";
export { type Pkcs12Contents, readPkcs12 } from "./pkcs12/read.ts";
