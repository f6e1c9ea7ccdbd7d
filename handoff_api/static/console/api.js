/**
 * Thin client of the handoff API. Every failure becomes an ApiError whose `message` is a
 * readable sentence in the console's language — the UI never shows raw JSON.
 *
 * The session lives in an HttpOnly cookie the page's script cannot read (so an injected script
 * cannot steal it); state-changing calls carry the session's CSRF token in `X-CSRF-Token`, kept
 * in memory only (from the login answer, or `GET /api/me` after a reload).
 */
import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, detail, retryAfter = null) {
    const seconds = retryAfter ?? (/(\d+)\s*s\b/.exec(detail || "") || [])[1] ?? "?";
    const known = t(`errors.${status}`, { detail, seconds });
    super(status === 0 ? t("errors.network")
      : known !== `errors.${status}` ? known : t("errors.generic", { status, detail }));
    this.status = status;
    this.detail = detail;
  }
}

/** FastAPI errors: {"detail": "text"} or {"detail": [{loc, msg}, ...]} (validation). */
function describe(body) {
  const d = body?.detail ?? body?.error ?? body?.message;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d.map((e) => `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`).join("; ");
  }
  return "";
}

export const auth = { csrf: null };

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && auth.csrf) headers["X-CSRF-Token"] = auth.csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "");
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, describe(data) || res.statusText, res.headers.get("Retry-After"));
  return data;
}

export const get = (p) => api("GET", p);
export const post = (p, b = {}) => api("POST", p, b);
