import type { Child } from "hono/jsx";
import { CATALOG } from "../../events/catalog.ts";
import { FAILURE_STATES } from "../../store/failures.ts";

/** A labelled control: the label names it alone (a wrapping label would add the options' text). */
function Field({ id, label, children }: { id: string; label: string; children: Child }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
    </div>
  );
}

/** The filter fields shared by the failed-events list and the bulk replay. */
export function FilterFields({
  values,
  states = true,
}: {
  values: Record<string, string | undefined>;
  states?: boolean;
}) {
  return (
    <>
      {states && (
        <Field id="f-status" label="State">
          <select id="f-status" name="status">
            <option value="">any</option>
            {FAILURE_STATES.map((s) => (
              <option value={s} selected={values.status === s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field id="f-name" label="Event">
        <select id="f-name" name="name">
          <option value="">any</option>
          {Object.keys(CATALOG).map((n) => (
            <option value={n} selected={values.name === n}>
              {n}
            </option>
          ))}
        </select>
      </Field>
      <Field id="f-tenant" label="Tenant">
        <input id="f-tenant" name="tenant" value={values.tenant ?? ""} size={14} />
      </Field>
      <Field id="f-from" label="Failed from (UTC)">
        <input id="f-from" type="datetime-local" name="from" value={values.from ?? ""} />
      </Field>
      <Field id="f-to" label="to (UTC)">
        <input id="f-to" type="datetime-local" name="to" value={values.to ?? ""} />
      </Field>
    </>
  );
}
