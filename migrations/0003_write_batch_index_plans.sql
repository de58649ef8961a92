-- protomesh_write_batch looks every key up through an index, whatever the
-- tables hold.
--
-- Its statements run with generic plans (0002), and a connection makes a
-- statement's generic plan once, the first time it runs, from the
-- statistics of that moment, and keeps it until the table is next
-- analyzed. A store's write connection often makes them on a new, empty
-- database, where a sequential scan is the cheapest plan there is. The
-- DELETE of dropped keys (ctid = ANY (...)) was planned so, and then
-- scanned the whole resources table in every batch, with nothing to delete
-- as well: with 10 000 resources, three quarters of PostgreSQL's CPU per
-- write, growing with the table. Autovacuum's ANALYZE replans it in the
-- end, but not before its next round (a minute at most), and only after
-- enough of the table changed: until then, a burst of writes into a new
-- database (or the benchmark) ran on those plans.
--
-- Every statement of the function reads resources and changes by key, so a
-- sequential scan is never the plan it wants. Turning sequential scans off
-- makes the planner add a huge cost to them (where nothing else can read a
-- table, as store_revision's one row, it still uses them), and a plan that
-- costs that much is compiled by JIT on every run (a quarter of a second
-- each time, measured), so JIT goes off too: nothing here is worth
-- compiling.

ALTER FUNCTION protomesh_write_batch(
    uuid, bigint, text[], uuid[], int[], int[], boolean[], bigint[],
    text[], text[], bytea[], text[])
  SET enable_seqscan = off
  SET jit = off;
