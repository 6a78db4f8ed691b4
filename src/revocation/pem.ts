/** CRL bytes as read from a file or a URL: PEM (`X509 CRL`) or DER, to DER. */
import { invalidCrl } from "./errors.ts";

const LABELS = ["X509 CRL", "CRL"];

/** The DER of the one CRL in `bytes` (PEM or DER); more than one PEM CRL is an error, not a silent pick. */
export function crlDer(bytes: Buffer): Buffer {
  if (bytes.length > 0 && bytes[0] === 0x30) return bytes;
  // Searching the bytes (not one big string) keeps a 40 MB PEM cheap.
  const blocks: Buffer[] = [];
  for (let from = bytes.indexOf("-----BEGIN "); from !== -1; from = bytes.indexOf("-----BEGIN ", from + 1)) {
    const labelEnd = bytes.indexOf("-----", from + 11);
    if (labelEnd === -1) break;
    const label = bytes.toString("latin1", from + 11, labelEnd);
    if (!LABELS.includes(label)) continue;
    const endMarker = `-----END ${label}-----`;
    const end = bytes.indexOf(endMarker, labelEnd + 5);
    if (end === -1) throw invalidCrl(`PEM block "${label}" has no END line`);
    // Node's base64 decoder skips the line breaks.
    blocks.push(Buffer.from(bytes.toString("latin1", labelEnd + 5, end), "base64"));
    from = end + endMarker.length;
  }
  if (blocks.length > 1)
    throw invalidCrl(`expected one CRL, found ${blocks.length} (give each its own entry)`);
  const der = blocks[0];
  if (!der) throw invalidCrl("neither DER nor a PEM block labelled X509 CRL");
  return der;
}
