/**
 * The API's errors: values with an HTTP status and a Cloudflare-style numeric code. Where Cloudflare
 * documents a code for the same condition it is used (10000, 9109, 1489, 6007, 7000); the rest are ours.
 */
import { StoreError, type StoreErrorCode } from "../store/types.ts";

export const CODES = {
  validation: 1001,
  notFound: 1003,
  conflict: 1004,
  inUse: 1005,
  unavailable: 1006,
  tooLarge: 1007,
  caQuota: 1489,
  badJson: 6007,
  noRoute: 7000,
  authentication: 10000,
  forbidden: 9109,
  internal: 10001,
} as const;

export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

/** 400 naming the field, e.g. `invalid("body.hostnames[1]", "is not in zone example.test")`. */
export function invalid(field: string, message: string): ApiError {
  return new ApiError(400, CODES.validation, `${field}: ${message}`);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, CODES.notFound, message);
}

export function conflict(message: string): ApiError {
  return new ApiError(409, CODES.conflict, message);
}

export function inUse(message: string): ApiError {
  return new ApiError(409, CODES.inUse, message);
}

export const AUTHENTICATION_ERROR = "Authentication error";
export const UNAUTHORIZED = "Unauthorized to access requested resource";

export function unauthenticated(): ApiError {
  return new ApiError(401, CODES.authentication, AUTHENTICATION_ERROR);
}

export function forbidden(): ApiError {
  return new ApiError(403, CODES.forbidden, UNAUTHORIZED);
}

const STORE_STATUS: Record<StoreErrorCode, { status: number; code: number }> = {
  not_found: { status: 404, code: CODES.notFound },
  conflict: { status: 409, code: CODES.conflict },
  in_use: { status: 409, code: CODES.inUse },
  invalid: { status: 400, code: CODES.validation },
  unavailable: { status: 503, code: CODES.unavailable },
};

export function fromStoreError(err: StoreError): ApiError {
  const { status, code } = STORE_STATUS[err.code];
  return new ApiError(status, code, err.message);
}

export { StoreError };
