import { PRIORITIES } from "../../events/catalog.ts";
import { STATES } from "../../lifecycle/machine.ts";
import { FAILURE_STATES } from "../../store/failures.ts";
import { Page } from "../layout.tsx";
import type { Overview } from "../overview-data.ts";

/** Hand-overs and dead events per hour as bars: an SVG drawn on the server, with a text twin. */
function Chart({ hours }: { hours: Overview["hours"] }) {
  const top = Math.max(1, ...hours.map((h) => Math.max(h.handedOver, h.dead)));
  const width = 24 * 14;
  const height = 90;
  const bar = (value: number) => Math.round((value / top) * (height - 10));
  const total = (key: "handedOver" | "dead") => hours.reduce((sum, h) => sum + h[key], 0);
  return (
    <figure>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        height="120"
        role="img"
        aria-label={`Last 24 hours: ${total("handedOver")} handed over, ${total("dead")} dead`}
      >
        {hours.map((h, i) => (
          <g>
            <rect
              x={i * 14 + 1}
              y={height - bar(h.handedOver)}
              width="6"
              height={bar(h.handedOver)}
              fill="#d29922"
            >
              <title>{`${h.handedOver} handed over`}</title>
            </rect>
            <rect x={i * 14 + 7} y={height - bar(h.dead)} width="6" height={bar(h.dead)} fill="#cf222e">
              <title>{`${h.dead} dead`}</title>
            </rect>
          </g>
        ))}
      </svg>
      <figcaption class="muted">
        Per hour, oldest left: <span style="color:#d29922">■</span> handed over to the recovery tier (
        {total("handedOver")}), <span style="color:#cf222e">■</span> dead ({total("dead")}).
      </figcaption>
    </figure>
  );
}

/**
 * Accepted events not yet delivered (waiting to be created, or running in their workflow), per
 * class and for the busiest tenants: interactive work goes first, tenants take turns in a class.
 */
function Backlog({ backlog }: { backlog: Overview["backlog"] }) {
  return (
    <>
      <p class="muted">
        Accepted events not yet delivered: waiting to be created, scheduled, or running in their workflow.
      </p>
      <div class="cards">
        {PRIORITIES.map((priority) => (
          <div class="card">
            <b>{backlog.byPriority[priority]}</b> {priority}
          </div>
        ))}
      </div>
      {backlog.tenants.length === 0 ? (
        <p class="muted">No accepted event is waiting or running.</p>
      ) : (
        <table>
          <caption class="muted">Tenants with the most accepted events not yet delivered</caption>
          <thead>
            <tr>
              <th>tenant</th>
              <th>accepted</th>
            </tr>
          </thead>
          <tbody>
            {backlog.tenants.map((t) => (
              <tr>
                <td>{t.tenant ?? <span class="muted">(no tenant)</span>}</td>
                <td>{t.n}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Each backend limit's use: calls started, calls that waited their turn, the busiest minute. */
function Limits({ limits }: { limits: NonNullable<Overview["limits"]> }) {
  if (limits.length === 0) return <p class="muted">No call has met a limit since the limiter started.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th>limit</th>
          <th>calls</th>
          <th>waited</th>
          <th>busiest minute</th>
          <th>most in flight</th>
        </tr>
      </thead>
      <tbody>
        {limits.map((l) => (
          <tr>
            <td>{l.limit}</td>
            <td>{l.calls}</td>
            <td>{l.waited}</td>
            <td>{l.busiestMinute}</td>
            <td>{l.peakInFlight}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function OverviewPage({ data, csrf }: { data: Overview; csrf: string }) {
  const calls = data.calls.ok + data.calls.failed;
  const rate = calls === 0 ? undefined : data.calls.failed / calls;
  return (
    <Page title="Overview" csrf={csrf}>
      <h2>Events by state</h2>
      <div class="cards">
        {STATES.map((state) =>
          (FAILURE_STATES as readonly string[]).includes(state) ? (
            <a class="card" href={`/console/failed?status=${state}`}>
              <b>{data.counts[state]}</b> {state}
            </a>
          ) : (
            <div class="card">
              <b>{data.counts[state]}</b> {state}
            </div>
          ),
        )}
        {Object.entries(data.unknownStates).map(([state, n]) => (
          <div class="card" title="A state this release does not know (written by a newer one): left alone">
            <b>{n}</b> {state} (unknown state)
          </div>
        ))}
      </div>
      <h2>Last 24 hours</h2>
      <Chart hours={data.hours} />
      <h2>Backlog</h2>
      <Backlog backlog={data.backlog} />
      {data.limits && (
        <>
          <h2>Backend limits, last hour</h2>
          <Limits limits={data.limits} />
        </>
      )}
      <h2>Backend</h2>
      <p>
        {rate === undefined ? (
          <span class="muted">No backend calls in the last {data.calls.windowMinutes} minutes.</span>
        ) : (
          <>
            <b class={rate >= 0.5 ? "bad" : "ok"}>{(rate * 100).toFixed(1)}%</b> of {calls} calls failed in
            the last {data.calls.windowMinutes} minutes.
          </>
        )}
      </p>
    </Page>
  );
}
