import { raw } from "hono/html";
import type { Child } from "hono/jsx";

/** One small stylesheet, inline: no asset route, no build step, readable down to 375 px. */
const STYLE = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#5b6470;--line:#d5d9de;--accent:#0b5cad;--bad:#b42318;--ok:#1a7f37}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8eb;--bg:#15181c;--muted:#9aa4af;--line:#2f353c;--accent:#6cb0ff;--bad:#ff7b72;--ok:#56d364}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line)}
header strong{margin-right:auto}nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
a{color:var(--accent)}main{padding:1rem;max-width:70rem;margin:0 auto}
h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.scroll{overflow-x:auto}.muted{color:var(--muted)}.bad{color:var(--bad)}.ok{color:var(--ok)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .7rem}.card b{display:block;font-size:1.4rem}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}label,.field{display:flex;flex-direction:column;font-size:.85rem;gap:.15rem}
input,select,button{font:inherit;padding:.35rem .5rem;border:1px solid var(--line);border-radius:.3rem;background:var(--bg);color:var(--fg)}
button{cursor:pointer;background:var(--accent);color:#fff;border-color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
button.link{background:none;color:var(--accent);border:none;padding:0;text-decoration:underline}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
pre{white-space:pre-wrap;word-break:break-word;background:color-mix(in srgb,var(--line) 35%,transparent);padding:.6rem;border-radius:.3rem}
.notice{border-left:4px solid var(--accent);padding:.4rem .7rem;margin:0 0 1rem}.notice.error{border-color:var(--bad)}
ol.timeline{list-style:none;padding:0;border-left:2px solid var(--line)}ol.timeline li{padding:.2rem 0 .5rem .8rem}
.states{display:flex;flex-wrap:wrap;gap:.4rem;padding:0;list-style:none}.states li{border:1px solid var(--line);border-radius:1rem;padding:.1rem .6rem}
.states li[aria-current]{background:var(--accent);color:#fff;border-color:var(--accent)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:var(--bg);padding:.3rem}
`;

export interface PageProps {
  title: string;
  /** Present when signed in: the navigation and the sign-out form show. */
  csrf?: string;
  notice?: { text: string; error?: boolean } | undefined;
  children?: Child;
}

export function Page({ title, csrf, notice, children }: PageProps) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="same-origin" />
          <title>{`${title} · jobs console`}</title>
          <style>{STYLE}</style>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header>
            <strong>jobs console</strong>
            {csrf && (
              <>
                <nav aria-label="Console">
                  <a href="/console">Overview</a>
                  <a href="/console/failed">Failed events</a>
                  <a href="/console/replay">Bulk replay</a>
                  <a href="/console/lookup">Look up</a>
                </nav>
                <form method="post" action="/console/sign-out">
                  <input type="hidden" name="csrf" value={csrf} />
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
              </>
            )}
          </header>
          <main id="main">
            <h1>{title}</h1>
            {notice && (
              <p class={notice.error ? "notice error" : "notice"} role={notice.error ? "alert" : "status"}>
                {notice.text}
              </p>
            )}
            {children}
          </main>
        </body>
      </html>
    </>
  );
}

/** A POST form carrying the session's CSRF token. */
export function ActionForm(props: { action: string; csrf: string; children?: Child; class?: string }) {
  return (
    <form method="post" action={props.action} class={props.class}>
      <input type="hidden" name="csrf" value={props.csrf} />
      {props.children}
    </form>
  );
}

export const when = (at: number | null | undefined) =>
  at === null || at === undefined ? "—" : new Date(at).toISOString().replace("T", " ").slice(0, 19);
