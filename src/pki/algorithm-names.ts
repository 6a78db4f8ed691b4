/**
 * Signature algorithms as Go's crypto/x509 names and numbers them: cfssl prints these names, and its
 * `certinfo -csr` JSON carries the numbers, so scripts written against cfssl keep working.
 */

/** Go's x509.SignatureAlgorithm values, by their String() names. */
export const GO_SIGNATURE_ALGORITHMS: Readonly<Record<string, number>> = {
  SHA1WithRSA: 3,
  SHA256WithRSA: 4,
  SHA384WithRSA: 5,
  SHA512WithRSA: 6,
  ECDSAWithSHA1: 9,
  ECDSAWithSHA256: 10,
  ECDSAWithSHA384: 11,
  ECDSAWithSHA512: 12,
  SHA256WithRSAPSS: 13,
  SHA384WithRSAPSS: 14,
  SHA512WithRSAPSS: 15,
  Ed25519: 16,
};

/** What cfssl prints for an algorithm Go does not know. */
export const UNKNOWN_SIGNATURE_ALGORITHM = "Unknown Signature";

/**
 * The Go name of a WebCrypto-style algorithm as @peculiar/x509 reports it (`ECDSA` with `SHA-1` is
 * `ECDSAWithSHA1`); one Go has no name for (SHA-224, Ed448…) is `Unknown Signature`, as cfssl prints it.
 */
export function signatureAlgorithmName(algorithm: Algorithm & { hash?: Algorithm }): string {
  const hash = algorithm.hash?.name.replace("SHA-", "SHA") ?? "";
  const byFamily: Record<string, string> = {
    "RSASSA-PKCS1-v1_5": `${hash}WithRSA`,
    "RSA-PSS": `${hash}WithRSAPSS`,
    ECDSA: `ECDSAWith${hash}`,
    Ed25519: "Ed25519",
  };
  const name = byFamily[algorithm.name];
  return name !== undefined && Object.hasOwn(GO_SIGNATURE_ALGORITHMS, name)
    ? name
    : UNKNOWN_SIGNATURE_ALGORITHM;
}
