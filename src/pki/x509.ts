/**
 * The one place @peculiar/x509 is loaded: it needs the reflect polyfill before it loads and a
 * WebCrypto provider before it signs. Every pki module imports x509 from here.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
