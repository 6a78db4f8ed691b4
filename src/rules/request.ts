/** What a compiled expression reads from one request (the contract in /work/team/RULES.md). */
export interface RuleRequest {
  /** http.host (lower case, no port) */
  readonly host: string;
  /** http.request.method */
  readonly method: string;
  /** http.request.uri: path + query as sent */
  readonly uri: string;
  /** http.request.uri.path */
  readonly path: string;
  /** http.request.uri.query (without "?") */
  readonly query: string;
  /** Node's lower-cased headers */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** ip.src */
  readonly ip: string;
  /** ssl */
  readonly ssl: boolean;
  /**
   * cf.tls_client_auth.* values keyed by the name after the prefix (cert_verified, cert_subject_dn, ...),
   * exactly as src/edge/identity.ts tlsClientAuthFields() returns them. Called lazily; the caller memoizes.
   */
  readonly tlsClientAuth: () => Readonly<Record<string, string | boolean>>;
  /** mtls.verification_status: SUCCESS | CERTIFICATE_VERIFICATION_ERROR | MISSING_CLIENT_CERTIFICATE */
  readonly verificationStatus: string;
}

export type CompiledExpression = (request: RuleRequest) => boolean;
