import { isEventName, stepsOf } from "../../events/catalog.ts";
import { isState, STATES, TRANSITIONS, transitionsFrom } from "../../lifecycle/machine.ts";
import type { StoredEvent } from "../../store/events.ts";
import { ACTIONS, type ActionName, offered } from "../actions.ts";
import { Page, when } from "../layout.tsx";

export interface HistoryRow {
  at: number;
  tier: string;
  step: string | null;
  outcome: string;
  detail: string | null;
}

/** Which steps ran: all once delivered; before the first failure's step once it failed; else unknown. */
function stepStates(event: StoredEvent, steps: readonly string[]): [string, string][] {
  if (event.state === "delivered") return steps.map((s) => [s, "performed"]);
  if (event.failedAt === null) return steps.map((s) => [s, "not yet known"]);
  return steps.map((s) => [s, event.remainingSteps.includes(s) ? "not performed" : "performed"]);
}

/** The lifecycle, drawn from the machine: every state, this event's marked, and the ways out of it. */
function Lifecycle({ state }: { state: string }) {
  const out = transitionsFrom(state).map((name) => [name, TRANSITIONS[name]] as const);
  return (
    <section aria-labelledby="lifecycle">
      <h2 id="lifecycle">Lifecycle</h2>
      <ul class="states">
        {STATES.map((s) => (
          <li aria-current={s === state ? "step" : undefined}>{s}</li>
        ))}
      </ul>
      <p class="muted">
        {!isState(state)
          ? `${state} is a state this release does not know (a newer release wrote it): it is left alone here.`
          : out.length === 0
            ? "Final: no transition leaves this state."
            : `From here: ${out.map(([name, t]) => `${name} → ${t.to} (by ${t.by.join(", ")})`).join("; ")}.`}
      </p>
    </section>
  );
}

/** The event as operators see it: the caller passes it through forOperators (masked). */
export function EventPage(props: {
  csrf: string;
  event: StoredEvent;
  history: HistoryRow[];
  done?: string | undefined;
}) {
  const { event } = props;
  // An orphan record (a recovery message with no event) has no catalog name, hence no steps.
  const steps = stepStates(event, isEventName(event.name) ? stepsOf(event.name) : []);
  const actions = (Object.keys(ACTIONS) as ActionName[]).filter((a) => offered(event, a));
  const notice = props.done ? { text: props.done } : undefined;
  return (
    <Page title={`Event ${event.id}`} csrf={props.csrf} notice={notice}>
      <div class="scroll">
        <table>
          <tbody>
            <tr>
              <th scope="row">Name</th>
              <td>{event.name}</td>
            </tr>
            <tr>
              <th scope="row">State</th>
              <td>{event.state}</td>
            </tr>
            <tr>
              <th scope="row">Tenant</th>
              <td>{event.tenantId ?? "—"}</td>
            </tr>
            <tr>
              <th scope="row">Trace id</th>
              <td>{event.traceId}</td>
            </tr>
            <tr>
              <th scope="row">Accepted (UTC)</th>
              <td>{when(event.createdAt)}</td>
            </tr>
            <tr>
              <th scope="row">First failed (UTC)</th>
              <td>{when(event.failedAt)}</td>
            </tr>
            <tr>
              <th scope="row">Attempts / replays</th>
              <td>
                {event.attempts} / {event.replays}
              </td>
            </tr>
            <tr>
              <th scope="row">Last error</th>
              <td class={event.lastError ? "bad" : undefined}>{event.lastError || "—"}</td>
            </tr>
          </tbody>
        </table>
      </div>
      {actions.length > 0 && (
        <section aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          <p>
            {actions.map((a) => (
              <>
                <a href={`/console/events/${encodeURIComponent(event.id)}/${a}`}>{ACTIONS[a].label}…</a>{" "}
              </>
            ))}
          </p>
        </section>
      )}
      <Lifecycle state={event.state} />
      <h2>Steps</h2>
      <ol>
        {steps.map(([step, state]) => (
          <li>
            {step}: <span class={state === "performed" ? "ok" : "muted"}>{state}</span>
          </li>
        ))}
      </ol>
      <h2>Attempts</h2>
      {props.history.length === 0 ? (
        <p class="muted">No attempt recorded beyond the workflow's own.</p>
      ) : (
        <ol class="timeline">
          {props.history.map((h) => (
            <li>
              <time datetime={new Date(h.at).toISOString()}>{when(h.at)}</time> · {h.tier}
              {h.step ? ` · ${h.step}` : ""} · <b>{h.outcome}</b>
              {h.detail ? <div class="muted">{h.detail}</div> : null}
            </li>
          ))}
        </ol>
      )}
      <h2>Dispatched</h2>
      {event.job ? (
        <pre>{JSON.stringify(event.job, null, 2)}</pre>
      ) : (
        <p class="muted">Not kept: compacted after retention, or never a stored event.</p>
      )}
    </Page>
  );
}
