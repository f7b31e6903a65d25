import type { StoredEvent } from "../../store/events.ts";
import { ACTIONS, type ActionName } from "../actions.ts";
import { ActionForm, Page } from "../layout.tsx";

export function ConfirmPage(props: { csrf: string; event: StoredEvent; action: ActionName }) {
  const action = ACTIONS[props.action];
  const back = `/console/events/${encodeURIComponent(props.event.id)}`;
  return (
    <Page title={`${action.label} ${props.event.id}?`} csrf={props.csrf}>
      <p>
        {props.event.name}, now {props.event.state}. {action.explain}
      </p>
      <ActionForm action={`${back}/${props.action}`} csrf={props.csrf} class="inline">
        <button type="submit" class={action.danger ? "danger" : undefined}>
          {action.label} this event
        </button>
        <a href={back}>Keep it as it is</a>
      </ActionForm>
    </Page>
  );
}
