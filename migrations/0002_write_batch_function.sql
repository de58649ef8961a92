-- A write transaction in one round trip.
--
-- The store's write batcher used to run a transaction as five round trips:
-- BEGIN, the revision lock, a read of every key the batch touches, one
-- statement writing it all, COMMIT. Every writer of every replica waits for
-- the revision lock (see 0001), so the time between those round trips, on
-- the wire and in the store, was time in which nobody could commit.
-- protomesh_write_batch runs all of it inside the server. The store calls
-- it outside a transaction block, so that the call is its own transaction
-- (it commits when the call ends, before the reply is sent): the lock is
-- held from the moment it is taken to the end of the commit, and for no
-- round trip.
--
-- A batch is a list of mutations (one Put, Drop or Apply each). Each one
-- commits all or nothing under a revision of its own, in batch order, and
-- sees the mutations before it in the batch; a failed precondition fails
-- only its mutation. The batch is passed as arrays:
--   key_namespaces, key_ids: the distinct resources the batch touches;
--   one entry per put, and per id of a drop, in batch order, each with:
--     entry_mutations  its mutation's number (ascending; a mutation's
--                      entries are adjacent and touch distinct keys),
--     entry_keys       its resource (an index into key_*),
--     entry_puts       put (true) or drop (false),
--     entry_expected   its precondition: NULL none, 0 the resource must not
--                      exist, r it must be at revision r,
--     put_names, put_type_urls, put_specs, put_sha256s: what a put writes.
-- It returns one row per entry, in entry order:
--   mutation_revision  the revision of the entry's mutation, 0 when the
--                      mutation changed nothing, NULL when one of its
--                      preconditions failed,
--   failed             this entry's precondition is the one that failed,
--   key_existed, key_revision, key_committed_us: its resource as the
--                      mutation found it (revision and commit time in
--                      microseconds since the epoch; NULL when absent),
--   unchanged          a put whose content the resource already had,
--   committed_us       the transaction's commit time (NULL when it wrote
--                      nothing),
--   drop_of_entry      for a drop of a resource the batch itself wrote: the
--                      put entry whose content the drop's change row holds;
--   dropped_name, dropped_type_url, dropped_spec, dropped_sha256: for a
--                      drop of a stored resource, the stored row, which
--                      its change row copies.
--
-- The keys are read first without the lock. When no mutation would change
-- anything, the batch ends there: its answers are true of that snapshot,
-- and it writes nothing, so it has nothing to flush at commit. Otherwise it
-- takes the lock and, only when a revision was committed since the
-- snapshot, reads the keys again. Every write bumps the revision, so an
-- unchanged head means an unchanged snapshot.
--
-- After the writes it records its (writer, batch) in store_writers and
-- notifies protomesh_changes with '<last revision> <first revision>
-- <writer>'. When the store loses the connection while a call is in
-- flight, it waits for that backend to end and then reads its row there:
-- the batch committed exactly when the row holds its number.
--
-- Revisions stay gap-free and in commit order for the reasons given in
-- 0001: the lock is the same row lock, taken before any revision is
-- numbered, held to the end of the commit.

CREATE TABLE store_writers (
  writer     uuid        PRIMARY KEY,
  batch      bigint      NOT NULL,
  written_at timestamptz NOT NULL
);

CREATE FUNCTION protomesh_write_batch(
    writer_id uuid, batch_number bigint,
    key_namespaces text[], key_ids uuid[],
    entry_mutations int[], entry_keys int[], entry_puts boolean[], entry_expected bigint[],
    put_names text[], put_type_urls text[], put_specs bytea[], put_sha256s text[])
  RETURNS TABLE (
    mutation_revision bigint, failed boolean, key_existed boolean, key_revision bigint,
    key_committed_us bigint, unchanged boolean, committed_us bigint, drop_of_entry int,
    dropped_name text, dropped_type_url text, dropped_spec bytea, dropped_sha256 text)
  LANGUAGE plpgsql VOLATILE
  -- Its statements take arrays whose contents vary with every call, so a
  -- custom plan would be made anew on every call (a quarter of a
  -- millisecond for a one-write batch, measured); the generic plans look
  -- keys up one by one through the primary key anyway.
  SET plan_cache_mode = force_generic_plan
  AS $$
