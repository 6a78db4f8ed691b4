/** A sample edge event for the events tests, with `overrides`. */
import type { EdgeEventInput } from "../../src/events/types.ts";

export function input(overrides: Partial<EdgeEventInput> = {}): EdgeEventInput {
  return {
    host: "api.example.test",
    method: "GET",
    path: "/",
    remote: "127.0.0.1",
    status: 200,
    action: "forward",
    reason: null,
    ruleId: null,
    mtls: {
      presented: true,
      verification: "SUCCESS",
      failure: null,
      fingerprint: "ab",
      serial: "01",
      subject: "CN=client",
      issuer: "CN=ca",
    },
    ...overrides,
  };
}

/** The event of a request denied for having no client certificate. */
export function missingInput(host = "api.example.test"): EdgeEventInput {
  return input({
    host,
    action: "deny",
    status: 403,
    reason: "no_client_certificate",
    mtls: {
      presented: false,
      verification: "MISSING_CLIENT_CERTIFICATE",
      failure: "no_client_certificate",
      fingerprint: null,
      serial: null,
      subject: null,
      issuer: null,
    },
  });
}
