/** The edge's own answers (403, 421, 502…): small, by Accept either JSON or HTML, always with a reason code. */
import type { IncomingHttpHeaders } from "node:http";

const TITLES: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  421: "Misdirected Request",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

const MESSAGES: Record<string, string> = {
  no_client_certificate: "A client certificate is required and none was presented.",
  certificate_revoked: "The client certificate has been revoked.",
  certificate_expired: "The client certificate has expired.",
  certificate_untrusted: "The client certificate was not issued by a trusted CA.",
  host_mismatch: "This connection was made for another host name; open a new connection.",
  unknown_host: "This host is not served here.",
  missing_host: "The request has no Host.",
  origin_unreachable: "The origin could not be reached.",
  origin_timeout: "The origin did not answer in time.",
  origin_tls_error: "The origin's TLS certificate could not be verified.",
  crl_unavailable: "Revocation status is unavailable; access is refused until it is known.",
  crl_expired: "Revocation data is out of date; access is refused until it is refreshed.",
  rule: "A firewall rule of this site blocked the request.",
  access_denied: "Access to this application was denied by its policies.",
};

export interface EdgeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function edgeAnswer(status: number, reason: string, requestHeaders: IncomingHttpHeaders): EdgeAnswer {
  const title = TITLES[status] ?? "Error";
  const message = MESSAGES[reason] ?? `${title}.`;
  const common = { "cache-control": "no-store", "x-portcullis-reason": reason };
  if (wantsJson(requestHeaders.accept)) {
    const body = JSON.stringify({ error: { status, reason, message } });
    return { status, headers: { ...common, "content-type": "application/json" }, body };
  }
  const body =
    `<!doctype html><html><head><meta charset="utf-8"><title>${status} ${title}</title></head>` +
    `<body><h1>${status} ${title}</h1><p>${message}</p><p>Reason: <code>${reason}</code></p></body></html>\n`;
  return { status, headers: { ...common, "content-type": "text/html; charset=utf-8" }, body };
}

/** JSON unless the client prefers HTML: API clients send `application/json`, browsers `text/html`. */
function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const json = accept.indexOf("json");
  if (json === -1) return false;
  const html = accept.indexOf("text/html");
  return html === -1 || json < html;
}
