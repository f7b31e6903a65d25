import type { StatusResponse } from "../../operations/shapes.ts";
import { Page } from "../layout.tsx";

/** Any event id, as its producer sees it through `GET /status/:id`. */
export function LookupPage(props: { csrf: string; id: string; status?: StatusResponse | undefined }) {
  const { status } = props;
  return (
    <Page title="Look up an event" csrf={props.csrf}>
      <search>
        <form method="get" action="/console/lookup" class="inline">
          <label>
            Event id
            <input name="id" value={props.id} required maxlength={100} size={36} />
          </label>
          <button type="submit">Look up</button>
        </form>
      </search>
      {props.id &&
        (status ? (
          <>
            <h2>As its producer sees it</h2>
            <p>
              <b>{status.status}</b> · {status.name}
              {status.error ? ` · ${status.error.name}: ${status.error.message}` : ""}
            </p>
            <pre>{JSON.stringify(status, null, 2)}</pre>
            <p>
              <a href={`/console/events/${encodeURIComponent(status.id)}`}>Open the event</a>
            </p>
          </>
        ) : (
          <p role="status">No event with this id.</p>
        ))}
    </Page>
  );
}
