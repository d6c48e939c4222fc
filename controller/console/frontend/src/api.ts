// The /v2/ API with the session cookie. State-changing calls need no token:
// the browser sends Origin and Sec-Fetch-Site, which the controller checks.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function failure(reply: Response): Promise<ApiError> {
  let detail = reply.statusText;
  try {
    const body: unknown = await reply.json();
    if (body && typeof body === "object" && "detail" in body) detail = String(body.detail);
  } catch {
    // not JSON: keep the status text
  }
  if (reply.status === 401 && location.pathname !== "/login") {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  return new ApiError(reply.status, detail);
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  const reply = await fetch(path, { ...init, headers, credentials: "same-origin" });
  if (!reply.ok) throw await failure(reply);
  return reply;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request(path)).json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T | null> {
  const reply = await request(path, { method: "POST", body: JSON.stringify(body) });
  return reply.status === 204 ? null : ((await reply.json()) as T);
}

export function appPath(app: string, suffix = ""): string {
  return `/v2/apps/${encodeURIComponent(app)}${suffix}`;
}

export interface User {
  username: string;
  is_superuser: boolean;
}

export interface App {
  id: string;
  owner: string;
  created: string;
}
