// The smaller pages: login, the apps list, an app's drains and collaborators.
import { App, User, appPath, getJson, postJson, request } from "./api";
import { alertBox, h, showAlert } from "./dom";

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Where to go after logging in: a path on this site only. */
export function nextPath(): string {
  const next = new URLSearchParams(location.search).get("next") ?? "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/login") ? next : "/";
}

export function loginPage(): HTMLElement {
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password",
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const alert = alertBox();
  const form = h(
    "form",
    { class: "login", id: "login-form" },
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    h("button", { type: "submit", id: "login-submit" }, "Log in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(alert, null);
    try {
      await postJson("/console/login", { username: username.value, password: password.value });
      location.assign(nextPath());
    } catch (error) {
      showAlert(alert, `Login failed: ${message(error)}`);
      password.select();
    }
  });
  return h(
    "section",
    { class: "narrow", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in"),
    h("p", {}, "The same user and password as for wf login."),
    alert,
    form,
  );
}

export async function appsPage(): Promise<HTMLElement> {
  const apps = await getJson<{ count: number; results: App[] }>("/v2/apps?limit=1000");
  const list = h("ul", { class: "apps", id: "apps" });
  for (const app of apps.results) {
    list.append(
      h(
        "li",
        {},
        h("a", { href: `/apps/${encodeURIComponent(app.id)}` }, app.id),
        h("span", { class: "owner" }, ` owned by ${app.owner}`),
      ),
    );
  }
  return h(
    "section",
    { "aria-labelledby": "apps-title" },
    h("h1", { id: "apps-title" }, "Your apps"),
    apps.count ? list : h("p", {}, "No apps yet: create one with wf apps create."),
  );
}

interface Drain {
  id: string;
  url: string;
  state: string | null;
  delivered_lines: number | null;
  dropped_lines: number | null;
  last_error: string | null;
}

export async function drainsPage(app: string): Promise<HTMLElement> {
  const drains = await getJson<{ count: number; results: Drain[] }>(appPath(app, "/drains"));
  const cell = (value: unknown): HTMLElement => h("td", {}, value === null || value === undefined ? "-" : String(value));
  const rows = drains.results.map((drain) =>
    h(
      "tr",
      { "data-drain": drain.id },
      cell(drain.url),
      cell(drain.state ?? "unknown"),
      cell(drain.delivered_lines),
      cell(drain.dropped_lines),
      cell(drain.last_error),
    ),
  );
  const table = h(
    "table",
    { id: "drains" },
    h("caption", {}, "Drains and their states (URLs with credentials hidden)"),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ...["URL", "State", "Delivered lines", "Dropped lines", "Last error"].map((name) =>
          h("th", { scope: "col" }, name),
        ),
      ),
    ),
    h("tbody", {}, ...rows),
  );
  return h(
    "section",
    { "aria-labelledby": "drains-title" },
    h("h2", { id: "drains-title" }, "Drains"),
    drains.count ? table : h("p", {}, "No drains: add one with wf drains add."),
  );
}

export async function collaboratorsPage(app: string, me: User): Promise<HTMLElement> {
  const alert = alertBox();
  const list = h("ul", { id: "collaborators" });
  const info = await getJson<App>(appPath(app));
  const mayChange = me.is_superuser || info.owner === me.username;
  const load = async (): Promise<void> => {
    const perms = await getJson<{ users: string[] }>(appPath(app, "/perms"));
    list.replaceChildren(
      ...perms.users.map((name) => {
        const remove = h("button", { type: "button", "aria-label": `Remove ${name}` }, "Remove");
        remove.addEventListener("click", async () => {
          try {
            await request(appPath(app, `/perms/${encodeURIComponent(name)}`), { method: "DELETE" });
            await load();
          } catch (error) {
            showAlert(alert, message(error));
          }
        });
        return h("li", { "data-user": name }, name, " ", mayChange ? remove : null);
      }),
    );
    if (!perms.users.length) list.append(h("li", {}, "Nobody else."));
  };
  await load();
  const username = h("input", { id: "collaborator", name: "username", autocomplete: "off", required: true });
  const form = h(
    "form",
    { id: "collaborator-form" },
    h("label", { for: "collaborator" }, "Add a collaborator "),
    username,
    h("button", { type: "submit" }, "Add"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showAlert(alert, null);
    try {
      await postJson(appPath(app, "/perms"), { username: username.value });
      username.value = "";
      await load();
    } catch (error) {
      showAlert(alert, message(error));
    }
  });
  return h(
    "section",
    { "aria-labelledby": "collaborators-title" },
    h("h2", { id: "collaborators-title" }, "Collaborators"),
    h("p", {}, `Owner: ${info.owner}`),
    alert,
    list,
    mayChange ? form : null,
  );
}
