-- Resource store schema.
--
-- Revisions
-- ---------
-- Every committed change carries a store-wide revision (int64). Watchers read
-- the change log by "revision > last seen", so revisions must become visible
-- in the order they are numbered, with no holes that a reader could skip or
-- wait on. A SEQUENCE does not give that: nextval() is handed out when called,
-- not when the transaction commits, so revision 8 can commit before 7 and a
-- reader that saw 8 never goes back for 7 (the bug kine had).
--
-- Instead the last revision lives in the single row of store_revision. A
-- writing transaction first runs
--     UPDATE store_revision SET revision = revision + n RETURNING revision
-- which takes that row's lock and holds it until COMMIT or ROLLBACK. The next
-- writer, in this process or in another replica, blocks on the lock until the
-- previous one has finished, so numbers are handed out in commit order:
--   * no reordering: transaction B can only take revision r+1 after A, holding
--     r, has committed (Postgres removes A from the running set before it
--     releases A's locks, so every snapshot that sees B also sees A);
--   * no holes: a rollback undoes the increment with everything else.
-- The cost, serialized writers, is paid once per transaction rather than once
-- per write: each store process groups concurrent writes into one
-- transaction (every write keeps its own revision) and sends one NOTIFY per
-- transaction (see src/store/write_batcher.cc).
--
-- Tables
-- ------
-- resources: the current state, one row per live resource.
-- changes:   the change log, one row per resource per revision, holding the
--            full resource as of that change (for a drop: its last state).
--            It serves watch resume, History, and reads at a past revision.
-- compaction: changes at or below compacted_revision that were superseded by a
--            later change at or below it (or that are drops) may be gone;
--            everything above it is complete, and for every resource the
--            latest change at or below it is kept, so the state at any
--            revision >= compacted_revision can still be rebuilt.

CREATE TABLE store_revision (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  revision bigint NOT NULL
);
INSERT INTO store_revision (revision) VALUES (0);

CREATE TABLE compaction (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  compacted_revision bigint NOT NULL
);
INSERT INTO compaction (compacted_revision) VALUES (0);

CREATE TABLE resources (
  namespace    text        NOT NULL,
  id           uuid        NOT NULL,
  name         text        NOT NULL,
  type_url     text        NOT NULL,
  spec         bytea       NOT NULL,
  sha256       text        NOT NULL,
  revision     bigint      NOT NULL,
  committed_at timestamptz NOT NULL,
  PRIMARY KEY (namespace, id)
);
CREATE INDEX resources_by_name ON resources (namespace, name text_pattern_ops);

CREATE TABLE changes (
  revision     bigint      NOT NULL,
  namespace    text        NOT NULL,
  id           uuid        NOT NULL,
  dropped      boolean     NOT NULL,
  name         text        NOT NULL,
  type_url     text        NOT NULL,
  spec         bytea       NOT NULL,
  sha256       text        NOT NULL,
  committed_at timestamptz NOT NULL,
  PRIMARY KEY (revision, namespace, id)
);
CREATE INDEX changes_by_resource ON changes (namespace, id, revision DESC);
CREATE INDEX changes_by_namespace ON changes (namespace, revision);
CREATE INDEX changes_by_time ON changes (committed_at);
