/**
 * JSON Schema pieces shared by the routes. The schemas are the validation and the OpenAPI document;
 * every object is closed (additionalProperties: false). Query values stay strings (no coercion, so a
 * body's `"true"` is never taken for `true`) and are checked by pattern.
 */
export const ID_PATTERN = "^[0-9a-f]{32}$";

export const id = {
  type: "string",
  pattern: ID_PATTERN,
  description: "32 lower-case hex characters",
} as const;

export function params(...names: string[]) {
  return {
    type: "object",
    additionalProperties: false,
    required: names,
    properties: Object.fromEntries(names.map((name) => [name, id])),
  } as const;
}

export const pageProperties = {
  page: { type: "string", pattern: "^[1-9][0-9]{0,5}$", description: "page number, from 1" },
  per_page: { type: "string", pattern: "^(?:[1-9][0-9]{0,2}|1000)$", description: "1 to 1000" },
} as const;

export const booleanQuery = { type: "string", enum: ["true", "false"] } as const;

export function query(properties: Record<string, unknown>) {
  return { type: "object", additionalProperties: false, properties } as const;
}

export function body(properties: Record<string, unknown>, required: string[] = []) {
  return { type: "object", additionalProperties: false, required, properties } as const;
}

export const nullableId = { ...id, nullable: true } as const;
