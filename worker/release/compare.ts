import { type ReleaseContract, SAMPLE } from "./contract.ts";

/** What changed between two releases' contracts, judged for the work the older one left in flight. */
export type Finding =
  /** Would hurt work in flight: the check fails. */
  | { kind: "breaking"; subject: string; message: string }
  /** Safe for work in flight, worth a reviewer's eye. */
  | { kind: "note"; subject: string; message: string };

const WAY_TO_CHANGE_STEPS =
  'In-flight events replay with the new steps: a renamed step is performed again under a new Idempotency-Key (`<id>:<step>`) the backend cannot match. Keep this event\'s steps as released; add a new event (for example with a `-v2` suffix) with the new steps, and mark this one `retired: { use: "<new name>" }` in worker/src/events/catalog.ts, so it stays routable until every stored one has drained.';

const EVENT_ADDED = "event added";
const FIELD_ADDED = "optional field added";
/** The notes that only add to a contract: a contract file stale in these alone just needs writing. */
const ADDITIONS = [EVENT_ADDED, FIELD_ADDED];

/** What changes from `base` to `head` would do to the work `base` leaves in flight. */
export function compareContracts(base: ReleaseContract, head: ReleaseContract): Finding[] {
  const findings: Finding[] = [];
  const breaking = (subject: string, message: string) =>
    findings.push({ kind: "breaking", subject, message });
  const note = (subject: string, message: string) => findings.push({ kind: "note", subject, message });

  for (const [name, was] of Object.entries(base.events)) {
    const now = head.events[name];
    if (!now) {
      if (was.retired)
        note(
          name,
          "removed after being retired: make sure no stored event of it is still in flight (console: filter by event)",
        );
      else
        breaking(
          name,
          `event removed: its stored events (sleeping, retrying, dead awaiting replay) could no longer run. Mark it \`retired\` in worker/src/events/catalog.ts instead, and remove it in a later release once drained.`,
        );
      continue;
    }
    if (now.workflow !== was.workflow)
      breaking(
        name,
        `moved from workflow ${was.workflow} to ${now.workflow}: its running instances live in ${was.workflow}, and the reconciler would recreate them in ${now.workflow}, running every step again. Add a new event in ${now.workflow} and retire this one.`,
      );
    for (const [index, step] of was.steps.entries()) {
      const at = now.steps.indexOf(step);
      if (at === -1) breaking(`${name} step ${step}`, `step renamed or removed. ${WAY_TO_CHANGE_STEPS}`);
      else if (at !== index)
        breaking(
          `${name} step ${step}`,
          `step moved from position ${index + 1} to ${at + 1}. ${WAY_TO_CHANGE_STEPS}`,
        );
    }
    for (const step of now.steps.filter((s) => !was.steps.includes(s)))
      breaking(
        `${name} step ${step}`,
        `step added: in-flight events would run a step they were not dispatched for. ${WAY_TO_CHANGE_STEPS}`,
      );
    if (now.payload !== was.payload)
      note(
        name,
        "payload schema changed: it applies at /dispatch only; stored events are not validated again",
      );
    if (now.retired && !was.retired)
      note(
        name,
        `retired${now.retired.use ? ` in favour of ${now.retired.use}` : ""}: /dispatch refuses it, stored ones still run`,
      );
  }
  for (const name of Object.keys(head.events).filter((n) => !base.events[n])) note(name, EVENT_ADDED);

  for (const [kind, was] of Object.entries(base.workflows ?? {})) {
    const now = head.workflows?.[kind];
    if (!now) breaking(`workflow ${kind}`, "workflow removed: deleting it deletes every instance it runs");
    else if (now.name !== was.name)
      breaking(
        `workflow ${kind}`,
        `renamed from ${was.name} to ${now.name}: the deploy replaces it, deleting every instance it runs`,
      );
    else if (now.className !== was.className)
      breaking(
        `workflow ${kind}`,
        `class renamed from ${was.className} to ${now.className}: running instances resume in a class that no longer exists; keep the old name exported`,
      );
  }
  for (const [key, name] of Object.entries(base.queues ?? {}))
    if (head.queues?.[key] !== name)
      breaking(`queue ${key}`, `renamed from ${name}: the deploy replaces it, dropping every pointer on it`);

  if (base.instance && head.instance) {
    for (const [what, name] of Object.entries(base.instance.steps))
      if (head.instance.steps[what] !== name)
        breaking(
          `workflow step ${what}`,
          `recorded as "${head.instance.steps[what] ?? "(nothing)"}" instead of "${name}": instances that wake on the new code find their finished steps by name, and would run them again`,
        );
    if (head.instance.key !== base.instance.key)
      breaking(
        "Idempotency-Key",
        `changed from ${base.instance.key} to ${head.instance.key} (for event ${SAMPLE.eventId}, step ${SAMPLE.step}): every retry of work in flight would reach the backend under a key it cannot match, and be performed again`,
      );
    const [was, now] = [base.instance.envelope, head.instance.envelope];
    const envelope = "event envelope (JobParamsSchema)";
    const stored =
      "every stored event and every running instance carries the envelope it was created with, and would no longer be read";
    for (const [field, hash] of Object.entries(was.properties))
      if (now.properties[field] === undefined) breaking(`${envelope} ${field}`, `field removed: ${stored}`);
      else if (now.properties[field] !== hash)
        breaking(`${envelope} ${field}`, `field's type changed: ${stored}`);
    for (const field of now.required.filter((f) => !was.required.includes(f)))
      breaking(`${envelope} ${field}`, `field now required: ${stored}`);
    for (const field of Object.keys(now.properties).filter((f) => was.properties[f] === undefined))
      if (!now.required.includes(field)) note(`${envelope} ${field}`, FIELD_ADDED);
  }
  for (const [what, name] of Object.entries(base.names ?? {}))
    if (head.names?.[what] !== name)
      breaking(
        `name ${what}`,
        `renamed from ${name} to ${head.names?.[what] ?? "(nothing)"}: the deploy would replace what holds the data, or lose track of the migrations applied`,
      );

  const headMigrations = new Map(head.migrations.map((m) => [m.name, m.sha256]));
  for (const { name, sha256 } of base.migrations) {
    const now = headMigrations.get(name);
    if (now === undefined)
      breaking(
        `migration ${name}`,
        "released migration deleted: databases have applied it; add a new migration that undoes what it did instead",
      );
    else if (now !== sha256)
      breaking(
        `migration ${name}`,
        "released migration edited: databases that applied it will never apply the edit; revert it and add a new migration",
      );
  }
  const released = new Set(base.migrations.map((m) => m.name));
  const lastReleased = base.migrations.at(-1)?.name ?? "";
  for (const m of head.migrations.filter((m) => !released.has(m.name) && m.name < lastReleased))
    breaking(
      `migration ${m.name}`,
      `sorts before the released ${lastReleased}: number it after every released migration`,
    );

  for (const [version, format] of Object.entries(base.recoveryMessage.formats)) {
    const now = head.recoveryMessage.formats[version];
    if (now === undefined)
      breaking(
        `recovery message v${version}`,
        "format dropped: messages of it are still on the ladder (for hours) and in the dead-letter queue (for days); keep reading it",
      );
    else if (now !== format)
      breaking(
        `recovery message v${version}`,
        "format changed without a new version: messages already queued would be misread. Keep v" +
          `${version} as it is, add the new format as v${Number(version) + 1} in worker/src/recovery/message.ts and send that`,
      );
  }
  if (head.recoveryMessage.version < base.recoveryMessage.version)
    breaking(
      "recovery message",
      `sends v${head.recoveryMessage.version}, older than the released v${base.recoveryMessage.version}`,
    );
  return findings;
}

/** Stale only in additions: everything the file says still holds, the code only adds to it. */
export function staleOnlyInAdditions(committed: ReleaseContract, current: ReleaseContract): boolean {
  // New events, workflows, migrations and message versions raise no finding; anything else does.
  return compareContracts(committed, current).every((f) => ADDITIONS.includes(f.message));
}
