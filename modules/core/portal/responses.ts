// Response builders of the portal. Bodies are strings; the server adapter sets
// Content-Length. Everything is no-store: pages show live device state.
import type { PortalResponse } from "../ports";
import { esc, layout } from "./html";

function headers(contentType: string): Array<[string, string]> {
  return [
    ["Content-Type", contentType],
    ["Cache-Control", "no-store"],
    ["X-Content-Type-Options", "nosniff"],
  ];
}

export function htmlResponse(body: string, status = 200): PortalResponse {
  return { status, headers: headers("text/html; charset=utf-8"), body };
}

export function jsonResponse(value: unknown, status = 200): PortalResponse {
  return { status, headers: headers("application/json"), body: JSON.stringify(value) };
}

/** A redirect with a tiny body (some captive-portal clients want one). */
export function redirect(location: string, status = 302): PortalResponse {
  const response = htmlResponse(`<a href="${esc(location)}">Continue</a>`, status);
  response.headers.push(["Location", location]);
  return response;
}

/** After a form post: show the result page by GET (303 See Other). */
export function seeOther(location: string): PortalResponse {
  return redirect(location, 303);
}

/** An error page with the message and a link home. */
export function errorPage(status: number, title: string, message: string, appName: string): PortalResponse {
  return htmlResponse(layout(title, `<section><p id=error>${esc(message)}</p><a class=btn href="/">Home</a></section>`, { appName }), status);
}
