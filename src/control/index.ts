export { API_PREFIX, type ApiOptions, buildApi } from "./app.ts";
export { createToken, ensureBootstrapToken } from "./tokens.ts";
