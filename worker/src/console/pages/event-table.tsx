import type { Child } from "hono/jsx";
import type { StoredEvent } from "../../store/events.ts";

export type Column = [header: string, cell: (event: StoredEvent) => Child];

/** Events as a table: the id (linking to the event), name and tenant, then the given columns. */
export function EventTable({
  events,
  columns,
  caption,
}: {
  events: StoredEvent[];
  columns: Column[];
  caption?: string;
}) {
  return (
    <div class="scroll">
      <table>
        {caption && <caption class="muted">{caption}</caption>}
        <thead>
          <tr>
            {["Event", "Name", "Tenant", ...columns.map(([header]) => header)].map((header) => (
              <th scope="col">{header}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr>
              <td>
                <a href={`/console/events/${encodeURIComponent(e.id)}`}>{e.id}</a>
              </td>
              <td>{e.name}</td>
              <td>{e.tenantId ?? "—"}</td>
              {columns.map(([, cell]) => (
                <td>{cell(e)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
