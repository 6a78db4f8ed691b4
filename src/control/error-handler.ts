/**
 * Every failure becomes an envelope with a status: schema errors and bad JSON 400, unknown routes 404,
 * store errors by their code, oversized bodies 413; anything unexpected 500 with a generic message and
 * one log line. Bad input never produces a 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { PkiError } from "../pki/errors.ts";
import { failure } from "./envelope.ts";
import { ApiError, CODES, fromStoreError, StoreError } from "./errors.ts";
import { describeSchemaIssues, type SchemaIssue } from "./validation.ts";

export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError) return fromStoreError(err);
  if (err instanceof PkiError) return new ApiError(400, CODES.validation, err.message);
  const fastifyError = err as Partial<FastifyError> & { validationContext?: string };
  if (fastifyError.validation) {
    const message = describeSchemaIssues(
      fastifyError.validationContext ?? "request",
      fastifyError.validation as unknown as SchemaIssue[],
    );
    return new ApiError(400, CODES.validation, message);
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(413, CODES.tooLarge, "request body is too large");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiError(400, CODES.badJson, `Malformed JSON in request body: ${fastifyError.message}`);
    default:
      break;
  }
  if (err instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new ApiError(400, CODES.badJson, `Malformed JSON in request body: ${err.message}`);
  }
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return new ApiError(status, CODES.validation, fastifyError.message ?? "bad request");
  }
  return undefined;
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(err);
    if (apiError) {
      return reply.code(apiError.status).send(failure([{ code: apiError.code, message: apiError.message }]));
    }
    request.log.error({ err }, "unexpected error in the control API");
    return reply.code(500).send(failure([{ code: CODES.internal, message: "Internal server error" }]));
  });
  app.setNotFoundHandler((request, reply) => {
    const message = `No route for that URI: ${request.method} ${request.url.split("?")[0]}`;
    return reply.code(404).send(failure([{ code: CODES.noRoute, message }]));
  });
}
