// Portal password page: set, change or remove the HTTP Basic password that
// guards the Wi-Fi and UPDATE pages. Itself guarded once a password exists;
// before that, on a board that requires one, it answers on the access point only.
import { esc, layout } from "./html";
import { htmlResponse } from "./responses";
import type { PortalContext, Route } from "./router";
import { PORTAL_USER, setPassword, storedPassword } from "./basic-auth";
import { passwordRequired } from "./security";

export function passwordPage(context: PortalContext, error?: string, message?: string): string {
  const { device, store } = context.deps;
  const isSet = storedPassword(store) !== undefined;
  const body =
    `<p id=error>${esc(error ?? "")}</p>` +
    (message ? `<p id=message class=ok>${esc(message)}</p>` : "") +
    `<section><p id=password-state>${isSet ? `A password is set (user name: ${esc(PORTAL_USER)}).` : passwordRequired(context.deps) ? "No password yet: updates are refused until one is set (until then Wi-Fi set-up and this page answer on the access point only)." : "No password: anyone on the access point can change Wi-Fi and firmware."}</p>` +
    `<form id=password-form method=post action="/password">` +
    `<label for=new>New password (empty removes it)</label><input type=password id=new name=new maxlength=64 autocomplete=new-password>` +
    `<label for=confirm>Repeat it</label><input type=password id=confirm name=confirm maxlength=64 autocomplete=new-password>` +
    `<button id=password-btn>Save</button></form></section>`;
  return layout("Portal password", body, { appName: device.appName });
}

export const passwordRoutes: Route[] = [
  { path: "/password", get: (c) => htmlResponse(passwordPage(c)), post: savePassword, guarded: true, lock: "setup" },
];

function savePassword(context: PortalContext): ReturnType<typeof htmlResponse> {
  const next = context.form.get("new") ?? "";
  if (next !== (context.form.get("confirm") ?? "")) return htmlResponse(passwordPage(context, "The two passwords differ."), 400);
  const error = setPassword(context.deps.store, next);
  if (error) return htmlResponse(passwordPage(context, error), 400);
  return htmlResponse(passwordPage(context, undefined, next === "" ? "Password removed." : `Password saved. Sign in as ${PORTAL_USER} with it.`));
}
