-- The creation budget every isolate of a stack shares (store/creation-budget.ts): one row, the
-- second it counts and how many creations were granted in it, in all and per Workflow (`used`,
-- a JSON object). Updated in place, never deleted: the next second overwrites it, so it costs
-- one row written per createBatch call and no retention.
CREATE TABLE creation_budget (
  key TEXT PRIMARY KEY,
  second INTEGER NOT NULL,
  used TEXT NOT NULL,
  granted INTEGER NOT NULL
);
INSERT INTO creation_budget (key, second, used, granted) VALUES ('stack', 0, '{}', 0);