DECLARE
  entries int := coalesce(array_length(entry_mutations, 1), 0);
  key_count int := coalesce(array_length(key_ids, 1), 0);
  seen_head bigint;       -- the head revision of the snapshot planned on
  last_rev bigint;        -- the last revision the plan numbered
  locked boolean := false;
  locked_head bigint;
  ts timestamptz;
  ts_us bigint;
  -- Each key as the plan goes: its sha256 (NULL: absent), revision, commit
  -- time (NULL when this batch wrote it), the put entry that wrote it.
  cur_sha text[];
  cur_rev bigint[];
  cur_us bigint[];
  cur_put int[];
  touched boolean[];
  -- Per entry: the answer.
  res_rev bigint[];
  res_failed boolean[];
  res_existed boolean[];
  res_key_rev bigint[];
  res_key_us bigint[];
  res_unchanged boolean[];
  res_drop_of int[];
  -- Change rows with their content in put_*: (revision, key, put entry, dropped).
  ch_count int;
  ch_rev bigint[];
  ch_key int[];
  ch_entry int[];
  ch_dropped boolean[];
  -- Drops of stored resources: (revision, key, entry).
  sd_count int;
  sd_rev bigint[];
  sd_key int[];
  sd_entry int[];
  i int;
  e int;
  j int;
  k int;
  fail_at int;
  changing boolean;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'protomesh_write_batch needs READ COMMITTED, not %',
      current_setting('transaction_isolation');
  END IF;
  LOOP
    SELECT (SELECT s.revision FROM store_revision s),
           array_agg(r.sha256 ORDER BY q.ord),
           array_agg(r.revision ORDER BY q.ord),
           array_agg((extract(epoch FROM r.committed_at) * 1000000)::bigint ORDER BY q.ord)
      INTO seen_head, cur_sha, cur_rev, cur_us
      FROM unnest(key_namespaces, key_ids) WITH ORDINALITY AS q(ns, kid, ord)
      LEFT JOIN LATERAL (
        SELECT x.sha256, x.revision, x.committed_at FROM resources x
        WHERE x.namespace = q.ns AND x.id = q.kid LIMIT 1) r ON true;
    IF key_count = 0 THEN
      cur_sha := '{}'; cur_rev := '{}'; cur_us := '{}';
    END IF;
    cur_put := array_fill(NULL::int, ARRAY[key_count]);
    touched := array_fill(false, ARRAY[key_count]);
    res_rev := '{}'; res_failed := '{}'; res_existed := '{}'; res_key_rev := '{}';
    res_key_us := '{}'; res_unchanged := '{}'; res_drop_of := '{}';
    ch_count := 0; ch_rev := '{}'; ch_key := '{}'; ch_entry := '{}'; ch_dropped := '{}';
    sd_count := 0; sd_rev := '{}'; sd_key := '{}'; sd_entry := '{}';
    last_rev := seen_head;

    i := 1;
    WHILE i <= entries LOOP
      -- The mutation's entries are i .. e - 1. Every precondition is checked
      -- against the state before the mutation, then the entries apply.
      e := i;
      fail_at := NULL;
      changing := false;
      WHILE e <= entries AND entry_mutations[e] = entry_mutations[i] LOOP
        k := entry_keys[e];
        IF fail_at IS NULL THEN
          IF entry_expected[e] IS NOT NULL AND (CASE
               WHEN entry_expected[e] = 0 THEN cur_sha[k] IS NOT NULL
               ELSE cur_sha[k] IS NULL OR cur_rev[k] <> entry_expected[e] END) THEN
            fail_at := e;
          ELSIF entry_puts[e] THEN
            changing := changing OR cur_sha[k] IS DISTINCT FROM put_sha256s[e];
          ELSE
            changing := changing OR cur_sha[k] IS NOT NULL;
          END IF;
        END IF;
        e := e + 1;
      END LOOP;
      IF fail_at IS NULL AND changing THEN
        last_rev := last_rev + 1;
      END IF;

      FOR j IN i .. e - 1 LOOP
        k := entry_keys[j];
        res_existed[j] := cur_sha[k] IS NOT NULL;
        res_key_rev[j] := cur_rev[k];
        res_key_us[j] := cur_us[k];
        res_failed[j] := j IS NOT DISTINCT FROM fail_at;
        res_unchanged[j] := false;
        res_drop_of[j] := NULL;
        IF fail_at IS NOT NULL THEN
          res_rev[j] := NULL;
          CONTINUE;
        END IF;
        res_rev[j] := CASE WHEN changing THEN last_rev ELSE 0 END;
        IF entry_puts[j] THEN
          IF cur_sha[k] = put_sha256s[j] THEN
            res_unchanged[j] := true;
            CONTINUE;
          END IF;
          ch_count := ch_count + 1;
          ch_rev[ch_count] := last_rev;
          ch_key[ch_count] := k;
          ch_entry[ch_count] := j;
          ch_dropped[ch_count] := false;
          cur_sha[k] := put_sha256s[j];
          cur_rev[k] := last_rev;
          cur_us[k] := NULL;
          cur_put[k] := j;
          touched[k] := true;
        ELSIF cur_sha[k] IS NOT NULL THEN
          IF cur_put[k] IS NOT NULL THEN
            ch_count := ch_count + 1;
            ch_rev[ch_count] := last_rev;
            ch_key[ch_count] := k;
            ch_entry[ch_count] := cur_put[k];
            ch_dropped[ch_count] := true;
            res_drop_of[j] := cur_put[k];
          ELSE
            sd_count := sd_count + 1;
            sd_rev[sd_count] := last_rev;
            sd_key[sd_count] := k;
            sd_entry[sd_count] := j;
          END IF;
          cur_sha[k] := NULL;
          cur_rev[k] := NULL;
          cur_us[k] := NULL;
          cur_put[k] := NULL;
          touched[k] := true;
        END IF;
      END LOOP;
      i := e;
    END LOOP;

    -- Nothing to write, or planned under the lock: done planning.
    EXIT WHEN last_rev = seen_head OR locked;
    SELECT s.revision INTO locked_head FROM store_revision s FOR UPDATE;
    locked := true;
    -- Nothing committed since the snapshot: the plan stands.
    EXIT WHEN locked_head = seen_head;
  END LOOP;

  IF last_rev > seen_head THEN
    ts := clock_timestamp();
    ts_us := (extract(epoch FROM ts) * 1000000)::bigint;
    -- Everything in one statement: its parts touch disjoint rows and all
    -- read the snapshot from before it, so a drop of a stored resource
    -- copies the row that the same statement deletes. Keys are looked up one
    -- by one (LATERAL ... LIMIT 1), so that the plan is an index lookup per
    -- key whatever the planner thinks of the arrays.
    WITH stored_drops AS (
      INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, committed_at)
      SELECT d.rev, x.namespace, x.id, true, x.name, x.type_url, x.spec, x.sha256, ts
        FROM unnest(sd_rev, sd_key) AS d(rev, key)
        CROSS JOIN LATERAL (SELECT * FROM resources r
          WHERE r.namespace = key_namespaces[d.key] AND r.id = key_ids[d.key] LIMIT 1) x),
    other_changes AS (
      INSERT INTO changes (revision, namespace, id, dropped, name, type_url, spec, sha256, committed_at)
      SELECT c.rev, key_namespaces[c.key], key_ids[c.key], c.dropped, put_names[c.entry],
             put_type_urls[c.entry], put_specs[c.entry], put_sha256s[c.entry], ts
        FROM unnest(ch_rev, ch_key, ch_entry, ch_dropped) AS c(rev, key, entry, dropped)),
    gone AS (
      DELETE FROM resources WHERE ctid = ANY (ARRAY(
        SELECT x.ctid FROM generate_series(1, key_count) AS g(key)
        CROSS JOIN LATERAL (SELECT r.ctid FROM resources r
          WHERE r.namespace = key_namespaces[g.key] AND r.id = key_ids[g.key] LIMIT 1) x
        WHERE touched[g.key] AND cur_put[g.key] IS NULL))),
    upserted AS (
      INSERT INTO resources (namespace, id, name, type_url, spec, sha256, revision, committed_at)
      SELECT key_namespaces[g.key], key_ids[g.key], put_names[cur_put[g.key]],
             put_type_urls[cur_put[g.key]], put_specs[cur_put[g.key]], put_sha256s[cur_put[g.key]],
             cur_rev[g.key], ts
        FROM generate_series(1, key_count) AS g(key)
       WHERE touched[g.key] AND cur_put[g.key] IS NOT NULL
      ON CONFLICT (namespace, id) DO UPDATE SET name = EXCLUDED.name,
        type_url = EXCLUDED.type_url, spec = EXCLUDED.spec, sha256 = EXCLUDED.sha256,
        revision = EXCLUDED.revision, committed_at = EXCLUDED.committed_at),
    head AS (UPDATE store_revision SET revision = last_rev),
    writer AS (
      INSERT INTO store_writers (writer, batch, written_at) VALUES (writer_id, batch_number, ts)
      ON CONFLICT (writer) DO UPDATE SET batch = EXCLUDED.batch, written_at = EXCLUDED.written_at)
    SELECT 1 INTO j
      FROM pg_notify('protomesh_changes', concat_ws(' ', last_rev, seen_head + 1, writer_id));
  END IF;

  -- A drop of a stored resource answers with the change row it wrote.
  RETURN QUERY
    SELECT r.rev, r.failed, r.existed, r.key_rev,
           CASE WHEN r.existed AND r.key_us IS NULL THEN ts_us ELSE r.key_us END,
           r.unchanged, ts_us, r.drop_of, d.name, d.type_url, d.spec, d.sha256
      FROM unnest(res_rev, res_failed, res_existed, res_key_rev, res_key_us, res_unchanged,
                  res_drop_of) WITH ORDINALITY
        AS r(rev, failed, existed, key_rev, key_us, unchanged, drop_of, entry)
      LEFT JOIN unnest(sd_entry, sd_rev, sd_key) AS s(entry, rev, key) ON s.entry = r.entry
      LEFT JOIN LATERAL (SELECT c.name, c.type_url, c.spec, c.sha256 FROM changes c
        WHERE c.revision = s.rev AND c.namespace = key_namespaces[s.key]
          AND c.id = key_ids[s.key]) d ON s.entry IS NOT NULL
     ORDER BY r.entry;
END;
$$;
