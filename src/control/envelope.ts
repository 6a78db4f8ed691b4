/**
 * Cloudflare's v4 envelope: `{success, errors: [{code, message}], messages: [], result}`; lists add
 * `result_info {page, per_page, count, total_count}`.
 */
export interface ApiMessage {
  code: number;
  message: string;
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
}

export interface Envelope<T> {
  success: boolean;
  errors: ApiMessage[];
  messages: ApiMessage[];
  result: T;
  result_info?: ResultInfo;
}

export function ok<T>(result: T): Envelope<T> {
  return { success: true, errors: [], messages: [], result };
}

export function okList<T>(items: T[], info: { page: number; perPage: number; total: number }): Envelope<T[]> {
  return {
    ...ok(items),
    result_info: { page: info.page, per_page: info.perPage, count: items.length, total_count: info.total },
  };
}

export function failure(errors: ApiMessage[]): Envelope<null> {
  return { success: false, errors, messages: [], result: null };
}

export const DEFAULT_PER_PAGE = 100;
export const MAX_PER_PAGE = 1000;

export interface PageQuery {
  page?: string;
  per_page?: string;
}

/** `?page=&per_page=` (validated as digit strings by the schema) as numbers with defaults. */
export function pageOf(query: PageQuery): { page: number; perPage: number } {
  return {
    page: query.page === undefined ? 1 : Number(query.page),
    perPage: query.per_page === undefined ? DEFAULT_PER_PAGE : Number(query.per_page),
  };
}

/** One page of an in-memory list, enveloped. */
export function paginate<T>(all: readonly T[], query: PageQuery): Envelope<T[]> {
  const { page, perPage } = pageOf(query);
  const start = (page - 1) * perPage;
  return okList(all.slice(start, start + perPage), { page, perPage, total: all.length });
}
