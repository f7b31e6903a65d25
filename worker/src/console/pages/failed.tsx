import type { StoredEvent } from "../../store/events.ts";
import { Page, when } from "../layout.tsx";
import { EventTable } from "./event-table.tsx";
import { FilterFields } from "./filter-form.tsx";

export function FailedPage(props: {
  csrf: string;
  events: StoredEvent[];
  values: Record<string, string | undefined>;
  next?: string | undefined;
}) {
  return (
    <Page title="Failed events" csrf={props.csrf}>
      <form method="get" action="/console/failed" class="inline" aria-label="Filter failed events">
        <FilterFields values={props.values} />
        <button type="submit">Filter</button>
      </form>
      {props.events.length === 0 ? (
        <p>No failed events match.</p>
      ) : (
        <EventTable
          events={props.events}
          caption="Newest failure first"
          columns={[
            ["State", (e) => e.state],
            ["Failed step", (e) => e.remainingSteps[0] ?? "—"],
            ["Attempts", (e) => e.attempts],
            ["Failed at (UTC)", (e) => when(e.failedAt)],
            ["Last error", (e) => e.lastError.slice(0, 120)],
          ]}
        />
      )}
      {props.next && (
        <p>
          <a href={props.next} rel="next">
            Next page
          </a>
        </p>
      )}
    </Page>
  );
}
