import type { StoredEvent } from "../../store/events.ts";
import { ActionForm, Page, when } from "../layout.tsx";
import { EventTable } from "./event-table.tsx";
import { FilterFields } from "./filter-form.tsx";

/** Bulk replay, step one: which dead events to take. */
export function ReplayFormPage(props: { csrf: string; values: Record<string, string | undefined> }) {
  return (
    <Page title="Bulk replay" csrf={props.csrf}>
      <p>Choose the dead events to replay. You will see exactly which ones before anything runs.</p>
      <ActionForm action="/console/replay/preview" csrf={props.csrf} class="inline">
        <FilterFields values={props.values} states={false} />
        <button type="submit">Preview</button>
      </ActionForm>
    </Page>
  );
}

/** Step two, the dry run: these N events will be replayed, and the button replays exactly them. */
export function ReplayPreviewPage(props: { csrf: string; events: StoredEvent[]; limit: number }) {
  const n = props.events.length;
  return (
    <Page title="Bulk replay: preview" csrf={props.csrf}>
      <p role="status">
        {n === 0
          ? "No dead event matches: nothing would be replayed."
          : `These ${n} events will be replayed${n === props.limit ? ` (the first ${props.limit}; run again for more)` : ""}.`}
      </p>
      {n > 0 && (
        <>
          <EventTable events={props.events} columns={[["Failed at (UTC)", (e) => when(e.failedAt)]]} />
          <ActionForm action="/console/replay/run" csrf={props.csrf} class="inline">
            {props.events.map((e) => (
              <input type="hidden" name="id" value={e.id} />
            ))}
            <button type="submit">Replay these {n} events</button>
            <a href="/console/replay">Change the selection</a>
          </ActionForm>
        </>
      )}
    </Page>
  );
}

export function ReplayDonePage(props: { csrf: string; asked: number; replayed: string[] }) {
  return (
    <Page title="Bulk replay: done" csrf={props.csrf}>
      <p role="status">
        Replayed {props.replayed.length} of {props.asked} events
        {props.replayed.length < props.asked ? " (the others had moved on meanwhile)" : ""}.
      </p>
      <p>
        <a href="/console/failed?status=retrying">See them retrying</a>
      </p>
    </Page>
  );
}
